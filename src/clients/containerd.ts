import type { Json } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import { type HostsLookup, lookupHosts } from "./hosts-toml";
import type { ClientInputs } from "./inputs";
import type { ClientHost, ClientJudgement, ClientProfile } from "./profile";

/** containerd's resolver behaviour (containerd/containerd:core/remotes/docker/resolver.go, authorizer.go). */
export const CONTAINERD_BEHAVIOUR: ClientProfile["behaviour"] = {
  pingsV2: false,
  retries401WithCredentials: true,
  plainHttp: "only a hosts.toml http:// server, localhost with a port (https first, then http), or --plain-http",
  retry: "each host in order; 408/429 re-sent at once without Retry-After; 5xx once on the last host (2.1+)",
  on429:
    "containerd re-sends a 429 at once, without waiting for Retry-After, up to 5 requests in all (containerd/containerd:core/remotes/docker/resolver.go#request.retryRequest): each re-send spends more of the limit; wait before pulling again.",
  shortNames: "none: a full reference is required",
  reportsError: "most-advanced",
};

/** ctr / nerdctl / the containerd daemon itself: hosts.toml from --hosts-dir (default /etc/containerd/certs.d). */
export function containerdClient(inp: ClientInputs): ClientJudgement {
  const roots = inp.options.hostsDirs.length > 0 ? inp.options.hostsDirs : [inp.paths.containerdCertsD];
  // ctr --plain-http: DefaultScheme "http" for every host but docker.io (cmd/ctr/commands/resolver.go, hosts.go#ConfigureHosts).
  const look = lookupHosts(roots, inp.ref.registry, inp.options.plainHttp ? "http" : undefined);
  return {
    profile: {
      name: "containerd",
      store: null,
      label: "containerd (ctr, nerdctl)",
      sender: "the containerd daemon (ctr in transfer mode), or the ctr --local / nerdctl process",
      hosts: look.hosts,
      // ctr reads no stored credentials (only --user); nerdctl reads config.json. The doctor judges
      // as ctr: the caller's --username/--password-stdin only (docs/stages.md).
      credentials: {
        from: ["the caller's: ctr --user (the doctor's --username/--password-stdin); nerdctl reads config.json"],
        sentTo: "every-host",
        source: { kind: "caller" },
      },
      proxyEnvironment: "the containerd service's environment (systemd unit and drop-ins), not the shell's",
      unitProxy: { unit: "containerd", dirs: inp.paths.containerdDropIns ?? [], files: inp.paths.containerdUnits ?? [] },
      behaviour: CONTAINERD_BEHAVIOUR,
      fixesFor: "hosts.toml",
    },
    findings: hostsFindings(look, inp.ref.registry, "containerd"),
    evidence: { hostsDirs: roots, hosts: hostsEvidence(look) },
  };
}

export function hostsFindings(look: HostsLookup, host: string, client: string): Finding[] {
  if (!look.problem) return [];
  const p = look.problem;
  return [
    finding(
      "HOSTS_TOML_INVALID",
      { file: p.path, line: p.line, message: p.message, host, client },
      { file: p.path, line: p.line, column: p.column, message: p.message, hostsNow: look.hosts.map((h) => h.url) },
    ),
  ];
}

export function hostsEvidence(look: HostsLookup): Json {
  return {
    tried: look.tried.map((t) => ({ ...t })),
    dir: look.dir,
    file: look.file,
    order: look.hosts.map((h) => hostJson(h)),
  };
}

export function hostJson(h: ClientHost): Json {
  return {
    url: `${h.url}${h.path}`,
    role: h.role,
    capabilities: h.capabilities,
    httpFallback: h.httpFallback,
    skipVerify: h.tls.skipVerify,
    ca: h.tls.ca,
    client: h.tls.client.map((p) => p.filter((x) => x !== "").join(" + ")),
    source: h.source,
  };
}
