import type { ClientSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import { redactUrl } from "../model/redact";
import { resolutionEvidence } from "../net/dns";
import { redirectTo } from "../net/origin";
import { probeHost } from "../net/probe-host";
import { goDialText, type TcpProbe } from "../net/tcp";
import { tlsProbeEvidence } from "../net/tls";
import type { FollowResult, Hop } from "./blob";
import { type HttpStreamResponse, NetError } from "./http";

/**
 * followBlob's hops off the common path (a blob served by the registry itself at once): a new
 * host probed, a request that failed, a redirect. Functions of their own so that a healthy
 * check, which takes none of them, does not compile them.
 */

/** The hop being followed. */
export interface HopAt {
  /** The URL as followed (u is its parse). */
  url: string;
  u: URL;
  hostname: string;
  port: number;
  hop: Hop;
  hops: Hop[];
  proxy: string | null;
}

/** A host the registry sent us to, probed directly: its addresses, or why it is unreachable. */
export async function probeNewHost(settings: ClientSettings, at: HopAt): Promise<string[] | FollowResult> {
  const { u, hostname, port, hops, proxy } = at;
  const p = await probeRedirectHost(settings, hostname, port, u.protocol === "https:", at.hop);
  if (!("failedAt" in p)) return p.addresses;
  const url = redactUrl(at.url);
  return {
    kind: "unreachable",
    hops,
    url,
    host: u.host,
    hostname,
    port,
    failedAt: p.failedAt,
    error: p.error,
    addresses: p.addresses,
    proxy,
  };
}

/** The GET threw: a NetError is the hop's failure (the registry's own, or an unreachable redirect target); anything else is a bug. */
export function hopFailed(e: unknown, own: boolean, at: HopAt, addresses: string[]): FollowResult {
  if (!(e instanceof NetError)) throw e;
  const { u, hostname, port, hops, proxy } = at;
  at.hop.error = e.toEvidence();
  const url = redactUrl(at.url);
  if (own) return { kind: "failed", hops, url, host: u.host, error: e };
  const failedAt = e.phase === "dns" ? "dns" : e.phase === "connect" ? "connect" : e.phase === "tls" ? "tls" : "http";
  return { kind: "unreachable", hops, url, host: u.host, hostname, port, failedAt, error: e.message, addresses, proxy };
}

/** A redirect: the next URL, or a Location that cannot be followed. */
export async function redirected(res: HttpStreamResponse, location: string, at: HopAt): Promise<string | FollowResult> {
  const { u, hop, hops } = at;
  await res.body.cancel().catch(() => undefined);
  const next = redirectTo(location, at.url);
  if (next.kind !== "next") {
    const message =
      next.kind === "scheme"
        ? `unsupported protocol scheme "${next.scheme}" in the redirect`
        : `invalid Location header in the redirect: ${JSON.stringify(redactUrl(location))}`;
    hop.location = redactUrl(location);
    return { kind: "bad-redirect", hops, url: redactUrl(at.url), host: u.host, message };
  }
  hop.location = redactUrl(next.url.toString());
  return next.url.toString();
}

function tcpEvidence(p: TcpProbe): Evidence {
  return {
    address: p.address,
    port: p.port,
    ok: p.ok,
    durationMs: p.durationMs,
    ...(p.error ? { error: { kind: p.error.kind, code: p.error.code, message: p.error.message } } : {}),
  };
}

/** DNS, TCP and TLS evidence for a host the registry sent us to (direct connections only: a proxy resolves for us). */
async function probeRedirectHost(
  s: ClientSettings,
  hostname: string,
  port: number,
  https: boolean,
  hop: Hop,
): Promise<{ failedAt: "dns" | "connect" | "tls"; error: string; addresses: string[] } | { addresses: string[] }> {
  // The registry's transport (its certs.d CAs, its skip-verify) is what Docker uses for the CDN too.
  const tls = s.tls ?? { ca: [], verify: true };
  const p = await probeHost(hostname, port, {
    servers: s.dnsServers,
    deps: s.deps,
    timeoutMs: s.timeoutMs,
    trace: s.trace,
    maxAddresses: 4,
    tls: https ? { ca: tls.ca } : null,
  });
  const addresses = p.dns.addresses.map((a) => a.address);
  // Which servers answered what, per query: a filtering resolver shows up here.
  hop.dns = resolutionEvidence(p.dns);
  if (p.dns.outcome !== "ok" || addresses.length === 0)
    return { failedAt: "dns", error: `dial tcp: ${p.dns.message || `lookup ${hostname}: no such host`}`, addresses };
  hop.tcp = p.tcp.map(tcpEvidence);
  if (!p.connected) {
    const last = p.tcp[p.tcp.length - 1]!;
    return { failedAt: "connect", error: goDialText(last.error?.code ?? "ETIMEDOUT", last.address, port), addresses };
  }
  if (!p.tls) return { addresses };
  const t = p.tls;
  hop.tls = tlsProbeEvidence(t);
  if (!t.ok) return { failedAt: "tls", error: t.error?.message ?? "TLS handshake failed", addresses };
  if (tls.verify && (!t.verified || !t.hostnameOk)) {
    const why = t.verifyError?.message ?? t.hostnameError ?? "certificate not trusted";
    return {
      failedAt: "tls",
      error: `tls: failed to verify certificate: ${why.replace(/^tls: failed to verify certificate: /, "")}`,
      addresses,
    };
  }
  return { addresses };
}
