import path from "node:path";
import { readLocalFile } from "../host/local-file";
import type { Json } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
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
  const podSecrets = inp.options.pullSecrets.map((f) => readPullSecret(f));
  const node = nodeConfig(inp);
  const secrets = [...podSecrets, ...node];
  findings.push(...secretFindings(secrets));
  keyringEvidence(inp, secrets, findings, evidence);
  let hosts: ClientHost[];
  if (inp.runtime === "cri-o") {
    const p = podmanHosts(inp);
    hosts = p.hosts;
    findings.push(...p.findings);
    Object.assign(evidence, p.evidence);
  } else {
    hosts = criHosts(inp, findings, evidence);
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
        source: {
          kind: "keyring",
          secrets: podSecrets.flatMap((s) => s.entries),
          node: node.flatMap((s) => s.entries),
          providers: providerFlags(inp),
        },
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
  };
}

/** kubelet's keyring over the secrets' keys (kubernetes/kubernetes:pkg/credentialprovider/keyring.go): which match the image. */
function keyringEvidence(inp: ClientInputs, secrets: ParsedSecret[], findings: Finding[], evidence: Record<string, Json>): void {
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
}

/** containerd's CRI plugin: config_path's hosts.toml tree, as containerd reads it; returns the hosts, adds findings and evidence. */
function criHosts(inp: ClientInputs, findings: Finding[], evidence: Record<string, Json>): ClientHost[] {
  let hosts: ClientHost[];
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
  return hosts;
}

/**
 * kubelet's --image-credential-provider-config and --image-credential-provider-bin-dir. kubelet has
 * no default for them; kubeadm writes kubelet's flags to <root-dir>/kubeadm-flags.env. The
 * environment overrides both (PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_CONFIG / _BIN_DIR), for hosts
 * whose flags live elsewhere (a systemd unit) and for tests.
 */
export function providerFlags(inp: Pick<ClientInputs, "env" | "paths">): { config: string; binDir: string } | null {
  const flags = readLocalFile(path.join(inp.paths.kubeletDir, "kubeadm-flags.env"));
  const text = flags.ok ? new TextDecoder().decode(flags.bytes) : "";
  const flag = (name: string) => new RegExp(`--${name}[= ]"?([^"\\s]+)`).exec(text)?.[1] ?? null;
  const config = inp.env.PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_CONFIG || flag("image-credential-provider-config");
  const binDir = inp.env.PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_BIN_DIR || flag("image-credential-provider-bin-dir");
  return config && binDir ? { config, binDir } : null;
}

/** DefaultDockerConfigJSONPaths: <root-dir>/config.json first (the node keyring). */
/**
 * <root-dir>/config.json. An empty file is no config: kubelet's JSON read of it fails and it goes
 * on without (kubernetes/kubernetes:pkg/credentialprovider/config.go#ReadDockerConfigJSONFile logs
 * and continues), and it is what a fleet pod's FileOrCreate mount leaves on a node without one.
 */
function nodeConfig(inp: ClientInputs): ParsedSecret[] {
  const file = path.join(inp.paths.kubeletDir, "config.json");
  const s = readPullSecret(file, "kubelet config.json");
  if (s.problems.some((p) => p.message.startsWith("ENOENT"))) return [];
  return isEmptyFile(file) ? [] : [s];
}

function isEmptyFile(file: string): boolean {
  const r = readLocalFile(file);
  return r.ok && new TextDecoder().decode(r.bytes).trim() === "";
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
