import { caWords, type FixesFor, otherClient, trustRestart } from "../client-words";
import { type CatalogueSection, entry } from "./entry";

/** Facts common to the certificate findings. */
interface CertParams {
  host: string;
  target: string;
  /** /etc/docker/certs.d/HOST:PORT, or "" when Docker reads no certs.d for this host (Docker Hub). */
  certsPath: string;
  subject: string;
  issuer: string;
  /** Whose fixes to write (the judged client's); absent: Docker's. */
  fixesFor?: FixesFor;
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
export function dialable(p: { target: string; host: string }): string {
  return p.target.startsWith("proxy ") ? p.host : p.target;
}

/** TLS_UNKNOWN_CA's fixes for a client other than Docker: its own CA place, no certs.d of Docker's. */
function unknownCaFixes(p: CertParams & { issuerUrl?: string | null }, ca: string, f: Exclude<FixesFor, "docker">): string[] {
  const system = `sudo cp ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates${trustRestart(f)}`;
  return [
    `Get the CA certificate of "${ca}" (PEM) from the registry's operator, then: ${caWords(p.host, f)}; or put it in the system store: ${system}.`,
    `If "${ca}" is an intermediate CA, the server must send it: configure the registry with the full chain (leaf then intermediates, e.g. nginx ssl_certificate fullchain.pem)${p.issuerUrl ? `; the intermediate can be fetched from ${p.issuerUrl}` : ""}.`,
    `Check what the server sends: openssl s_client -connect ${dialable(p)} -servername ${p.host.replace(/:\d+$/, "")} -showcerts </dev/null`,
    `If the issuer is your company's TLS-inspection proxy, install its root CA in the system store of the host that pulls (${system}) or ask for the registry to be exempt.`,
  ];
}

/** Findings of the `connect` stage about the certificate (connect.ts spreads them after the TCP ones). */
export const connectCert = {
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
      (otherClient(p.fixesFor)
        ? ""
        : p.certsPath
          ? ` certs.d: ${p.certsPath} has ${p.certsDCas} CA file(s).`
          : " Docker verifies Docker Hub against the system store only (no certs.d)."),
    fixes: (p) => {
      const ca = p.untrustedRoot ?? p.missingIssuer ?? p.issuer;
      const system = "sudo cp ca.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates";
      if (otherClient(p.fixesFor)) return unknownCaFixes(p, ca, p.fixesFor);
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
} satisfies CatalogueSection;
