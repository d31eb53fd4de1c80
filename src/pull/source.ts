import type { AuthSession, Facts, ProxyRoute, Resolution, TlsSettings } from "../model/facts";
import type { Endpoint } from "../model/stage";

/** One place blobs can come from: a mirror or the upstream, with what the doctor learned about it. */
export interface BlobSource {
  endpoint: Endpoint;
  /** scheme://host[:port][/mirror-prefix], as the connect stage settled it. */
  baseUrl: string;
  /** The registry is insecure: plain http may carry its credentials (src/net/origin.ts). */
  insecure: boolean;
  repository: string;
  session: AuthSession | null;
  route: ProxyRoute | null;
  resolution: Resolution | null;
  tls: TlsSettings | null;
}

export function sourceFrom(endpoint: Endpoint, facts: Facts): BlobSource | null {
  if (!facts.ref) return null;
  const baseUrl = (facts.link?.baseUrl ?? endpoint.url + endpoint.pathPrefix).replace(/\/+$/, "");
  return {
    endpoint,
    baseUrl,
    insecure: facts.link?.insecure ?? endpoint.insecure,
    repository: facts.ref.repository,
    session: facts.session ?? null,
    route: facts.route ?? null,
    resolution: facts.resolution ?? null,
    tls: facts.link?.tls ?? null,
  };
}
