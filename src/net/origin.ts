import type { TlsSettings } from "../model/facts";
import { Secret } from "../model/secret";
import { isIP } from "./ip";

/**
 * The transport policy every HTTP stack obeys: the doctor's client (src/registry/http.ts: its
 * own HTTP/1.1 client, undici through a SOCKS proxy) and the pull's blob Workers (src/pull/). Where a credential may go, how a redirect
 * is read, what a TLS connection trusts: decided here once, so the two cannot drift apart.
 * test/unit/origin.test.ts holds the credential rule's table.
 */

/** A URL's hostname as sockets, DNS and TLS want it: an IPv6 literal without its brackets ("[::1]" → "::1"). */
export function bareHost(hostname: string): string {
  return hostname.replace(/^\[|\]$/g, "");
}

/** The port a request to this scheme goes to when the URL names none (Go's transport: 443 for https, 80 otherwise). */
export function defaultPort(protocol: string): number {
  return protocol === "https:" ? 443 : 80;
}

/** Where a URL connects: the bare host and the port, explicit or the scheme's default. */
export function hostPort(url: URL | string): { host: string; port: number } {
  const u = typeof url === "string" ? new URL(url) : url;
  return { host: bareHost(u.hostname), port: u.port ? Number(u.port) : defaultPort(u.protocol) };
}

/** SNI carries names only (RFC 6066): an IP literal host sends none, as Go does. */
export function serverNameFor(hostname: string): string | undefined {
  const bare = bareHost(hostname);
  return isIP(bare) ? undefined : bare;
}

/** Same scheme, host and port (the URL parser lower-cases the host and drops a default port). */
export function sameOrigin(a: URL | string, b: URL | string): boolean {
  return new URL(a).origin === new URL(b).origin;
}

/** Where credentials are meant to go: the registry (its base URL) or the token realm the registry named. */
export interface CredentialTarget {
  /** The URL the credentials were issued for: a registry base URL or a token realm. */
  url: string;
  /** The registry is insecure (by configuration, loopback, or a plain-http endpoint): plain http may carry them. */
  insecure: boolean;
}

/**
 * The one rule for credentials (a password, a token, the registry's Authorization):
 * 1. only to the origin they were meant for (scheme, host and port). Another port is another
 *    service; a redirect to another host (a CDN, an object store) gets none: its signed URL
 *    carries its own. Go forwards Authorization to the same hostname on any port and to
 *    subdomains (net/http client.go shouldCopyHeaderOnRedirect); pulldoctor is stricter;
 * 2. over plain http only when the registry is insecure: Docker's rule for a plain-http
 *    registry or token realm (the auth stage reports AUTH_BASIC_OVER_HTTP when it withholds them).
 */
export function credentialsAllowed(url: string, to: CredentialTarget): boolean {
  return sameOrigin(url, to.url) && plainHttpAllowed(url, to.insecure);
}

/**
 * Which of a pull's hosts a client hands its credentials to (the judged client's profile says which):
 * - "registry": classic dockerd passes the one auth config to every endpoint it tries for the
 *   image, mirrors included (moby/moby:daemon/internal/distribution/pull_v2.go#newRepository);
 * - "login-host": Docker's containerd store sends them only to the host logged in to, anonymous on
 *   a mirror (moby/moby:daemon/containerd/resolver.go#authorizerFromAuthConfig, "Host doesn't match");
 * - "every-host": kubelet's CRI credentials carry no ServerAddress, so containerd sends them to
 *   every mirror, `server` and token realm (containerd/containerd:internal/cri/server/images/
 *   image_pull.go#ParseAuth); containers/image uses the image's credentials on its mirrors too.
 */
export type CredentialReach = "login-host" | "every-host" | "registry";

/** Docker Hub's login host is registry-1.docker.io, where `docker login` credentials are checked. */
export function loginHost(registry: string): string {
  return registry === "docker.io" || registry === "index.docker.io" ? "registry-1.docker.io" : registry;
}

/** Rule 0, before the origin rule: does this endpoint of the pull get the image's credentials at all? */
export function endpointGetsCredentials(
  reach: CredentialReach,
  endpoint: { host: string; role: "mirror" | "upstream" },
  registry: string,
): boolean {
  if (reach !== "login-host") return true;
  return endpoint.role === "upstream" || endpoint.host === loginHost(registry);
}

/** Rule 2 alone: may credentials travel to this URL given its scheme? */
export function plainHttpAllowed(url: string, insecure: boolean): boolean {
  return !/^http:/i.test(url) || insecure;
}

/** The HTTP Basic value for a user and password (RFC 7617), kept secret. */
export function basicAuthorization(username: string, password: Secret): Secret {
  return new Secret(`Basic ${Buffer.from(`${username}:${password.reveal()}`).toString("base64")}`);
}

/** Go's http.Client (what Docker uses) stops after 10 redirects. */
export const MAX_REDIRECTS = 10;
export const REDIRECT_STATUS = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect's Location leads. A hostile Location must end in a finding, never a crash,
 * and never name a local file (Bun's fetch reads file: URLs): only http and https are followed,
 * as Go's client refuses the rest (`unsupported protocol scheme "ftp"`).
 */
export type RedirectTarget = { kind: "next"; url: URL } | { kind: "invalid" } | { kind: "scheme"; scheme: string };

export function redirectTo(location: string, from: string): RedirectTarget {
  const next = URL.canParse(location, from) ? new URL(location, from) : null;
  if (!next) return { kind: "invalid" };
  if (next.protocol !== "http:" && next.protocol !== "https:") return { kind: "scheme", scheme: next.protocol.replace(/:$/, "") };
  return { kind: "next", url: next };
}

/** TLS options (node:tls / undici / Bun fetch share the names) for an endpoint's settings. */
export interface TlsOptions {
  rejectUnauthorized: boolean;
  ca?: string[];
  cert?: string;
  key?: string;
}

/**
 * What a connection trusts and presents. Docker adds certs.d CAs to the system pool, it does not
 * replace it (loadTLSConfig); its http.Client carries one Transport, so the registry's settings
 * also apply to a redirect target or token realm. Credentials are what stays with the origin.
 * The binary runs with --use-system-ca (scripts/compile.ts), so the runtime's default store, and
 * "default" below, hold the host's store too; `rootCertificates` is only the bundled list.
 */
export function tlsOptions(t: TlsSettings | null | undefined): TlsOptions {
  const o: TlsOptions = { rejectUnauthorized: t?.verify ?? true };
  // node:tls only here: a check without certs.d CAs never loads it (docs/performance.md, "Sockets without node:net").
  if (t?.ca?.length) o.ca = [...(require("node:tls") as typeof import("node:tls")).getCACertificates("default"), ...t.ca];
  if (t?.cert && t.key) {
    o.cert = t.cert;
    o.key = t.key.reveal();
  }
  return o;
}

// In a module of its own so the argument parser can use it without loading node:net and node:tls.
export { joinHostPort } from "./host-port";
