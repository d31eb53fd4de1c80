import type { Json } from "../model/evidence";
import type { LocalConfig } from "../model/facts";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { type HostResolution, resolutionEvidence, resolveHost } from "../net/dns";
import { classifyDns, type DnsObservation, isLocalhostName } from "../net/dns-findings";
import { type SystemLookup, systemLookup } from "../net/dns-system";
import { lookupHostsFile } from "../net/hosts-file";
import { isIP } from "../net/ip";
import { proxyForUrl } from "../net/proxy-env";
import { judgedUnitEnv } from "./proxy-unit";

const PIN_CHECK_MS = 3000;

/**
 * Does the registry host resolve the way the Docker daemon would resolve it (Go's resolver:
 * /etc/hosts, then the resolv.conf servers with their search list), and what does the
 * system resolver say? Provides the addresses the connect stage dials.
 */
export const dnsStage: Stage = {
  id: "dns",
  title: "DNS",
  scope: "endpoint",
  needs: ["ref"],
  async run(ctx) {
    const ep = ctx.endpoint;
    if (!ep) throw new Error("dns stage run without an endpoint");
    const host = ep.hostname;
    const { deps, options } = ctx;
    if (isIP(host) !== 0) {
      const literal = await resolveHost(host, { deps, timeoutMs: options.timeoutMs });
      return {
        summary: `${host} is an IP address: no DNS lookup`,
        evidence: { host, via: "literal", addresses: [host] },
        findings: [],
        provides: { resolution: { hostname: host, addresses: literal.addresses, via: "literal" } },
      };
    }
    return resolveName(ctx, host, ep.url);
  },
};

/** A name (not an IP literal): its own function so that a literal's check never compiles it. */
async function resolveName(ctx: StageContext, host: string, url: string): Promise<StageOutcome> {
  const { deps, options } = ctx;
  // Everything is asked at once so the stage stays within one step timeout: Docker's way
  // (hosts, then resolv.conf servers), the system resolver, and, for a name pinned in the
  // hosts file, DNS anyway (to tell a stale pin).
  const pinned = lookupHostsFile(deps.paths.hosts, host).addresses.length > 0 && !isLocalhostName(host);
  const [res, system, pinnedDns] = await Promise.all([
    resolveHost(host, { servers: options.dns, deps, timeoutMs: options.timeoutMs, trace: ctx.trace }),
    askSystem(ctx, host),
    // Evidence only: a pinned registry is often one whose DNS is broken (air-gapped), so
    // this comparison gets a short budget instead of a whole step.
    pinned
      ? resolveHost(host, {
          servers: options.dns,
          deps,
          timeoutMs: Math.min(options.timeoutMs, PIN_CHECK_MS),
          trace: ctx.trace,
          skipHostsFile: true,
        })
      : Promise.resolve(null),
  ]);
  const proxy = proxyFor(ctx, url);
  const obs: DnsObservation = {
    resolution: res,
    system: { addresses: system.addresses.map((a) => a.address), code: system.code, error: system.error },
    pinnedDns,
    proxy,
    endpointUrl: url,
    fixesFor: ctx.facts.client?.wire.fixesFor,
  };
  const evidence = evidenceOf(res, system, pinnedDns, proxy, deps.paths.hosts);
  const findings = classifyDns(obs, evidence);

  const ok = res.addresses.length > 0;
  return {
    summary: summaryOf(res, proxy),
    evidence,
    findings,
    ...(ok ? { provides: { resolution: { hostname: host, addresses: res.addresses, via: res.via } } } : {}),
  };
}

async function askSystem(ctx: StageContext, host: string): Promise<SystemLookup> {
  const hook = ctx.deps.systemLookup;
  if (!hook) return systemLookup(host, { timeoutMs: ctx.options.timeoutMs, signal: ctx.deps.signal });
  const started = performance.now();
  // The injected lookup reports "not found" by rejecting, like node:dns; that rejection is
  // the answer being compared, not an unexpected failure.
  const timeout = new Promise<SystemLookup>((resolve) => {
    const t = setTimeout(
      () =>
        resolve({
          addresses: [],
          code: "timeout",
          error: `no answer within ${ctx.options.timeoutMs} ms`,
          durationMs: ctx.options.timeoutMs,
        }),
      ctx.options.timeoutMs,
    );
    t.unref?.();
  });
  const answer = hook(host).then(
    (addresses): SystemLookup => ({ addresses, code: null, error: null, durationMs: Math.round(performance.now() - started) }),
    (e: NodeJS.ErrnoException): SystemLookup => ({
      addresses: [],
      code: e.code ?? "ERROR",
      error: e.message,
      durationMs: Math.round(performance.now() - started),
    }),
  );
  return Promise.race([answer, timeout]);
}

/**
 * The proxy that will carry a connection to this endpoint, from the environment (what the
 * docker CLI, containerd and this doctor use) or the daemon's own proxy configuration.
 */
function proxyFor(ctx: StageContext, url: string): DnsObservation["proxy"] {
  // containerd and CRI-O: only their unit's environment counts (proxy-unit.ts).
  const unit = judgedUnitEnv(ctx);
  if (unit) {
    const r = proxyForUrl(url, unit.env);
    return r.url ? { url: r.url, source: `${r.variable} of the ${unit.unit.unit} service (${unit.source})` } : null;
  }
  const fromEnv = proxyForUrl(url, ctx.deps.env);
  if (fromEnv.url) return { url: fromEnv.url, source: fromEnv.variable ?? "the proxy environment" };
  const d: LocalConfig["daemon"] | undefined = ctx.facts.local?.daemon;
  const p = d?.liveProxies ?? d?.proxies;
  if (p) {
    const route = proxyForUrl(url, { HTTPS_PROXY: p.https, HTTP_PROXY: p.http, NO_PROXY: p.no });
    if (route.url) return { url: route.url, source: `the daemon's proxy (${d?.liveSource ?? d?.path ?? "daemon.json"})` };
  }
  return null;
}

function summaryOf(r: HostResolution, proxy: DnsObservation["proxy"]): string {
  const n = r.addresses.length;
  const tail = proxy && n === 0 ? `; ${proxy.source} will resolve it` : "";
  switch (r.outcome) {
    case "ok":
      return `${r.hostname} → ${n} address${n === 1 ? "" : "es"} via ${r.via}`;
    case "nxdomain":
      return `${r.hostname}: no such host (NXDOMAIN from ${r.via || "the servers"})${tail}`;
    case "noanswer":
      return `${r.hostname}: exists but has no A/AAAA record (from ${r.via})${tail}`;
    case "servfail":
      return `${r.hostname}: server misbehaving (${r.queries.at(-1)?.rcode ?? "error"} from ${r.via})${tail}`;
    case "timeout":
      return `${r.hostname}: no DNS server answered (${(r.servers ?? []).join(", ")})${tail}`;
  }
}

/** JSON-safe copy (drops undefined). */
function json(x: unknown): Json {
  return JSON.parse(JSON.stringify(x ?? null)) as Json;
}

function evidenceOf(
  r: HostResolution,
  system: SystemLookup,
  pinnedDns: HostResolution | null,
  proxy: DnsObservation["proxy"],
  hostsPath: string,
) {
  // The same summary other stages nest for the realm and CDN hosts, plus what only this
  // stage shows: the resolver settings, the hosts file, the system resolver and the proxy.
  return {
    ...resolutionEvidence(r),
    searchListTried: r.names ?? [],
    resolver: json(r.config),
    perQueryTimeoutMs: r.perQueryTimeoutMs ?? null,
    hostsFile: { path: hostsPath, addresses: r.hostsFile, lines: r.hostsLines ?? [] },
    dnsDespitePin: pinnedDns ? resolutionEvidence(pinnedDns) : null,
    systemResolver: {
      addresses: system.addresses.map((a) => a.address),
      code: system.code,
      error: system.error,
      durationMs: system.durationMs,
    },
    proxy: proxy ? { url: proxy.url, source: proxy.source } : null,
  };
}
