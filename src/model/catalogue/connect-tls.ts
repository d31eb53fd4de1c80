import { clientCertWords, type FixesFor, otherClient, proxyEnvWords } from "../client-words";
import { dialable } from "./connect-cert";
import { type CatalogueSection, entry } from "./entry";

const RESTART = "sudo systemctl restart docker";

function insecureSnippet(host: string): string {
  return `add to /etc/docker/daemon.json: { "insecure-registries": ["${host}"] } (merge with existing keys), then: ${RESTART}`;
}

/** Findings of the `connect` stage about the TLS handshake and certs.d (after the certificate ones). */
/** TLS_INSECURE_IN_USE's fix in the file that made the judged client (not dockerd) skip TLS. */
function insecureElsewhereFix(host: string, scheme: "https" | "http", config: "hosts.toml" | "registries.conf" | "kubernetes"): string {
  const file =
    config === "registries.conf"
      ? `insecure = true from its [[registry]] in registries.conf`
      : `${scheme === "http" ? `the http:// URL (write https://${host})` : "skip_verify = true"} from its hosts.toml${config === "kubernetes" ? " on every node (the CRI config_path)" : ""}`;
  return scheme === "http"
    ? `Serve ${host} over TLS with a certificate for its name, then remove ${file}.`
    : `The certificate verifies, so the insecure setting is not needed: remove ${file}.`;
}

export const connectTls = {
  TLS_HTTP_ONLY: entry<{
    host: string;
    target: string;
    firstLine: string;
    configured: boolean /** localhost or a loopback IP: containerd also falls back to HTTP. */;
    loopback?: boolean;
    /** The judged client, when it is not Docker: its own way to allow plain HTTP comes first. */
    fixesFor?: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
  }>({
    stage: "connect",
    severity: "error",
    title: "The registry speaks plain HTTP, not HTTPS",
    explain:
      "The TLS ClientHello was answered with an HTTP response: the registry serves plain HTTP on that port. Docker refuses plain HTTP unless the registry is insecure (insecure-registries, or a loopback address).",
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com:5000/v2/": http: server gave HTTP response to HTTPS client',
      'podman/skopeo: pinging container registry 127.0.0.1:5000: Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com:5000/v2/app/manifests/1.0": http: server gave HTTP response to HTTPS client (ErrImagePull)',
    ],
    causes: [
      "a plain-HTTP registry that is not in insecure-registries",
      "daemon.json was edited but the daemon not restarted",
      "a port that serves HTTP (e.g. :80 or :5000) used instead of the TLS port",
    ],
    howKnown: 'The first bytes the server sent in reply to the TLS ClientHello start with "HTTP/" (exactly Go\'s check).',
    detail: (p) => `${p.target} answered the TLS ClientHello with "${p.firstLine}".`,
    fixes: (p) => [
      ...(p.fixesFor === "registries.conf" && !p.configured
        ? [
            `podman/CRI-O (trusted network only): in /etc/containers/registries.conf (or a registries.conf.d/ file): [[registry]] location = "${p.host}" insecure = true (or: podman pull --tls-verify=false)`,
          ]
        : []),
      ...((p.fixesFor === "hosts.toml" || p.fixesFor === "kubernetes") && !p.configured
        ? [
            `containerd (trusted network only): /etc/containerd/certs.d/${p.host}/hosts.toml with server = "http://${p.host}"${p.fixesFor === "kubernetes" ? " on every node (the CRI config_path)" : " (or ctr --plain-http)"}`,
          ]
        : []),
      p.configured
        ? "Docker already treats it as insecure and uses plain HTTP: nothing to change for Docker."
        : `To use it as is (trusted network only): ${insecureSnippet(p.host)}; then check with: docker info | grep -A3 'Insecure Registries'.`,
      p.loopback
        ? `containerd/kubelet also fall back to plain HTTP for a loopback registry: nothing to change there; podman/skopeo need --tls-verify=false (or [[registry]] location = "${p.host}" insecure = true in registries.conf).`
        : `For kubelet/containerd: /etc/containerd/certs.d/${p.host}/hosts.toml with server = "http://${p.host}" and [host."http://${p.host}"] capabilities = ["pull", "resolve"].`,
      "Better: put TLS in front of the registry (a certificate for its name) and use the HTTPS port.",
    ],
    genericFixes: ['Add the registry to "insecure-registries" in daemon.json and restart Docker.', "Serve the registry over TLS."],
  }),

  TLS_HANDSHAKE_FAILED: entry<{
    host: string;
    target: string;
    reason: string;
    alert: string | null;
    clientCert: string | null;
    certsPath: string;
    timeoutMs: number;
    /** Whose fixes to write (the judged client's); absent: Docker's. */
    fixesFor?: FixesFor;
  }>({
    stage: "connect",
    severity: "error",
    title: "TLS handshake failed",
    explain:
      'TCP connected but the TLS handshake did not complete: the server sent an alert (e.g. it requires a client certificate), closed the connection, or never answered the ClientHello (Go gives up after 10 s with "TLS handshake timeout").',
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: TLS handshake timeout',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com:2524/v2/app/manifests/1.0": remote error: tls: certificate required (ErrImagePull)',
      "docker: remote error: tls: bad certificate",
    ],
    causes: [
      "the registry requires a client certificate (mTLS) and none (or a wrong one) was offered",
      "a middlebox drops large ClientHellos or the MTU is too small (handshake timeout)",
      "no protocol version or cipher in common",
      "the port is not a TLS server and stays silent",
    ],
    howKnown:
      "A TLS handshake was made to each address (through the proxy tunnel when one is used), presenting the certs.d client pair Docker would present; the server's alert, the close, or the silence is reported as is. In TLS 1.3 a client-certificate alert arrives just after the handshake, so the doctor makes one more round trip (an unauthenticated HEAD /v2/) to see it.",
    // The client certificate matters when the server sent an alert (mTLS); after a silent peer
    // or a reset, "(no client certificate offered)" only distracted.
    detail: (p) =>
      `${p.target}: ${p.reason}${p.clientCert ? ` (client certificate offered: ${p.clientCert})` : p.alert ? " (no client certificate offered)" : ""}.`,
    fixes: (p) =>
      p.alert === "certificate required" ||
      p.alert === "bad certificate" ||
      p.alert === "unknown certificate authority" ||
      p.alert === "unknown certificate"
        ? otherClient(p.fixesFor)
          ? [
              `${clientCertWords(p.host, p.fixesFor)}.`,
              "Make sure the client certificate is issued by a CA the registry trusts (and has clientAuth usage).",
            ]
          : [
              `Put the client pair Docker should present in ${p.certsPath}: client.cert and client.key (same base name; a CA goes in *.crt), e.g. sudo cp client.pem ${p.certsPath}/client.cert && sudo cp client-key.pem ${p.certsPath}/client.key`,
              `For containerd/kubelet: /etc/containerd/certs.d/${p.host}/hosts.toml client = [["/path/client.cert", "/path/client.key"]].`,
              "Make sure the client certificate is issued by a CA the registry trusts (and has clientAuth usage).",
            ]
        : p.reason.includes("timeout")
          ? [
              `Nothing answered the ClientHello within ${p.timeoutMs} ms: check that ${dialable(p)} is a TLS port, and check the path MTU (ip link; ping -M do -s 1472 ${dialable(
                p,
              )
                .replace(/:\d+$/, "")
                .replace(/^\[|\]$/g, "")}).`,
              otherClient(p.fixesFor)
                ? `If a middlebox drops large ClientHellos (Go ≥1.24 sends post-quantum key shares), set GODEBUG=tlsmlkem=0 in ${proxyEnvWords(p.fixesFor).replace("/http-proxy.conf", "/godebug.conf")}.`
                : 'If a middlebox drops large ClientHellos (Go ≥1.24 sends post-quantum key shares), set Environment="GODEBUG=tlsmlkem=0" for dockerd and restart.',
            ]
          : [
              `Check the registry's TLS configuration (protocols, ciphers, certificate) on ${dialable(p)}: openssl s_client -connect ${dialable(p)} </dev/null`,
            ],
    genericFixes: [
      "Add the client certificate pair to certs.d (mTLS).",
      "Fix MTU / middleboxes for handshake timeouts.",
      "Fix the server's TLS configuration.",
    ],
  }),

  TLS_INSECURE_IN_USE: entry<{
    host: string;
    why: string;
    scheme: "https" | "http" /** insecure only by Docker's loopback default: nothing to remove from a list. */;
    loopbackOnly?: boolean;
    /** The judged client's label and whose config made it insecure; absent: Docker's daemon.json. */
    client?: string;
    fixesFor?: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
  }>({
    stage: "connect",
    severity: "warning",
    title: "The client treats this registry as insecure",
    explain:
      "Docker skips TLS verification for an insecure registry (listed in insecure-registries, or at a loopback address / configured CIDR) and falls back to plain HTTP. Pulls work with Docker, but nothing protects them against interception, and containerd/kubelet, podman and other clients do not share this setting.",
    seen: ["docker info: Insecure Registries: 127.0.0.0/8, registry.example.com:5000"],
    causes: [
      "insecure-registries in daemon.json (or --insecure-registry)",
      "the registry address is in 127.0.0.0/8 or ::1, which Docker always treats as insecure",
      "the address is in a CIDR listed in insecure-registries",
    ],
    howKnown: "Docker's rule applied to the configured list and the resolved addresses.",
    detail: (p) =>
      `${p.host} is insecure to ${p.client ?? "Docker"} (${p.why}); the pull uses ${p.scheme === "http" ? "plain HTTP" : "HTTPS without certificate verification"}.`,
    // Only produced when the TLS handshake had no problem: over HTTPS the certificate verified.
    fixes: (p) =>
      p.fixesFor && p.fixesFor !== "docker" && !p.loopbackOnly
        ? [insecureElsewhereFix(p.host, p.scheme, p.fixesFor)]
        : p.scheme === "http"
          ? [
              `Serve ${p.host} over TLS with a certificate for its name${p.loopbackOnly ? " (Docker will still skip verification for a loopback address)" : `, then remove it from insecure-registries and ${RESTART}`}.`,
            ]
          : p.loopbackOnly
            ? ["Nothing to change: the certificate verifies, and Docker always treats loopback addresses as insecure."]
            : [
                `The certificate verifies, so the insecure setting is not needed: remove ${p.host} from insecure-registries and ${RESTART}.`,
              ],
    genericFixes: ["Serve the registry over TLS with a trusted certificate and remove it from insecure-registries."],
  }),
  CERTS_D_INVALID: entry<{ host: string; dir: string; error: string; file: string }>({
    stage: "connect",
    severity: "error",
    title: "Docker cannot load this registry's certs.d directory",
    explain:
      "Docker reads /etc/docker/certs.d/HOST:PORT/ for every pull from a secure registry: *.crt files are CAs, and every *.cert needs a *.key of the same name (and vice versa). An unpaired file makes the pull fail before any connection, with an error that names the file.",
    seen: [
      "docker: Error response from daemon: missing key ca.key for client certificate ca.cert. CA certificates must use the extension .crt",
      "docker: Error response from daemon: missing client certificate client.cert for key client.key",
    ],
    causes: [
      "a CA certificate saved as ca.cert instead of ca.crt",
      "a client certificate copied without its key (or the key without the certificate)",
      "the pair named differently (client.cert + client-key.pem)",
    ],
    howKnown: "The directory was read with Docker's rules (moby ReadCertsDirectory): extensions .crt, .cert, .key and their pairing.",
    detail: (p) => `${p.dir}: ${p.error}.`,
    fixes: (p) =>
      p.error.startsWith("missing key")
        ? [
            `If ${p.file} is a CA certificate, rename it: sudo mv ${p.dir}/${p.file} ${p.dir}/${p.file.replace(/\.cert$/, ".crt")}`,
            `If it is a client certificate, put its key beside it as ${p.dir}/${p.file.replace(/\.cert$/, ".key")}.`,
          ]
        : [`Put the client certificate for ${p.file} beside it as ${p.dir}/${p.file.replace(/\.key$/, ".cert")}, or remove the stray key.`],
    genericFixes: ["Name CA files *.crt; keep client pairs as NAME.cert + NAME.key in the same directory."],
  }),
} satisfies CatalogueSection;
