import { endpointSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import { redactUrl } from "../model/redact";
import type { StageContext } from "../model/stage";
import { bareHost, hostPort } from "../net/origin";
import { probeHost } from "../net/probe-host";
import { proxyForUrl } from "../net/proxy-env";
import { tlsProbeEvidence } from "../net/tls";
import { clientForUrl, createHttpClient, type HttpClient, type NetError } from "../registry/http";

/** A client for the token realm: the registry's own settings when it is the same host, else its own DNS and proxy decision. */
export function realmClientFor(ctx: StageContext, realm: string): () => HttpClient {
  const u = new URL(realm);
  const same = ctx.facts.resolution && bareHost(u.hostname).toLowerCase() === ctx.facts.resolution.hostname.toLowerCase();
  const settings = endpointSettings(ctx);
  return same ? () => createHttpClient(settings) : () => clientForUrl(settings, realm);
}

/** Nested evidence for an unreachable realm: its DNS answer, proxy decision and a TCP connect. */
export async function realmEvidence(ctx: StageContext, realm: string, err: NetError): Promise<Evidence> {
  const u = new URL(realm);
  const { port } = hostPort(u);
  const route = proxyForUrl(realm, ctx.facts.proxyEnv ?? ctx.deps.env);
  const ev: Evidence = {
    url: redactUrl(realm),
    host: u.host,
    error: err.toEvidence(),
    proxy: route.url ? { url: route.url, reason: route.reason } : { url: null, reason: route.reason },
  };
  // The realm is verified with the registry's TLS settings (Docker's shared transport).
  const tls = ctx.facts.link?.tls;
  const p = await probeHost(u.hostname, port, {
    servers: ctx.options.dns,
    deps: ctx.deps,
    timeoutMs: Math.min(ctx.options.timeoutMs, 3000),
    trace: ctx.trace,
    maxAddresses: route.url ? 0 : 1,
    tls: u.protocol === "https:" ? { ca: tls?.ca ?? [], cert: tls?.cert, key: tls?.key } : null,
  });
  const dns = p.dns;
  ev.dns = { outcome: dns.outcome, via: dns.via, addresses: dns.addresses.map((a) => a.address), message: dns.message ?? null };
  const t = p.tcp[0];
  if (t) ev.tcp = { address: t.address, port: t.port, ok: t.ok, durationMs: t.durationMs, error: t.error ? { ...t.error } : null };
  if (p.tls) ev.tls = tlsProbeEvidence(p.tls);
  return ev;
}
