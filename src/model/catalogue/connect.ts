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
}

/** Facts common to the certificate findings. */
interface CertParams {
  host: string;
  target: string;
  /** /etc/docker/certs.d/HOST:PORT, or "" when Docker reads no certs.d for this host (Docker Hub). */
  certsPath: string;
  subject: string;
  issuer: string;
}

const RESTART = "sudo systemctl restart docker";

function insecureSnippet(host: string): string {
  return `add to /etc/docker/daemon.json: { "insecure-registries": ["${host}"] } (merge with existing keys), then: ${RESTART}`;
}

type Window = { notBefore: string; notAfter: string; now: string; serverDate?: string | null };

/** The certificate is valid by the server's clock: the local clock is the problem. */
function localClockWrong(p: Window): boolean {
  const d = Date.parse(p.serverDate ?? "");
  return Number.isFinite(d) && d >= Date.parse(p.notBefore) && d <= Date.parse(p.notAfter);
}

function skew(p: Window): string {
  const s = Math.round(Math.abs(Date.parse(p.now) - Date.parse(p.serverDate ?? p.now)) / 1000);
  return s >= 86_400 ? `${Math.round(s / 86_400)} days` : s >= 3600 ? `${Math.round(s / 3600)} hours` : `${s} s`;
}

function clockVerdict(p: Window): string {
  return localClockWrong(p)
    ? `valid by the server's clock, so this host's clock is wrong (off by ${skew(p)})`
    : "the server's clock agrees: the certificate itself is outside its window";
}

/** host:port a command can dial (the registry itself when the hop is a proxy tunnel). */
function dialable(p: { target: string; host: string }): string {
  return p.target.startsWith("proxy ") ? p.host : p.target;
}

function others(p: TcpParams): string {
  if (p.otherOk) return ` Other addresses worked (${p.others}), so Docker may still connect after trying this one.`;
  if (!p.others || p.others === "no other address to try") return " It is the only address to try.";
  return ` The other addresses failed too: ${p.others}.`;
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
    detail: (p) =>
      p.target.startsWith("proxy ")
        ? `${p.target}: ${p.error ?? "the proxy could not open the tunnel"}.`
        : `dial tcp ${p.target}: connect: connection refused.${others(p)}`,
    fixes: (p) => [
      `Check that the registry runs and listens on port ${p.port}: on the registry host, \`ss -ltnp | grep :${p.port}\` (or \`docker ps\` for a registry container and its published ports).`,
      p.mirror
        ? `Check the mirror URL in daemon.json "registry-mirrors" (or --mirror): ${p.host}.`
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
    detail: (p) =>
      p.target.startsWith("proxy ")
        ? `${p.target}: ${p.error ?? "no answer"}.`
        : `dial tcp ${p.target}: no answer within ${p.timeoutMs} ms (Docker: i/o timeout).${others(p)}`,
    fixes: (p) => [
      `Allow outbound TCP ${p.port} to ${dialable(p).replace(/:\d+$/, "")} in the firewall / security group.`,
      `Test from this host: \`nc -vz -w 5 ${dialable(p).replace(/^\[?([^\]]+?)\]?:(\d+)$/, "$1 $2")}\`; if other hosts on the same port work, the drop is specific to this address.`,
      'If the registry is only reachable through a proxy, set HTTPS_PROXY for the Docker daemon (systemd drop-in or daemon.json "proxies").',
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

  TLS_UNKNOWN_CA: entry<
    CertParams & { missingIssuer: string | null; untrustedRoot: string | null; certsDCas: number; sent: number; issuerUrl?: string | null }
  >({
    stage: "connect",
    severity: "error",
    title: "Certificate signed by an unknown authority",
    explain:
      "The registry's certificate chain does not lead to a CA the client trusts (the system store plus /etc/docker/certs.d/HOST:PORT/*.crt). Either the CA is private (or a TLS-inspection proxy re-signs traffic) and not installed, or the server does not send its intermediate certificate.",
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com:5443/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com:5443/v2/app/manifests/1.0": tls: failed to verify certificate: x509: certificate signed by unknown authority (ErrImagePull)',
      'podman/skopeo: pinging container registry 127.0.0.1:5443: Get "https://127.0.0.1:5443/v2/": x509: certificate signed by unknown authority',
    ],
    causes: [
      "a private CA that is not in certs.d or the system store",
      "the server sends only its leaf certificate, without the intermediate",
      "a corporate TLS-inspection proxy re-signs the connection",
      "the CA file is in certs.d but named *.pem/*.cert, or in a dir without the port",
    ],
    howKnown:
      "The chain the server sent was walked against the system store and the certs.d CAs; the issuer that is missing (or the untrusted self-signed root) is named.",
    detail: (p) =>
      `${p.target} presented "${p.subject}" issued by "${p.issuer}"; ` +
      (p.untrustedRoot
        ? `the chain ends in the self-signed root "${p.untrustedRoot}", which is not trusted.`
        : `"${p.missingIssuer}" was neither sent by the server nor found in the trusted CAs (${p.sent} certificate(s) sent)` +
          (p.issuerUrl
            ? `; the certificate says its issuer is published at ${p.issuerUrl}, so it is an intermediate the server should send.`
            : ".")) +
      (p.certsPath
        ? ` certs.d: ${p.certsPath} has ${p.certsDCas} CA file(s).`
        : " Docker verifies Docker Hub against the system store only (no certs.d)."),
    fixes: (p) => {
      const ca = p.untrustedRoot ?? p.missingIssuer ?? p.issuer;
      const system = "sudo cp ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates";
      if (!p.certsPath)
        return [
          `"${ca}" is probably a TLS-inspection proxy's CA: install it in the system store of the Docker host: ${system} && sudo systemctl restart docker (Docker Desktop: add it to the VM's trust store via Settings or a custom CA).`,
          `Or ask the network team to exempt ${p.host.replace(/:\d+$/, "")}, auth.docker.io and production.cloudflare.docker.com from inspection.`,
        ];
      const installCa = `Get the CA certificate of "${ca}" (PEM) from the registry's operator, then: sudo mkdir -p ${p.certsPath} && sudo cp ca.crt ${p.certsPath}/ca.crt (no restart needed for Docker; kubelet/containerd: add it to /etc/containerd/certs.d/${p.host}/hosts.toml \`ca\` or the system store: ${system} && sudo systemctl restart containerd).`;
      const sendChain = `If "${ca}" is an intermediate CA, the server must send it: configure the registry with the full chain (leaf then intermediates, e.g. nginx ssl_certificate fullchain.pem)${p.issuerUrl ? `; the intermediate can be fetched from ${p.issuerUrl} (DER: openssl x509 -inform der -in it -out intermediate.crt)` : ""}.`;
      return [
        ...(p.untrustedRoot ? [installCa] : p.issuerUrl ? [sendChain, installCa] : [installCa, sendChain]),
        `Check what the server sends: openssl s_client -connect ${dialable(p)} -servername ${p.host.replace(/:\d+$/, "")} -showcerts </dev/null`,
        "If the issuer is your company's TLS-inspection proxy, install its root CA on the Docker host (system store + restart docker) or ask for the registry to be exempt.",
      ];
    },
    genericFixes: [
      "Put the registry's CA at /etc/docker/certs.d/HOST:PORT/ca.crt.",
      "Make the server send its intermediate certificates.",
      "Install the TLS-inspection root CA on the Docker host.",
    ],
  }),

  TLS_EXPIRED: entry<CertParams & { state: string; notBefore: string; notAfter: string; now: string; serverDate?: string | null }>({
    stage: "connect",
    severity: "error",
    title: "Certificate expired or not yet valid",
    explain:
      "A certificate in the registry's chain is outside its validity window at this host's current time. Either the certificate really expired, or this host's clock is wrong (a VM after sleep, no NTP), which also makes fresh certificates look not yet valid.",
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": x509: certificate has expired or is not yet valid: current time 2026-11-23T06:58:16Z is after 2020-01-02T00:00:00Z',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": tls: failed to verify certificate: x509: certificate has expired or is not yet valid (ErrImagePull)',
      'podman/skopeo: pinging container registry 127.0.0.1:5444: Get "https://127.0.0.1:5444/v2/": x509: certificate has expired or is not yet valid: current time 2026-11-23T06:46:17Z is after 2020-01-02T00:00:00',
    ],
    causes: [
      "the server certificate expired and was not renewed",
      "this host's clock is wrong (check NTP)",
      "an old CA bundle with an expired root (e.g. DST Root CA X3)",
    ],
    howKnown:
      "Each certificate's notBefore/notAfter was compared with this host's clock (reported), independently of trust; the server's own clock is read from the Date header of an unauthenticated HEAD /v2/ on the same connection, to tell an expired certificate from a wrong local clock.",
    detail: (p) =>
      `"${p.subject}" (${p.target}) is valid ${p.notBefore} … ${p.notAfter}; this host's clock says ${p.now}: ${p.state === "expired" ? "expired" : "not yet valid (a clock behind, or a certificate issued in the future)"}.` +
      (p.serverDate ? ` The server's clock (HTTP Date) says ${p.serverDate}: ${clockVerdict(p)}.` : ""),
    fixes: (p) => [
      ...(p.serverDate && localClockWrong(p)
        ? [
            `This host's clock is off by ${skew(p)} compared with the server: fix it (sudo timedatectl set-ntp true; timedatectl status) — the certificate itself is valid.`,
          ]
        : []),
      ...(p.state === "expired"
        ? [`Renew the certificate "${p.subject}" on ${p.host} (it expired ${p.notAfter}).`]
        : [
            `Check this host's clock: \`date -u\` says ${p.now}, the certificate starts ${p.notBefore}; enable NTP: sudo timedatectl set-ntp true.`,
          ]),
      "If the clock is wrong, fix it (timedatectl status; chrony/systemd-timesyncd) and retry.",
      "If an old root expired in the chain, update the CA bundle: sudo apt-get install --only-upgrade ca-certificates (or your distribution's equivalent).",
    ],
    genericFixes: ["Renew the server certificate.", "Fix the client clock (NTP).", "Update ca-certificates."],
  }),

  TLS_HOSTNAME_MISMATCH: entry<CertParams & { name: string; names: string[]; message: string }>({
    stage: "connect",
    severity: "error",
    title: "Certificate does not cover the registry name",
    explain:
      "The certificate is not valid for the name (or IP address) used in the image reference. Go clients check only the subject alternative names (the Common Name is ignored since Go 1.15), and an IP address needs an IP SAN.",
    seen: [
      "docker: x509: certificate is valid for wrong.example.com, not registry.example.com",
      'podman/skopeo: pinging container registry 127.0.0.1:5445: Get "https://127.0.0.1:5445/v2/": x509: cannot validate certificate for 127.0.0.1 because it doesn\'t contain any IP SANs',
      "containerd/kubelet: tls: failed to verify certificate: x509: certificate relies on legacy Common Name field, use SANs instead (ErrImagePull)",
    ],
    causes: [
      "the image reference uses a different name or an IP than the certificate covers",
      "the certificate has only a Common Name and no SANs",
      "a TLS-inspection proxy presents its own certificate",
    ],
    howKnown: "The leaf certificate's SANs were matched against the name in the reference as Go's VerifyHostname does.",
    detail: (p) => `${p.message} — "${p.subject}" at ${p.target} covers: ${p.names.length ? p.names.join(", ") : "no SANs at all"}.`,
    fixes: (p) => {
      const dns = p.names.filter((n) => n.startsWith("DNS:") && !n.includes("*")).map((n) => n.slice(4));
      return [
        ...(dns[0]
          ? [
              `Use a name the certificate covers: ${dns[0]}${p.host.includes(":") ? `:${p.host.split(":").pop()}` : ""}/REPOSITORY (and make it resolve).`,
            ]
          : []),
        `Reissue the certificate with a SAN for ${p.name}: openssl … -addext "subjectAltName=${/^[\d.]+$|:/.test(p.name) ? "IP" : "DNS"}:${p.name}".`,
      ];
    },
    genericFixes: ["Pull with a name the certificate covers.", "Reissue the certificate with the right DNS/IP SANs."],
  }),

  TLS_HTTP_ONLY: entry<{
    host: string;
    target: string;
    firstLine: string;
    configured: boolean /** localhost or a loopback IP: containerd also falls back to HTTP. */;
    loopback?: boolean;
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
      "A TLS handshake was made to each address (through the proxy tunnel when one is used), presenting the certs.d client pair Docker would present; the server's alert, the close, or the silence is reported as is. In TLS 1.3 a client-certificate alert arrives just after the handshake, so the doctor waits one round trip for it.",
    // The client certificate matters when the server sent an alert (mTLS); after a silent peer
    // or a reset, "(no client certificate offered)" only distracted.
    detail: (p) =>
      `${p.target}: ${p.reason}${p.clientCert ? ` (client certificate offered: ${p.clientCert})` : p.alert ? " (no client certificate offered)" : ""}.`,
    fixes: (p) =>
      p.alert === "certificate required" ||
      p.alert === "bad certificate" ||
      p.alert === "unknown certificate authority" ||
      p.alert === "unknown certificate"
        ? [
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
              'If a middlebox drops large ClientHellos (Go ≥1.24 sends post-quantum key shares), set Environment="GODEBUG=tlsmlkem=0" for dockerd and restart.',
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
  }>({
    stage: "connect",
    severity: "warning",
    title: "Docker treats this registry as insecure",
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
      `${p.host} is insecure to Docker (${p.why}); the pull uses ${p.scheme === "http" ? "plain HTTP" : "HTTPS without certificate verification"}.`,
    // Only produced when the TLS handshake had no problem: over HTTPS the certificate verified.
    fixes: (p) =>
      p.scheme === "http"
        ? [
            `Serve ${p.host} over TLS with a certificate for its name${p.loopbackOnly ? " (Docker will still skip verification for a loopback address)" : `, then remove it from insecure-registries and ${RESTART}`}.`,
          ]
        : p.loopbackOnly
          ? ["Nothing to change: the certificate verifies, and Docker always treats loopback addresses as insecure."]
          : [`The certificate verifies, so the insecure setting is not needed: remove ${p.host} from insecure-registries and ${RESTART}.`],
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
