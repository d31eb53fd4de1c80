import path from "node:path";
import type { Json } from "../model/evidence";
import type { Credential } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { rememberSecret } from "../model/secret";
import { CONTAINERD_BEHAVIOUR, hostsEvidence, hostsFindings } from "./containerd";
import { readContainerdConfig } from "./containerd-config";
import { lookupHosts } from "./hosts-toml";
import type { ClientInputs } from "./inputs";
import { lookup } from "./kube-keyring";
import { podmanHosts } from "./podman";
import type { ClientHost, ClientJudgement } from "./profile";
import { type ParsedSecret, readPullSecret } from "./pull-secret";

/**
 * kubelet asking its runtime over CRI (kubernetes/kubernetes:pkg/kubelet/images/image_manager.go):
 * credentials from the pod's pull secrets in order, then <root-dir>/config.json (auths only), matched
 * by the keyring; containerd CRI reads hosts.toml from config_path and sends them to every host
 * (containerd/containerd:internal/cri/server/images/image_pull.go#ParseAuth); CRI-O reads registries.conf.
 */
export function kubeletClient(inp: ClientInputs): ClientJudgement {
  const findings: Finding[] = [];
  const evidence: Record<string, Json> = {};
  const secrets = [...inp.options.pullSecrets.map((f) => readPullSecret(f)), ...nodeConfig(inp)];
  findings.push(...secretFindings(secrets));
  const keys = secrets.flatMap((s) => s.entries.map((e) => ({ key: e.key, file: e.file })));
  const repo = `${inp.ref.registry}/${inp.ref.repository}`;
  const m = lookup(keys, repo);
  if (keys.length > 0 && m.chosen.length === 0)
    findings.push(
      finding(
        "PULL_SECRET_NO_MATCH",
        { repo, keys: m.matches.map((k) => ({ key: k.key, file: k.file, why: k.why })) },
        { repo, keys: m.matches.map((k) => ({ ...k })) },
      ),
    );
  const credential = credentialOf(secrets, m.chosen[0]);
  evidence.pullSecrets = secrets.map((s) => ({
    file: s.file,
    kind: s.kind,
    keys: s.entries.map((e) => e.key),
    unsupported: s.unsupported,
  }));
  evidence.keyring = {
    repo,
    matches: m.matches.map((k) => ({ ...k })),
    used: m.chosen.map((k) => k.key),
    viaDockerHubDefault: m.viaDefault,
  };

  let hosts: ClientHost[];
  if (inp.runtime === "cri-o") {
    const p = podmanHosts(inp);
    hosts = p.hosts;
    findings.push(...p.findings);
    Object.assign(evidence, p.evidence);
  } else {
    const cfg = readContainerdConfig(inp.options.containerdConfig ?? inp.paths.containerdConfig);
    evidence.containerdConfig = {
      path: cfg.path,
      found: cfg.found,
      version: cfg.version,
      configPath: cfg.configPath,
      source: cfg.configPathSource,
      transferMode: cfg.transferMode,
      localBecause: cfg.localBecause,
    };
    if (cfg.problem)
      findings.push(
        finding(
          "CLIENT_CONFIG_INVALID",
          {
            client: "containerd",
            file: cfg.problem.path,
            line: cfg.problem.line,
            message: cfg.problem.message,
            consequence: "containerd refuses to start with it.",
          },
          { ...cfg.problem },
        ),
      );
    const split = inp.options.hostsDirs.length > 0 ? inp.options.hostsDirs : cfg.roots;
    const look = lookupHosts(split, inp.ref.registry);
    const whole = cfg.transferMode && cfg.roots.length > 1 && inp.options.hostsDirs.length === 0;
    if (whole && look.dir) {
      // Transfer mode passes the whole string as one root: what the split lookup found is never read.
      findings.push(
        finding(
          "HOSTS_DIR_IGNORED",
          { configFile: cfg.path, configPath: cfg.roots.join(":"), source: cfg.configPathSource, found: [look.dir] },
          { roots: cfg.roots, found: look.dir },
        ),
      );
      const ignored = lookupHosts([cfg.roots.join(":")], inp.ref.registry);
      hosts = ignored.hosts;
      evidence.hosts = hostsEvidence(ignored);
    } else {
      hosts = look.hosts;
      findings.push(...hostsFindings(look, inp.ref.registry, "containerd (CRI)"));
      evidence.hosts = hostsEvidence(look);
    }
  }
  const crio = inp.runtime === "cri-o";
  return {
    profile: {
      name: "kubelet",
      store: null,
      label: `kubelet via ${crio ? "CRI-O" : "containerd CRI"}`,
      sender: crio ? "the crio daemon" : "the containerd daemon (CRI plugin)",
      hosts,
      credentials: {
        from: ["pull secrets (pod order)", path.join(inp.paths.kubeletDir, "config.json (auths only)"), "credential provider plugins"],
        sentTo: "every-host",
      },
      proxyEnvironment: `the ${crio ? "crio" : "containerd"} service's environment, never kubelet's`,
      unitProxy: crio
        ? { unit: "crio", dirs: inp.paths.crioDropIns ?? [], files: inp.paths.crioUnits ?? [] }
        : { unit: "containerd", dirs: inp.paths.containerdDropIns ?? [], files: inp.paths.containerdUnits ?? [] },
      behaviour: crio
        ? {
            pingsV2: true,
            retries401WithCredentials: false,
            plainHttp: "registries.conf insecure = true only",
            retry: "containers/image's",
            on429: null,
            shortNames: "registries.conf unqualified-search-registries",
            reportsError: "last",
          }
        : CONTAINERD_BEHAVIOUR,
      fixesFor: "kubernetes",
    },
    findings,
    evidence,
    credential,
  };
}

/**
 * The first matching key's credentials: kubelet calls CRI once per match until one pulls
 * (pkg/kubelet/kuberuntime/kuberuntime_image.go#PullImage); none ⇒ one anonymous call.
 */
function credentialOf(secrets: ParsedSecret[], key: { key: string; file: string } | undefined): Credential | null {
  const e = key && secrets.flatMap((s) => s.entries).find((x) => x.key === key.key && x.file === key.file);
  if (!e?.username || !e.password) return null;
  // Only the credential used joins the final scrub (its Basic form too), as config.ts does for Docker's.
  rememberSecret(e.password.reveal());
  rememberSecret(Buffer.from(`${e.username}:${e.password.reveal()}`).toString("base64"));
  return {
    source: `pull secret ${e.file} auths[${e.key}] (kubelet's keyring)`,
    lookupKey: e.key,
    username: e.username,
    password: e.password,
  };
}

/** DefaultDockerConfigJSONPaths: <root-dir>/config.json first (the node keyring). */
function nodeConfig(inp: ClientInputs): ParsedSecret[] {
  const file = path.join(inp.paths.kubeletDir, "config.json");
  const s = readPullSecret(file, "kubelet config.json");
  return s.problems.some((p) => p.message.startsWith("ENOENT")) ? [] : [s];
}

function secretFindings(secrets: ParsedSecret[]): Finding[] {
  const out: Finding[] = [];
  for (const s of secrets) {
    for (const p of s.problems)
      out.push(
        finding(
          "PULL_SECRET_INVALID",
          { file: p.path, line: p.line, message: p.message },
          { ...p },
          p.fatal ? {} : { severity: "warning" },
        ),
      );
    if (s.unsupported.length > 0)
      out.push(finding("PULL_SECRET_UNSUPPORTED", { file: s.file, fields: s.unsupported }, { file: s.file, fields: s.unsupported }));
  }
  return out;
}
