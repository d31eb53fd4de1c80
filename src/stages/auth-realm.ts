import type { Evidence } from "../model/evidence";
import { redactUrl } from "../model/redact";
import type { StageContext } from "../model/stage";
import { resolveHost } from "../net/dns";
import { proxyForUrl } from "../net/proxy-env";
import { tcpProbe } from "../net/tcp";
import { tlsProbe, tlsProbeEvidence } from "../net/tls";
import { clientForStage, createHttpClient, type HttpClient, type NetError } from "../registry/http";

/** A client for the token realm: the registry's own settings when it is the same host, else its own DNS and proxy decision. */
export function realmClientFor(ctx: StageContext, realm: string): () => HttpClient {
  const u = new URL(realm);
  const same = ctx.facts.resolution && u.hostname.replace(/^\[|\]$/g, "").toLowerCase() === ctx.facts.resolution.hostname.toLowerCase();
  if (same) return () => clientForStage(ctx);
  return () =>
    createHttpClient({
      resolution: null,
      dnsServers: ctx.options.dns,
      deps: ctx.deps,
      route: proxyForUrl(realm, ctx.deps.env),
      // Docker fetches tokens through the registry endpoint's transport (same certs.d TLS config).
      tls: ctx.facts.link?.tls,
      timeoutMs: ctx.options.timeoutMs,
      signal: ctx.deps.signal,
      trace: ctx.trace,
    });
}

/** Nested evidence for an unreachable realm: its DNS answer, proxy decision and a TCP connect. */
export async function realmEvidence(ctx: StageContext, realm: string, err: NetError): Promise<Evidence> {
  const u = new URL(realm);
  const port = Number(u.port || (u.protocol === "https:" ? 443 : 80));
  const route = proxyForUrl(realm, ctx.deps.env);
  const ev: Evidence = {
    url: redactUrl(realm),
    host: u.host,
    error: err.toEvidence(),
    proxy: route.url ? { url: route.url, reason: route.reason } : { url: null, reason: route.reason },
  };
  const timeoutMs = Math.min(ctx.options.timeoutMs, 3000);
  const dns = await resolveHost(u.hostname, { servers: ctx.options.dns, deps: ctx.deps, timeoutMs, trace: ctx.trace });
  ev.dns = { outcome: dns.outcome, via: dns.via, addresses: dns.addresses.map((a) => a.address), message: dns.message ?? null };
  if (dns.outcome === "ok" && dns.addresses[0] && !route.url) {
    const t = await tcpProbe(dns.addresses[0].address, port, { timeoutMs, signal: ctx.deps.signal });
    ev.tcp = { address: t.address, port: t.port, ok: t.ok, durationMs: t.durationMs, error: t.error ? { ...t.error } : null };
    if (t.ok && u.protocol === "https:") {
      // The realm is verified with the registry's TLS settings (Docker's shared transport).
      const tls = ctx.facts.link?.tls;
      const p = await tlsProbe({
        servername: u.hostname.replace(/^\[|\]$/g, ""),
        address: t.address,
        port,
        ca: tls?.ca ?? [],
        cert: tls?.cert,
        key: tls?.key,
        timeoutMs,
        signal: ctx.deps.signal,
        now: ctx.deps.now(),
      });
      ev.tls = tlsProbeEvidence(p);
    }
  }
  return ev;
}
