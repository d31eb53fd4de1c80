import type { SharedConnections } from "./connections";
import type { Deps } from "./deps";
import type { ProxyRoute, Resolution, TlsSettings } from "./facts";
import type { StageContext } from "./stage";
import type { Trace } from "./trace";

/**
 * What an HTTP client needs to reach one endpoint, as plain data. The stages build it from
 * what earlier stages established; src/registry takes it (never a StageContext), so the
 * registry core can be driven by the doctor, the pull or a test alike.
 */
export interface ClientSettings {
  /** Addresses to use for resolution.hostname (the dns stage's answer); other hosts are resolved on demand. */
  resolution?: Resolution | null;
  /** --dns servers, for every other host (a token realm, a blob CDN, a proxy). */
  dnsServers?: string[];
  deps: Deps;
  /** Proxy for this client's requests (null = direct): the proxy stage's decision. */
  route?: ProxyRoute | null;
  /** Whose proxy variables route the other hosts (facts.proxyEnv); absent = deps.env. */
  proxyEnv?: Readonly<Record<string, string>>;
  /** Extra CAs, client certificate, verify flag: the connect stage's settings. */
  tls?: TlsSettings;
  timeoutMs: number;
  signal?: AbortSignal;
  trace?: Trace;
  /** The run's kept-alive connections, shared by every client of the same settings; absent = the client's own. */
  connections?: SharedConnections;
}

/** The registry requests belong to: its base URL and whether plain http may carry its credentials. */
export interface RegistryTarget {
  baseUrl: string;
  insecure: boolean;
}

/** One endpoint's settings: the dns stage's addresses, the proxy stage's route, the connect stage's TLS. */
export function endpointSettings(ctx: StageContext): ClientSettings {
  return {
    resolution: ctx.facts.resolution ?? null,
    dnsServers: ctx.options.dns,
    deps: ctx.deps,
    route: ctx.facts.route ?? null,
    ...(ctx.facts.proxyEnv ? { proxyEnv: ctx.facts.proxyEnv } : {}),
    tls: ctx.facts.link?.tls,
    timeoutMs: ctx.options.timeoutMs,
    signal: ctx.deps.signal,
    trace: ctx.trace,
    connections: ctx.connections,
  };
}

/** The registry the connect stage settled on (its base URL, its insecurity); needs facts.link. */
export function registryTarget(ctx: StageContext): RegistryTarget {
  const link = ctx.facts.link!;
  return { baseUrl: link.baseUrl, insecure: link.insecure };
}
