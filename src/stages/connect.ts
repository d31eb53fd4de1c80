import type { Evidence } from "../model/evidence";
import type { LinkInfo } from "../model/facts";
import type { Finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import type { Endpoint, Stage, StageContext, StageOutcome } from "../model/stage";
import type { Wire } from "../net/bun-wire";
import { type CertsD, loadCertsD } from "../net/certs-d";
import { type TlsProbe, tlsProbe } from "../net/tls";
import { clientCerts } from "./connect-client-tls";
import { connectFindings } from "./connect-findings";
import { certsEvidence, gatherHops, hopEvidence, traceLine } from "./connect-hops";
import { endpointInsecurity, type Insecurity } from "./connect-insecure";
import { type HopResult, type HopVerdict, judgeHop } from "./connect-judge";

export { insecurity } from "./connect-insecure";

/**
 * The connect stage: TCP to every resolved address (or one CONNECT tunnel through the proxy
 * Docker would use), then the TLS handshake Docker would make, judged as Docker judges it:
 * an insecure registry (configured, or at a loopback/CIDR address) skips verification and
 * falls back to plain HTTP, so its TLS problems are warnings; for any other registry errors.
 */
export const connectStage: Stage = {
  id: "connect",
  title: "Connect",
  scope: "endpoint",
  needs: ["ref", "local", "route"],
  async run(ctx) {
    const ep = ctx.endpoint;
    if (!ep) throw new Error("connect stage run without an endpoint");
    // 1. Is it insecure to Docker (configured, loopback, CIDR, an http:// URL)?
    // daemon.json insecure-registries bind dockerd only; the other clients' rules are in their hosts (plan.ts).
    const daemonList = ctx.facts.client?.wire.daemonInsecure === false ? [] : (ctx.facts.local?.daemon.insecureRegistries ?? []);
    const list = [...daemonList, ...ctx.options.insecureRegistries];
    const res = ctx.facts.resolution && ctx.facts.resolution.hostname === ep.hostname ? ctx.facts.resolution : null;
    const addresses = res?.addresses ?? [];
    const ins = endpointInsecurity(
      ep,
      addresses.map((a) => a.address),
      list,
      ctx.facts.client?.wire.daemonInsecure !== false,
    );
    // 2. The TLS material Docker would use.
    const certs = certsFor(ctx, ep);
    const material = tlsMaterial(certs, ins);
    // 3. Reach it: each address, or the proxy's tunnel; then judge each hop as Docker would.
    const { hops, tunnel, tunnelFailure } = await gatherHops({
      ep,
      addresses,
      route: ctx.facts.route ?? null,
      insecure: ins.insecure,
      timeoutMs: ctx.options.timeoutMs,
      signal: ctx.deps.signal,
      tls: handshake(ctx, ep, material),
    });
    const plainHttp = ep.url.startsWith("http://");
    const verdicts = hops.map((h) => judgeHop(h, { insecure: ins.insecure, plainHttp }));
    for (const h of hops) ctx.trace.record({ kind: "note", text: traceLine(h) });
    // 4. Findings, evidence and the link later stages use.
    const findings = tunnelFailure
      ? []
      : connectFindings({
          ep,
          hops,
          verdicts,
          ins,
          certs,
          timeoutMs: ctx.options.timeoutMs,
          fixesFor: ctx.facts.client?.wire.fixesFor,
          client: ctx.facts.client?.wire.label,
        });
    const proxy = ctx.facts.route?.url ?? null;
    const evidence: Evidence = {
      url: ep.url,
      insecure: { value: ins.insecure, why: ins.why, insecureRegistries: list },
      route: proxy ? redactUrl(proxy) : "direct",
      ...(tunnel ? { tunnel } : {}),
      certsD: certsEvidence(certs, material.useCerts),
      hops: hops.map((h, i) => hopEvidence(h, verdicts[i]!)),
    };
    const link = linkFrom(ep, verdicts, ins, material);
    return {
      summary: summaryOf(ep, hops, verdicts, ins, link, findings, proxy !== null),
      evidence,
      findings,
      ...(link ? { provides: { link } } : {}),
      ...(hops.length === 0 ? { skipped: "the name did not resolve and no proxy is used, so there is no address to connect to" } : {}),
      ...(tunnelFailure ? { skipped: tunnelFailure } : {}),
    } satisfies StageOutcome;
  },
};

/**
 * Docker verifies Docker Hub (the official upstream) against the system store only
 * (lookupV2Endpoints: tlsconfig.ServerDefault()); certs.d is read for mirrors and others.
 */
function certsFor(ctx: StageContext, ep: Endpoint): CertsD {
  // The judged client's own TLS files for this host (hosts.toml, its certs.d), when its plan gave them.
  if (ep.tls) return clientCerts(ep.tls);
  const hub = ep.role === "upstream" && ep.hostname === "registry-1.docker.io";
  if (hub) return { dir: "", exists: false, ca: [], client: null, problems: [], dockerError: null, files: [] };
  return loadCertsD(ctx.facts.local?.certsDir ?? ctx.options.certsDir, ep.host);
}

interface TlsMaterial {
  /** Docker reads certs.d only for secure registries. */
  useCerts: boolean;
  ca: string[];
  client: CertsD["client"];
}

/**
 * Docker reads certs.d only for secure registries (newTLSConfig(hostname, isSecure)); for an
 * insecure one it skips verification anyway. The CAs still judge the chain, because that is
 * what containerd/kubelet and podman (which read the same dir) would verify against; the
 * client pair is presented only when Docker would present it.
 */
function tlsMaterial(certs: CertsD, ins: Insecurity): TlsMaterial {
  const useCerts = !ins.insecure;
  return { useCerts, ca: certs.ca.map((c) => c.pem), client: useCerts ? certs.client : null };
}

function handshake(ctx: StageContext, ep: Endpoint, m: TlsMaterial): (socket: Wire) => Promise<TlsProbe> {
  return (socket) =>
    tlsProbe({
      servername: ep.hostname,
      port: ep.port,
      socket,
      ca: m.ca,
      ...(m.client ? { cert: m.client.cert, key: m.client.key } : {}),
      timeoutMs: ctx.options.timeoutMs,
      signal: ctx.deps.signal,
      now: ctx.deps.now(),
      askServerDate: true,
    });
}

/** The link later stages use, when any hop is usable: https if one verified over TLS, else plain http. */
function linkFrom(ep: Endpoint, verdicts: HopVerdict[], ins: Insecurity, m: TlsMaterial): LinkInfo | null {
  if (!verdicts.some((v) => v.usable)) return null;
  const plainHttp = ep.url.startsWith("http://");
  const scheme = plainHttp ? "http" : verdicts.some((v) => v.usable && v.scheme === "https") ? "https" : "http";
  return {
    scheme,
    baseUrl: `${scheme}://${ep.host}${ep.pathPrefix}`,
    tls: { ca: m.ca, ...(m.client ? { cert: m.client.cert, key: m.client.key } : {}), verify: !ins.insecure },
    insecure: ins.insecure,
  };
}

function summaryOf(
  ep: Endpoint,
  hops: HopResult[],
  verdicts: HopVerdict[],
  ins: Insecurity,
  link: LinkInfo | null,
  findings: Finding[],
  viaProxy: boolean,
): string {
  if (hops.length === 0) return `${ep.host}: no address to connect to (the name did not resolve and no proxy is used)`;
  const okCount = verdicts.filter((v) => v.usable).length;
  return (
    `${ep.host}: ${okCount}/${hops.length} ${viaProxy ? "route" : "address"}${hops.length > 1 ? "es" : ""} usable` +
    (link ? ` over ${link.scheme}${ins.insecure ? " (insecure)" : ""}` : "") +
    (hops[0]?.tls?.protocol ? `, ${hops[0].tls.protocol}` : "") +
    (findings.length ? `; ${[...new Set(findings.map((f) => f.code))].join(", ")}` : "")
  );
}
