import { type CatalogueSection, entry } from "./entry";
import { proxyDaemon } from "./proxy-daemon";

const GO_URL_AUTH =
  "Docker (Go) sends only Basic credentials, taken from the proxy URL: http://USER:PASSWORD@proxy:port, with special characters percent-encoded (@ → %40, : → %3A, # → %23)";

/**
 * Whose environment the judged client takes its proxy from (SPEC "Clients", proxy environment):
 * absent, dockerd's; a unit (containerd, crio), that service's; "shell", podman's own process.
 */
export type ProxyOwner = { unit: string; file?: string } | "shell";

/** The fix that gives the puller a proxy URL: in the files of the process that pulls. */
function setForPuller(what: string, owner: ProxyOwner | undefined): string {
  if (owner === "shell") return `${what} in the environment podman runs with (the shell, or the systemd unit of a podman service).`;
  const unit = owner?.unit ?? "docker";
  const alt = owner ? "" : ' or daemon.json "proxies"';
  // The file that set the variable when the unit's environment was read (else the usual drop-in).
  const file = owner?.file ?? `/etc/systemd/system/${unit}.service.d/http-proxy.conf`;
  const kind = file.endsWith(".service") ? "unit" : "drop-in";
  return `${what} in the ${owner ? `${unit} service's` : "daemon's"} environment (systemd ${kind} ${file}${alt}), then: sudo systemctl daemon-reload && sudo systemctl restart ${unit}`;
}

function isUnit(owner: ProxyOwner | undefined): owner is { unit: string; file?: string } {
  return typeof owner === "object";
}

/** " (set in FILE)" for a proxy read from a unit's file: the finding names where it came from. */
function setIn(owner: ProxyOwner | undefined): string {
  return isUnit(owner) && owner.file ? ` (set in ${owner.file}, the ${owner.unit} service's environment)` : "";
}

/** How a proxy could not be reached or did not act as one (PROXY_UNREACHABLE). */
export type ProxyFailure = "refused" | "timeout" | "dns" | "silent" | "not-tls" | "not-http" | "closed" | "unsupported" | "other";

/** Findings of the `proxy` stage. */
export const proxy = {
  PROXY_IN_USE: entry<{ proxy: string; variable: string; host: string; status: number | null; durationMs: number | null }>({
    stage: "proxy",
    severity: "info",
    title: "Requests to the registry go through a proxy",
    explain:
      "Go clients (dockerd, containerd, the docker CLI, skopeo) pick the proxy from HTTPS_PROXY for https:// requests and HTTP_PROXY for http:// requests, unless NO_PROXY matches the host. The doctor opened the same CONNECT tunnel a pull would open and it was accepted.",
    seen: ["docker info: HTTPS Proxy: http://proxy.corp.example.com:3128"],
    causes: ["HTTPS_PROXY / https_proxy (or HTTP_PROXY for plain-http registries) is set and NO_PROXY does not cover the registry host"],
    howKnown:
      "The request URL is run through Go's httpproxy rules (upper-case variable first, NO_PROXY matching, loopback bypass); a CONNECT host:port through the chosen proxy answered 200.",
    detail: (p) =>
      `${p.host} goes through ${p.proxy} (${p.variable})${p.status !== null ? `: CONNECT answered ${p.status}${p.durationMs !== null ? ` in ${p.durationMs} ms` : ""}` : ""}.`,
    fixes: (p) => [
      `Nothing to fix. To reach ${p.host} directly instead, add it to NO_PROXY (for the daemon too: systemd drop-in or daemon.json "proxies").`,
    ],
    genericFixes: [
      "Nothing to fix. To bypass the proxy for a registry, add its host to NO_PROXY (domain, .domain for subdomains only, host:port, IP or CIDR).",
    ],
  }),

  PROXY_BYPASSED: entry<{
    proxy: string | null;
    variable: string | null;
    host: string;
    reason: string;
    entry: string | null;
    kind: string;
  }>({
    stage: "proxy",
    severity: "info",
    title: "A proxy is configured but this registry is reached directly",
    explain:
      "A proxy variable is set, but Go's rules send this request directly: NO_PROXY matches the host (a domain matches itself and its subdomains, a leading dot only subdomains, IPs and CIDRs only IP-literal hosts), the host is localhost or a loopback address (never proxied), or the proxy value cannot be parsed and is silently ignored.",
    seen: ["(no message: the pull connects directly; if direct egress is blocked it then fails with dial tcp …: i/o timeout)"],
    causes: [
      "NO_PROXY lists the registry host or one of its parent domains",
      "the registry is localhost or a loopback address",
      "the proxy value is malformed (leading spaces, bad %-escapes) and Go ignores it",
    ],
    howKnown: "The request URL is run through Go's httpproxy rules with the same environment; the NO_PROXY entry that matched is named.",
    detail: (p) => `${p.host} bypasses ${p.proxy ?? "the proxy"}: ${p.reason}.`,
    fixes: (p) =>
      p.kind === "unparseable"
        ? [
            `Fix ${p.variable}: Go ignored its value (${p.reason}); write it as http://proxy.example.com:3128 with no spaces, and percent-encode special characters in credentials.`,
          ]
        : p.entry
          ? [`If ${p.host} is not reachable directly, remove "${p.entry}" from NO_PROXY (in the shell and in the daemon's environment).`]
          : [`Nothing to fix: ${p.host} is always reached directly.`],
    genericFixes: [
      "If the registry must be reached through the proxy, remove the matching entry from NO_PROXY.",
      "Write proxy values as http://host:port without spaces.",
    ],
  }),

  PROXY_UNREACHABLE: entry<{
    proxy: string;
    variable: string;
    address: string;
    host: string;
    failure: ProxyFailure;
    message: string;
    timeoutMs: number;
    owner?: ProxyOwner;
  }>({
    stage: "proxy",
    severity: "error",
    title: "The proxy cannot be used",
    explain:
      "Every request to the registry goes through the configured proxy, and the proxy could not be reached or did not answer the CONNECT request as an HTTP proxy: nothing listens on its address, its name does not resolve, it drops the connection, it stays silent, or the URL's scheme does not match what the port speaks (https:// for a plain HTTP proxy port).",
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": proxyconnect tcp: dial tcp 10.0.0.5:3128: i/o timeout',
      'podman: pinging container registry registry.example.com: Get "https://registry.example.com/v2/": proxyconnect tcp: dial tcp 127.0.0.1:1: connect: connection refused',
      "docker: Get https://registry-1.docker.io/v2/: proxyconnect tcp: tls: oversized record received with length 20527",
      'docker: Get "https://registry-1.docker.io/v2/": proxyconnect tcp: tls: first record does not look like a TLS handshake',
    ],
    causes: [
      "wrong proxy host or port, or the proxy service is down",
      "https:// written for a proxy that speaks plain HTTP (use http://proxy:port)",
      "the proxy host name does not resolve, or a firewall drops traffic to it",
      "something other than an HTTP proxy listens on that port",
    ],
    howKnown:
      "The doctor dials the proxy itself (TCP, then TLS for an https:// proxy URL) and sends CONNECT host:port; the failing step and the socket error are recorded.",
    detail: (p) => {
      const why: Record<typeof p.failure, string> = {
        refused: "connection refused",
        timeout: `no TCP answer within ${p.timeoutMs} ms`,
        dns: "the proxy host name does not resolve",
        silent: `it accepted the connection but never answered CONNECT within ${p.timeoutMs} ms`,
        "not-tls": "the proxy URL says https:// but the port does not speak TLS",
        "not-http": "the port does not answer like an HTTP proxy",
        closed: "it closed the connection without answering CONNECT",
        unsupported: "the proxy URL's scheme cannot carry a CONNECT tunnel",
        other: "the connection failed",
      };
      return `${p.variable}=${p.proxy}${setIn(p.owner)} (${p.address}) for ${p.host}: ${why[p.failure]} — ${p.message}`;
    },
    fixes: (p) => {
      const out: string[] = [];
      if (p.failure === "not-tls")
        out.push(
          `Set ${p.variable}=${p.proxy.replace(/^https:/, "http:")} (the proxy port speaks plain HTTP; the tunnel to the registry is still TLS).`,
        );
      // HTTP_PROXY only carries plain-http registries: check with the scheme the pull uses.
      out.push(`Check the proxy: curl -v -x ${p.proxy} ${/^http_proxy$/i.test(p.variable) ? "http" : "https"}://${p.host}/v2/`);
      // A unit's own proxy is only the unit's to correct; the shell's also reaches dockerd's or podman's.
      out.push(setForPuller(isUnit(p.owner) ? `Correct ${p.variable}` : `Correct ${p.variable} in the shell and`, p.owner));
      out.push(`If ${p.host} is reachable without the proxy, add it to NO_PROXY.`);
      return out;
    },
    genericFixes: [
      "Fix the proxy URL (http://host:port for an ordinary proxy), or start the proxy.",
      "Set the same value for the Docker daemon (systemd drop-in or daemon.json proxies) and restart it.",
      "Add the registry to NO_PROXY if it is reachable directly.",
    ],
  }),

  PROXY_AUTH_REQUIRED: entry<{
    proxy: string;
    variable: string;
    host: string;
    status: number;
    scheme: string;
    challenge: string;
    credentialsSent: boolean;
    username: string | null;
    owner?: ProxyOwner;
  }>({
    stage: "proxy",
    severity: "error",
    title: "The proxy requires authentication",
    explain:
      "The proxy answered CONNECT with 407 Proxy Authentication Required (or rejected the credentials). Go clients send only Basic credentials, and only those written in the proxy URL; they cannot answer NTLM or Negotiate (Kerberos) challenges, so such proxies need a local authenticating relay (cntlm, px) in front of them.",
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": Proxy Authentication Required',
      'podman: pinging container registry registry.example.com: Get "https://registry.example.com/v2/": Proxy Authentication Required',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": Proxy Authentication Required',
    ],
    causes: [
      "no user:password in the proxy URL",
      "wrong password, or special characters not percent-encoded in the URL",
      "the proxy only offers NTLM or Negotiate, which Go cannot do",
    ],
    howKnown: "CONNECT host:port answered 407 (or 401) with a Proxy-Authenticate header naming the schemes the proxy accepts.",
    detail: (p) =>
      `${p.proxy}${setIn(p.owner)} answered CONNECT ${p.host} with ${p.status}${p.challenge ? ` (Proxy-Authenticate: ${p.challenge})` : ""}; ${p.credentialsSent ? `the credentials of user ${p.username ?? "?"} from the proxy URL were rejected` : "no credentials are in the proxy URL"}.`,
    fixes: (p) => {
      const basic = /basic/i.test(p.scheme) || p.scheme === "";
      const out: string[] = [];
      // The concrete URL is the example: repeating the generic one (GO_URL_AUTH) in the same line read twice.
      if (basic)
        out.push(
          `Put the credentials in the proxy URL: ${p.variable}=${p.proxy.replace(/^(\w+:\/\/)/, "$1USER:PASSWORD@")} (${isUnit(p.owner) ? p.owner.unit : p.owner === "shell" ? "podman" : "Docker"} (Go) sends only Basic credentials, taken from the URL; percent-encode special characters: @ → %40, : → %3A, # → %23).`,
        );
      else
        out.push(
          `${p.proxy} offers ${p.scheme} only: Go cannot answer it. Run a local relay (cntlm or px) that authenticates to ${p.proxy}, and point ${p.variable} at it: ${p.variable}=http://127.0.0.1:3128`,
        );
      out.push(setForPuller("Set the same URL", p.owner));
      return out;
    },
    genericFixes: [
      `Put user:password in the proxy URL (${GO_URL_AUTH}).`,
      "For NTLM/Negotiate-only proxies run a local cntlm/px relay and point HTTPS_PROXY at it.",
    ],
  }),

  PROXY_CONNECT_REFUSED: entry<{
    proxy: string;
    variable: string;
    host: string;
    status: number;
    statusLine: string;
    server: string | null;
  }>({
    stage: "proxy",
    severity: "error",
    title: "The proxy refuses to connect to the registry",
    explain:
      "The proxy is reachable but answered CONNECT host:port with an error status: 403 when its policy does not allow that host or port (allow-lists, ConnectPort/SSL_ports rules), 502/503/504 when it cannot reach the registry itself. Go clients show only the status text.",
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": Forbidden',
      "docker: received unexpected HTTP status: 403 Forbidden",
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": Bad Gateway',
    ],
    causes: [
      "the registry host (or its auth/CDN hosts) is not on the proxy's allow-list",
      "the proxy only allows CONNECT to port 443 and the registry uses another port",
      "the proxy cannot resolve or reach the registry",
    ],
    howKnown:
      "CONNECT host:port sent to the proxy answered with a non-200, non-407 status; the status line and the proxy's Server header are recorded.",
    detail: (p) => `${p.proxy} answered CONNECT ${p.host} with "${p.statusLine}"${p.server ? ` (Server: ${p.server})` : ""}.`,
    fixes: (p) => [
      // A 5xx is the proxy failing to reach the registry itself (tinyproxy "500 Unable to connect",
      // squid 502/503): its own DNS or route, not its policy, which answers 403.
      p.status >= 500
        ? `The proxy tried and could not reach ${p.host} itself (${p.status}): check that the proxy host resolves ${p.host.replace(/:\d+$/, "")} (a private zone it does not see is common) and can connect to it; ask the proxy administrators with this status line.`
        : `Ask the proxy administrators to allow CONNECT to ${p.host}${p.host.endsWith(":443") ? "" : " (a non-443 port: proxies often allow CONNECT to 443 only)"}, and to the registry's auth and blob/CDN hosts (for Docker Hub: registry-1.docker.io, auth.docker.io, production.cloudflare.docker.com).`,
      `If ${p.host.replace(/:\d+$/, "")} is reachable directly, add it to NO_PROXY in the shell and in the daemon's environment.`,
    ],
    genericFixes: [
      "Have the registry, auth and CDN hosts allow-listed on the proxy (and its port, if not 443).",
      "Or add the registry to NO_PROXY if it is reachable directly.",
    ],
  }),

  ...proxyDaemon,
} satisfies CatalogueSection;
