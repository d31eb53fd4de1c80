import { existsSync } from "node:fs";
import path from "node:path";
import { authFilePaths } from "../host/auth-json";
import { AUTH_FILES_HELPER } from "../host/containers-credentials";
import { HELPER_PREFIX } from "../host/cred-helper";
import type { Json } from "../model/evidence";
import type { ImageRef } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { ClientInputs } from "./inputs";
import { evaluatePolicy } from "./policy-json";
import type { ClientHost, ClientJudgement } from "./profile";
import { findRegistry, type RegistriesConf, type RegistryEntry, readRegistriesConf } from "./registries-conf";
import { resolveShortName, type ShortNameCandidate } from "./short-names";

/**
 * podman/skopeo/CRI-O through containers/image: registries.conf(.d) for mirrors, insecure and blocked
 * (pkg/sysregistriesv2), short names (pkg/shortnames), policy.json (signature/), auth.json in its search
 * order (pkg/docker/config/config.go#getPathToAuthWithOS), /v2/ ping first with challenges only from it
 * (docker/docker_client.go#detectPropertiesHelper).
 */
export function podmanClient(inp: ClientInputs): ClientJudgement {
  const p = podmanHosts(inp);
  const findings = [...p.findings];
  const home = path.join(inp.homeDir, ".config", "containers");
  const userPolicy = path.join(home, "policy.json");
  const policyFile = existsSync(userPolicy) ? userPolicy : path.join(inp.paths.containersDir, "policy.json");
  const judge = (ref: ImageRef) =>
    evaluatePolicy(policyFile, `${ref.registry}/${ref.repository}`, ref.tag, ref.digest, [
      path.join(home, "registries.d"),
      path.join(inp.paths.containersDir, "registries.d"),
    ]);
  // Each short-name candidate is its own image to the policy; a refused one fails and the next is tried.
  const refs = [...new Map(p.hosts.flatMap((h) => (h.ref ? [[h.ref.canonical, h.ref] as const] : []))).values()];
  const judged = refs.map((ref) => ({ ref, policy: judge(ref) }));
  const allowed = judged.filter((j) => !j.policy.rejection).map((j) => j.ref.canonical);
  const hosts = refs.length > 0 ? p.hosts.filter((h) => !h.ref || allowed.includes(h.ref.canonical)) : p.hosts;
  const first = judged.find((j) => j.policy.rejection || j.policy.problem) ?? judged[0];
  const policy =
    refs.length > 0 && allowed.length > 0
      ? judged.find((j) => allowed.includes(j.ref.canonical))!.policy
      : (first?.policy ?? judge(inp.ref));
  const rejectedImage = first?.ref.canonical ?? inp.ref.canonical;
  if (policy.problem)
    findings.push(
      finding(
        "CLIENT_CONFIG_INVALID",
        {
          client: "podman",
          file: policy.path,
          line: policy.problem.line,
          message: policy.problem.message,
          consequence: "podman refuses every pull with this policy.",
        },
        { ...policy.problem },
      ),
    );
  else if (policy.rejection)
    findings.push(
      finding(
        "POLICY_REJECTED",
        { image: rejectedImage, file: policy.path, scope: policy.scope ?? "default", reason: policy.rejection },
        { file: policy.path, scope: policy.scope, requirements: policy.requirements.map((r) => ({ ...r })) },
      ),
    );
  const auth = authFiles(inp);
  // registries.conf credential-helpers (containers-registries.conf(5)): the auth files are only one of them.
  const helpers = p.conf.credentialHelpers ?? [AUTH_FILES_HELPER];
  return {
    profile: {
      name: "podman",
      store: null,
      label: "podman (containers/image)",
      sender: "the podman process itself",
      hosts,
      credentials: {
        from: helpers.flatMap((h) => (h === AUTH_FILES_HELPER ? auth.map((a) => a.file) : [`${HELPER_PREFIX}${h}`])),
        sentTo: "every-host",
        source: {
          kind: "auth-files",
          files: authFilePaths(inp.env, inp.homeDir, inp.uid),
          helpers,
          helpersSource: p.conf.credentialHelpersSource,
        },
      },
      proxyEnvironment: "the shell's (podman runs in it)",
      unitProxy: null,
      behaviour: {
        pingsV2: true,
        retries401WithCredentials: false,
        plainHttp: "registries.conf insecure = true only (https is tried first)",
        retry: "containers/image's: no mirror fallback on a manifest 404 of the last source",
        on429: null,
        shortNames: "unqualified-search-registries and short-name-mode",
        reportsError: "last",
      },
      fixesFor: "registries.conf",
    },
    findings,
    evidence: {
      ...p.evidence,
      policy: {
        path: policy.path,
        found: policy.found,
        scope: policy.scope,
        rejection: policy.rejection,
        ...(refs.length > 0 ? { candidates: judged.map((j) => ({ name: j.ref.canonical, rejection: j.policy.rejection })) } : {}),
      },
      authFiles: auth,
    },
  };
}

/** registries.conf hosts, blocked, short names: shared with kubelet on CRI-O. */
export function podmanHosts(inp: ClientInputs): {
  hosts: ClientHost[];
  findings: Finding[];
  evidence: Record<string, Json>;
  conf: RegistriesConf;
} {
  const main = inp.options.registriesConf ?? path.join(inp.paths.containersDir, "registries.conf");
  const conf = readRegistriesConf(main, path.join(inp.paths.containersDir, "registries.conf.d"));
  const findings: Finding[] = conf.problems.map((p) =>
    finding(
      "CLIENT_CONFIG_INVALID",
      {
        client: "podman/CRI-O",
        file: p.path,
        line: p.line,
        message: p.message,
        consequence: p.fatal
          ? "containers/image refuses every pull until it is fixed."
          : "It still works today; mixing it with v2 entries or drop-ins is refused.",
      },
      { ...p },
      p.fatal ? {} : { severity: "warning" },
    ),
  );
  // A short name is the candidate list containers/image walks, the first that resolves wins
  // (libimage/pull.go#copyFromRegistry over shortnames.Resolve); a full name is its own only candidate.
  const short = resolveShortName(inp, conf);
  if (short.finding) findings.push(short.finding);
  const candidates = short.candidates ?? [{ ref: inp.ref, via: "" }];
  const blocked: RegistryEntry[] = [];
  const hosts: ClientHost[] = [];
  const matched: Json[] = [];
  for (const c of candidates) {
    const reg = findRegistry(conf, `${c.ref.registry}/${c.ref.repository}`);
    matched.push(reg ? { ...reg, mirrors: reg.mirrors.map((m) => ({ ...m })) } : null);
    // A blocked candidate fails and containers/image goes on to the next one.
    if (reg?.blocked) blocked.push(reg);
    else hosts.push(...candidateHosts(inp, c, reg, short.candidates !== null));
  }
  if (blocked.length > 0 && hosts.length === 0 && candidates.length > 0) {
    const reg = blocked[0]!;
    findings.push(
      finding(
        "REGISTRY_BLOCKED",
        { image: candidates[0]!.ref.canonical, prefix: reg.prefix, source: reg.source },
        { prefix: reg.prefix, source: reg.source },
      ),
    );
  }
  return {
    hosts,
    findings,
    conf,
    evidence: {
      registriesConf: {
        files: conf.files,
        credentialHelpers: conf.credentialHelpers,
        search: conf.search,
        shortNameMode: conf.shortNameMode,
        matched: short.candidates === null ? (matched[0] ?? null) : matched,
      },
      ...(short.candidates === null
        ? {}
        : {
            shortName: {
              input: inp.ref.input,
              candidates: short.candidates.map((c) => ({ name: c.ref.canonical, via: c.via })),
              blocked: blocked.map((b) => b.prefix),
            },
          }),
    },
  };
}

/** One candidate's hosts: its [[registry]] mirrors (unless mirror-by-digest-only and a tag), then its location. */
function candidateHosts(inp: ClientInputs, c: ShortNameCandidate, reg: RegistryEntry | null, isCandidate: boolean): ClientHost[] {
  const upstreamHost =
    reg && !reg.prefix.startsWith("*.")
      ? reg.location.split("/")[0]!
      : c.ref.registry === "docker.io"
        ? "registry-1.docker.io"
        : c.ref.registry;
  const named = (source: string) => (isCandidate ? `${source}; candidate ${c.ref.canonical} from ${c.via}` : source);
  const host = (loc: string, insecure: boolean, role: "mirror" | "upstream", source: string): ClientHost => {
    const h = loc.split("/")[0]!;
    return {
      url: `https://${h}`,
      host: h,
      scheme: "https",
      path: "/v2",
      capabilities: ["pull", "resolve"],
      tls: { ca: [], client: [], skipVerify: insecure ? true : null, certFiles: certDir(inp, h) },
      httpFallback: insecure,
      role,
      source: named(source),
      ...(isCandidate ? { ref: c.ref } : {}),
    };
  };
  const digestOnly = reg?.mirrorByDigestOnly && !c.ref.digest;
  return [
    ...(reg && !digestOnly ? reg.mirrors.map((m) => host(m.location, m.insecure, "mirror", reg.source)) : []),
    host(upstreamHost, reg?.insecure ?? false, "upstream", reg?.source ?? "the image's registry"),
  ];
}

/** The auth files containers/image reads, in order (src/host/auth-json.ts), and which exist. */
function authFiles(inp: ClientInputs): { file: string; exists: boolean }[] {
  return authFilePaths(inp.env, inp.homeDir, inp.uid).map((f) => ({ file: f.path, exists: existsSync(f.path) }));
}

/** pkg/tlsclientconfig via docker_client.go#dockerCertDir: the first of /etc/containers/certs.d/HOST and /etc/docker/certs.d/HOST that exists. */
function certDir(inp: ClientInputs, host: string): string {
  const own = path.join(inp.paths.containersDir, "certs.d", host);
  return existsSync(own) ? own : path.join(inp.options.certsDir, host);
}
