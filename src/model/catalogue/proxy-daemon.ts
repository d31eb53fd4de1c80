import { caWords, clientName, type FixesFor, otherClient, trustRestart } from "../client-words";
import { type CatalogueSection, entry } from "./entry";

const bypass = (host: string): string =>
  `Or ask for an inspection bypass for ${host} and the registry's auth and blob/CDN hosts (Docker Hub: registry-1.docker.io, auth.docker.io, production.cloudflare.docker.com).`;

/** PROXY_TLS_INTERCEPTION's fixes for a client other than Docker: its trust store and its own CA place. */
function interceptionFixes(p: { root: string; host: string }, f: Exclude<FixesFor, "docker">): string[] {
  return [
    `Get the interception root ("${p.root}") from your security team, then install it on the host that pulls${f === "kubernetes" ? " (every node)" : ""}: sudo cp corp-root.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates${trustRestart(f)} (RHEL: /etc/pki/ca-trust/source/anchors/ + update-ca-trust)`,
    `Or for this registry only (does not cover auth/CDN hosts), with corp-root.crt as ca.crt: ${caWords(p.host, f)}`,
    bypass(p.host),
  ];
}

/** Which proxy variables to write, with credentials replaced by placeholders (never the real password). */
export interface ProxyValues {
  http: string | null;
  https: string | null;
  no: string | null;
}

function dropIn(path: string, v: ProxyValues, unit = "docker"): string {
  const lines = ["[Service]"];
  if (v.http) lines.push(`Environment="HTTP_PROXY=${v.http}"`);
  if (v.https) lines.push(`Environment="HTTPS_PROXY=${v.https}"`);
  if (v.no) lines.push(`Environment="NO_PROXY=${v.no}"`);
  return `write ${path}:\n${lines.join("\n")}\nthen: sudo systemctl daemon-reload && sudo systemctl restart ${unit}`;
}

function daemonJson(path: string, v: ProxyValues): string {
  const p: Record<string, string> = {};
  if (v.http) p["http-proxy"] = v.http;
  if (v.https) p["https-proxy"] = v.https;
  if (v.no) p["no-proxy"] = v.no;
  return `or (Docker 23.0+) add to ${path}: ${JSON.stringify({ proxies: p })}, then: sudo systemctl restart docker`;
}

/** Findings of the `proxy` stage about the daemon's own proxy and TLS interception (after the CONNECT ones). */
export const proxyDaemon = {
  PROXY_DAEMON_MISMATCH: entry<{
    host: string;
    shellProxy: string | null;
    shellReason: string;
    daemonProxy: string | null;
    daemonReason: string;
    daemonSource: string;
    values: ProxyValues;
    dropInPath: string;
    daemonJsonPath: string;
    authDiffers: boolean;
    /** The judged client when it is not Docker: its pull and its systemd unit ("containerd"). */
    puller?: { name: string; unit: string };
  }>({
    stage: "proxy",
    severity: "warning",
    title: "The daemon that pulls (dockerd, containerd, CRI-O) uses a different proxy than this shell",
    explain:
      'docker pull is performed by the daemon (dockerd, or containerd for Kubernetes), which reads its own environment (systemd drop-in) or daemon.json "proxies" — not the shell\'s HTTPS_PROXY and not ~/.docker/config.json "proxies" (which only configures containers and builds). So curl and this doctor can succeed while docker pull fails, or the other way round.',
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp 54.236.113.205:443: i/o timeout (while curl through $HTTPS_PROXY works)',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": dial tcp 10.0.0.7:443: i/o timeout',
    ],
    causes: [
      "the proxy is exported in the shell only",
      "the daemon has a systemd drop-in or daemon.json proxies that differ from the shell",
      "the daemon was not restarted after its proxy configuration changed",
    ],
    howKnown:
      "Go's proxy decision for the registry URL is computed twice: with the shell's environment and with the daemon's (daemon.json proxies over the systemd drop-in's Environment, or the running Engine's /info).",
    detail: (p) =>
      p.puller
        ? (p.authDiffers
            ? `The shell and the ${p.puller.unit} service use ${p.shellProxy} with different credentials (user or password differ). `
            : "") +
          `For ${p.host} this shell uses ${p.shellProxy ?? "a direct connection"} (${p.shellReason}), but ${p.puller.name} pulls with the ${p.puller.unit} service's environment: ${p.daemonProxy ?? "a direct connection"} (${p.daemonReason}; from ${p.daemonSource}). This check followed the ${p.puller.unit} service's route; the shell's differs (curl and tools run from this shell go another way).`
        : (p.authDiffers ? `The shell and the daemon use ${p.shellProxy} with different credentials (user or password differ). ` : "") +
          `For ${p.host} this shell uses ${p.shellProxy ?? "a direct connection"} (${p.shellReason}); the daemon uses ${p.daemonProxy ?? "a direct connection"} (${p.daemonReason}; from ${p.daemonSource}). docker pull will use the daemon's: ${p.daemonProxy ?? "direct"}.`,
    fixes: (p) =>
      p.puller
        ? [
            `Nothing to change for ${p.puller.name}'s pull if the route above works (this check used it). To give ${p.puller.unit} this shell's proxy settings instead, ${
              p.values.http || p.values.https || p.values.no
                ? dropIn(p.dropInPath, p.values, p.puller.unit)
                : `remove the proxy variables from ${p.daemonSource}, then: sudo systemctl daemon-reload && sudo systemctl restart ${p.puller.unit}`
            }`,
            `check: systemctl show ${p.puller.unit} --property=Environment`,
          ]
        : p.values.http || p.values.https || p.values.no
          ? [dropIn(p.dropInPath, p.values), daemonJson(p.daemonJsonPath, p.values), "check: docker info | grep -i proxy"]
          : [
              `Remove the daemon's proxy settings (${p.daemonSource}) if the registry is reachable directly, then: sudo systemctl daemon-reload && sudo systemctl restart docker`,
              "check: docker info | grep -i proxy",
            ],
    genericFixes: [
      'Give the daemon the proxy: /etc/systemd/system/docker.service.d/http-proxy.conf with [Service] Environment="HTTPS_PROXY=http://proxy:3128" … then systemctl daemon-reload && systemctl restart docker',
      'Or daemon.json (Docker 23.0+): {"proxies": {"http-proxy": "…", "https-proxy": "…", "no-proxy": "…"}}',
    ],
  }),

  PROXY_TLS_INTERCEPTION: entry<{
    host: string;
    proxy: string;
    issuer: string;
    subject: string;
    fingerprint: string;
    root: string;
    directIssuer: string | null;
    directFingerprint: string | null;
    trusted: "system" | "certs.d" | "none";
    certsDir: string;
    /** Whose fixes to write (the judged client's); absent: Docker's. */
    fixesFor?: FixesFor;
  }>({
    stage: "proxy",
    severity: "error",
    title: "The proxy intercepts TLS (re-signs the registry's certificate)",
    explain:
      "Through the proxy the registry presents a certificate issued by a different CA than the one it presents directly (or by a private CA): the proxy terminates TLS and re-signs (Zscaler, Blue Coat, Palo Alto, Fortinet…). Docker then fails certificate verification unless the interception root CA is trusted by the daemon host — for every host a pull touches (registry, auth and blob CDN hosts), which certs.d per host does not cover.",
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      "docker: error pulling image configuration: Get https://production.cloudflare.docker.com/registry-v2/…: x509: certificate signed by unknown authority",
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      'podman: pinging container registry registry.example.com: Get "https://registry.example.com/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
    ],
    causes: [
      "corporate TLS inspection on the proxy",
      "the inspection root CA is installed on desktops but not on the Docker host (or in the Docker Desktop / colima VM)",
    ],
    howKnown:
      "A TLS handshake to the registry through the CONNECT tunnel and one direct (verification off, SNI = host) are compared: different leaf and issuer, or a chain that no system root signs.",
    detail: (p) =>
      `Through ${p.proxy}, ${p.host} presents "${p.subject}" issued by "${p.issuer}" (root "${p.root}", SHA-256 ${p.fingerprint})` +
      (p.directIssuer
        ? `; directly it presents a certificate issued by "${p.directIssuer}" (SHA-256 ${p.directFingerprint})`
        : "; a direct connection was not possible to compare") +
      (p.trusted === "system"
        ? `. The interception CA is in the system trust store: ${clientName(p.fixesFor)} accepts it.`
        : p.trusted === "certs.d"
          ? `. Its CA is trusted for this host only, via ${p.certsDir}: auth and CDN hosts will still fail.`
          : `. Its CA is not trusted: ${clientName(p.fixesFor)} will fail with x509: certificate signed by unknown authority.`),
    fixes: (p) =>
      otherClient(p.fixesFor)
        ? interceptionFixes(p, p.fixesFor)
        : [
            `Get the interception root ("${p.root}") from your security team, then install it on the daemon host: sudo cp corp-root.crt /usr/local/share/ca-certificates/ && sudo update-ca-certificates && sudo systemctl restart docker (RHEL: /etc/pki/ca-trust/source/anchors/ + update-ca-trust; Docker Desktop/colima: inside the VM)`,
            `Or for this registry only: sudo mkdir -p ${p.certsDir} && sudo cp corp-root.crt ${p.certsDir}/ca.crt (does not cover auth/CDN hosts)`,
            bypass(p.host),
          ],
    genericFixes: [
      "Install the interception root CA in the daemon host's trust store (update-ca-certificates / update-ca-trust) and restart the daemon.",
      "Or put it in /etc/docker/certs.d/<host[:port]>/ca.crt for each registry host (not the CDN hosts).",
      "Or have the registry, auth and CDN hosts excluded from TLS inspection.",
    ],
  }),
} satisfies CatalogueSection;
