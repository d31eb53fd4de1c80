import type { Evidence, Json } from "../model/evidence";
import type { ProxyRoute, ResolvedAddress } from "../model/facts";
import { redactUrl } from "../model/redact";
import type { Endpoint } from "../model/stage";
import type { Wire } from "../net/bun-wire";
import type { CertsD } from "../net/certs-d";
import { plainHttpAnswer } from "../net/http-probe";
import { hostPort, joinHostPort } from "../net/origin";
import { tcpProbe } from "../net/tcp";
import type { TlsProbe } from "../net/tls";
import type { HopResult, HopVerdict } from "./connect-judge";

/** How the connect stage reaches one endpoint: directly, or through the proxy stage's route. */
export interface HopsInput {
  ep: Endpoint;
  addresses: readonly ResolvedAddress[];
  route: ProxyRoute | null;
  /** The endpoint is insecure: a failed handshake is retried over plain HTTP, as Docker does. */
  insecure: boolean;
  timeoutMs: number;
  signal: AbortSignal;
  /** The TLS handshake Docker would make on a connected socket. */
  tls: (socket: Wire) => Promise<TlsProbe>;
}

export interface Hops {
  hops: HopResult[];
  /** The CONNECT through the proxy, when there is one. */
  tunnel: Evidence | null;
  /** The proxy did not open a tunnel: the proxy stage owns that finding, this stage skips. */
  tunnelFailure: string | null;
}

/** TCP to every resolved address, or one CONNECT tunnel through the proxy Docker would use, then TLS. */
export async function gatherHops(x: HopsInput): Promise<Hops> {
  const proxy = x.route?.url ?? null;
  if (proxy && x.ep.url.startsWith("http://")) return { hops: [await proxyHop(x, proxy)], tunnel: null, tunnelFailure: null };
  if (proxy) return tunnelHop(x, proxy);
  return { hops: await directHops(x), tunnel: null, tunnelFailure: null };
}

/**
 * Go sends an http:// request to the proxy as is (absolute URI, no CONNECT): the hop is the
 * proxy itself; whether it forwards the request is the v2 stage's question.
 */
async function proxyHop(x: HopsInput, proxy: string): Promise<HopResult> {
  const p = hostPort(proxy);
  const tcp = await tcpProbe(p.host, p.port, { timeoutMs: x.timeoutMs, signal: x.signal });
  return { target: `proxy ${redactUrl(proxy)} (forwards http:// requests, no tunnel)`, tcp, tls: null };
}

async function tunnelHop(x: HopsInput, proxy: string): Promise<Hops> {
  const { ep } = x;
  // Loaded only through a proxy: a tunnel is node:net's and node:tls's (docs/performance.md, "Sockets without node:net").
  const { openTunnel, TunnelError } = await import("../net/tunnel");
  const target = `proxy ${redactUrl(proxy)} → ${joinHostPort(ep.hostname, ep.port)}`;
  try {
    const t = await openTunnel({
      proxyUrl: proxy,
      auth: x.route?.auth ?? null,
      host: ep.hostname,
      port: ep.port,
      timeoutMs: x.timeoutMs,
      signal: x.signal,
    });
    const tunnel = { proxy: redactUrl(proxy), status: t.status, durationMs: t.durationMs };
    return { hops: [{ target, tcp: { ok: true, durationMs: t.durationMs }, tls: await x.tls(t.socket) }], tunnel, tunnelFailure: null };
  } catch (e) {
    if (!(e instanceof TunnelError)) throw e;
    const tunnel = {
      proxy: redactUrl(proxy),
      error: e.message,
      kind: e.kind,
      status: e.status ?? null,
      phase: e.phase,
      durationMs: e.durationMs,
    };
    // The proxy stage made the same CONNECT and owns that finding (407, 403, proxy down):
    // a second error here would blame the registry, which was never reached.
    const tunnelFailure = `the proxy did not open a tunnel to ${joinHostPort(ep.hostname, ep.port)} (${e.message}); the proxy stage's finding explains why`;
    const kind = e.kind === "timeout" || e.code === "ETIMEDOUT" ? "timeout" : "refused";
    const message = `${e.message} (the proxy stage explains the proxy's side)`;
    const hop: HopResult = {
      target,
      tcp: { ok: false, durationMs: e.durationMs, error: { kind, code: e.code ?? e.kind, message } },
      tls: null,
    };
    return { hops: [hop], tunnel, tunnelFailure };
  }
}

/** Every address in parallel: Docker tries them in turn, the doctor wants each one's answer. */
function directHops(x: HopsInput): Promise<HopResult[]> {
  const { ep, timeoutMs, signal } = x;
  return Promise.all(
    x.addresses.map(async (a): Promise<HopResult> => {
      let sock: Wire | undefined;
      const tcp = await tcpProbe(a.address, ep.port, { timeoutMs, signal, keep: (s) => (sock = s) });
      const target = joinHostPort(a.address, ep.port);
      if (!tcp.ok || !sock) return { target, tcp, tls: null };
      if (ep.url.startsWith("http://")) {
        (sock as Wire).destroy();
        return { target, tcp, tls: null };
      }
      const t = await x.tls(sock);
      // Docker's fallback for an insecure registry: HTTPS failed outright, so it retries
      // plain HTTP; ask that question too (an HTTP answer to the ClientHello already says it).
      const httpFallback =
        x.insecure && !t.ok && t.error?.kind !== "http-response"
          ? await plainHttpAnswer(a.address, ep.port, ep.host, { timeoutMs, signal })
          : undefined;
      return { target, tcp, tls: t, ...(httpFallback ? { httpFallback } : {}) };
    }),
  );
}

/** One --verbose line per hop: "connect 127.0.0.1:5000 0.4 ms; TLS TLSv1.3 … CN=leaf ← CN=CA; verified". */
export function traceLine(h: HopResult): string {
  const tcp = h.tcp.ok ? `${h.tcp.durationMs} ms` : `failed after ${h.tcp.durationMs} ms: ${h.tcp.error?.message ?? "?"}`;
  const t = h.tls;
  const tls = !t
    ? ""
    : t.error
      ? `; TLS failed after ${t.durationMs} ms: ${t.error.message}`
      : `; TLS ${t.protocol} ${t.cipher} in ${t.durationMs} ms, ${t.chain.map((c) => c.subject).join(" ← ")}; ${t.verifyError ? t.verifyError.message : t.hostnameOk ? "verified" : (t.hostnameError ?? "name mismatch")}`;
  return `connect ${h.target}: ${tcp}${tls}`;
}

export function certsEvidence(c: CertsD, used: boolean): Evidence {
  if (!c.dir) return { dir: null, note: "Docker reads no certs.d for Docker Hub: the system store only" };
  return {
    dir: c.dir,
    exists: c.exists,
    files: c.files ?? [],
    caFiles: c.ca.map((x) => x.file),
    clientCert: c.client?.certFile ?? null,
    problems: c.problems,
    dockerError: c.dockerError ?? null,
    usedByDocker: used
      ? true
      : "no: Docker ignores certs.d for an insecure registry (its CAs were still used to judge the chain, as containerd/podman would)",
  };
}

export function hopEvidence(h: HopResult, v: HopVerdict): Evidence {
  const t = h.tls;
  return {
    target: h.target,
    connect: h.tcp.ok
      ? { ok: true, ms: h.tcp.durationMs }
      : { ok: false, ms: h.tcp.durationMs, error: (h.tcp.error ?? null) as unknown as Json },
    tls: t
      ? {
          ok: t.ok,
          ms: t.durationMs,
          protocol: t.protocol,
          cipher: t.cipher,
          alpn: t.alpn,
          error: t.error as unknown as Json,
          alert: t.alert ?? null,
          firstBytes: t.firstBytes ?? null,
          clientCert: t.clientCert ?? null,
          verified: t.verified,
          verifyError: t.verifyError as unknown as Json,
          hostname: { ok: t.hostnameOk, error: t.hostnameError ?? null },
          validity: (t.validity ?? null) as unknown as Json,
          trust: (t.trust ?? null) as unknown as Json,
          chain: t.chain as unknown as Json,
        }
      : null,
    usable: v.usable,
    scheme: v.scheme,
  };
}
