import { clientName, type FixesFor, mirrorWords, otherClient, proxyEnvWords } from "../client-words";
import { connectCert, dialable } from "./connect-cert";
import { connectTls } from "./connect-tls";
import { type CatalogueSection, entry } from "./entry";

/** Facts common to the TCP findings. */
interface TcpParams {
  /** Registry host[:port] as in the image reference. */
  host: string;
  /** The failing hop "address:port" (or "proxy → host:port" through a tunnel). */
  target: string;
  /** What the other addresses/families did, e.g. "[::1]:5000 connected" or "no other address". */
  others: string;
  /** At least one other address connected (a pull may still work, slower). */
  otherOk: boolean;
  port: number;
  /** The endpoint is a mirror (its host:port comes from --mirror / registry-mirrors, not the reference). */
  mirror?: boolean;
  /** Go's error text for this hop (used as is for a proxy tunnel). */
  error?: string;
  /** Whose fixes to write (the judged client's); absent: Docker's. */
  fixesFor?: FixesFor;
}

function others(p: TcpParams): string {
  if (p.otherOk) return ` Other addresses worked (${p.others}), so ${clientName(p.fixesFor)} may still connect after trying this one.`;
  if (!p.others || p.others === "no other address to try") return " It is the only address to try.";
  return ` The other addresses failed too: ${p.others}.`;
}

/** A proxy's tunnel ("proxy → host:port") keeps the proxy's own words; a direct dial reads as Go's, then the other addresses. */
function tcpDetail(p: TcpParams, proxyFallback: string, dialError: string): string {
  if (p.target.startsWith("proxy ")) return `${p.target}: ${p.error ?? proxyFallback}.`;
  return `dial tcp ${p.target}: ${dialError}.${others(p)}`;
}

/** Findings of the `connect` stage. */
export const connect = {
  CONNECT_REFUSED: entry<TcpParams>({
    stage: "connect",
    severity: "error",
    title: "Connection refused",
    explain:
      "The TCP connection to the registry was actively refused: the SYN was answered with a reset. Nothing listens on that address and port, or a firewall rejects the connection.",
    seen: [
      'docker: Error response from daemon: Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com:5000/v2/library/app/manifests/1.0": dial tcp 10.0.0.5:5000: connect: connection refused (ErrImagePull)',
      'podman: pinging container registry 127.0.0.1:5999: Get "https://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
    ],
    causes: [
      "the registry (container or service) is not running",
      "wrong port in the image reference or mirror URL",
      "the registry listens on another interface (127.0.0.1 only, or IPv4 only)",
      "a firewall REJECT rule",
    ],
    howKnown: "A TCP connect to each resolved address failed at once with ECONNREFUSED (the SYN was answered with RST).",
    detail: (p) => tcpDetail(p, "the proxy could not open the tunnel", "connect: connection refused"),
    fixes: (p) => [
      `Check that the registry runs and listens on port ${p.port}: on the registry host, \`ss -ltnp | grep :${p.port}\` (or \`docker ps\` for a registry container and its published ports).`,
      p.mirror
        ? otherClient(p.fixesFor)
          ? `Check the mirror URL, ${mirrorWords(p.fixesFor)}: ${p.host}.`
          : `Check the mirror URL in daemon.json "registry-mirrors" (or --mirror): ${p.host}.`
        : `Check the port in the image reference: ${p.host}.`,
      `If a firewall rejects it, allow TCP ${p.port} to ${dialable(p).replace(/:\d+$/, "")}.`,
    ],
    genericFixes: [
      "Start the registry / fix the port in the reference.",
      "Make the registry listen on the address clients use.",
      "Allow the port in the firewall.",
    ],
  }),

  CONNECT_TIMEOUT: entry<TcpParams & { timeoutMs: number }>({
    stage: "connect",
    severity: "error",
    title: "Connection timed out",
    explain:
      "The TCP connection attempt got no answer at all: the SYN was dropped. A firewall DROPs the traffic, there is no route, or the host is down. Docker waits up to 30 s per address before printing i/o timeout.",
    seen: [
      "docker: dial tcp 52.1.2.3:443: i/o timeout",
      'containerd/kubelet: failed to do request: Head "https://registry.k8s.io/v2/pause/manifests/3.9": dial tcp 34.96.108.209:443: connect: connection timed out (ErrImagePull)',
      'podman: pinging container registry registry.example.com: Get "https://registry.example.com/v2/": dial tcp 10.0.0.5:443: i/o timeout',
    ],
    causes: [
      "an egress firewall or security group drops the traffic",
      "no route to the registry network (VPN down)",
      "the registry host is down",
      "an IPv6 address without IPv6 connectivity",
    ],
    howKnown: "A TCP connect to the address got neither SYN-ACK nor RST within the timeout (the doctor's own timer).",
    detail: (p) => tcpDetail(p, "no answer", `no answer within ${p.timeoutMs} ms (Docker: i/o timeout)`),
    fixes: (p) => [
      `Allow outbound TCP ${p.port} to ${dialable(p).replace(/:\d+$/, "")} in the firewall / security group.`,
      `Test from this host: \`nc -vz -w 5 ${dialable(p).replace(/^\[?([^\]]+?)\]?:(\d+)$/, "$1 $2")}\`; if other hosts on the same port work, the drop is specific to this address.`,
      otherClient(p.fixesFor)
        ? `If the registry is only reachable through a proxy, set HTTPS_PROXY in ${proxyEnvWords(p.fixesFor)}.`
        : 'If the registry is only reachable through a proxy, set HTTPS_PROXY for the Docker daemon (systemd drop-in or daemon.json "proxies").',
    ],
    genericFixes: ["Open egress to the registry (and its auth and CDN hosts).", "Use the proxy your network requires.", "Fix routing/VPN."],
  }),

  CONNECT_RESET: entry<TcpParams & { phase: string }>({
    stage: "connect",
    severity: "error",
    title: "Connection reset",
    explain:
      "The connection was opened and then torn down by a reset. A firewall or DPI box killing the connection (often by the TLS SNI), a load balancer without a backend, or a server that drops the client.",
    seen: [
      "docker: Error response from daemon: read tcp 127.0.0.1:59930->127.0.0.1:5443: read: connection reset by peer",
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": read tcp 10.2.0.49:55386->52.202.41.60:443: read: connection reset by peer (ErrImagePull)',
    ],
    causes: [
      "a firewall/DPI blocks the registry by name (SNI) and resets",
      "the server expects another protocol on that port",
      "a load balancer with no healthy backend",
      "the server process crashed mid-connection",
    ],
    howKnown: "TCP connected, then the peer sent RST (ECONNRESET) before or during the TLS handshake.",
    detail: (p) => `${p.target}: read: connection reset by peer (${p.phase}).${others(p)}`,
    fixes: (p) => [
      `Check the server's logs on ${p.target} for dropped connections; check that port ${p.port} serves the registry.`,
      `If only this host/SNI is reset, ask the network team whether ${p.host.replace(/:\d+$/, "")} is blocked by a firewall or TLS inspection policy.`,
    ],
    genericFixes: ["Allow the registry host name in the firewall/DPI policy.", "Fix the load balancer backend."],
  }),

  ...connectCert,
  ...connectTls,
} satisfies CatalogueSection;
