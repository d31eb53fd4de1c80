import { clientName, type FixesFor, otherClient } from "../client-words";
import { type CatalogueSection, entry } from "./entry";

/** Facts every DNS failure carries. */
interface DnsFailure {
  host: string;
  /** Servers asked, "10.0.0.2:53". */
  servers: string[];
  /** Where they came from: "/etc/resolv.conf", "--dns". */
  serversFrom: string;
  /** What Docker would print with these servers: `Get "https://reg/v2/": dial tcp: lookup reg on 10.0.0.2:53: no such host`. */
  message: string;
  /** Whose fixes to write (the judged client's); absent: Docker's. */
  fixesFor?: FixesFor;
}

/** The process whose Go resolver looks the registry up (kubelet's pulls: containerd on the node, with the node's resolv.conf). */
const resolving = (f: FixesFor | undefined): string =>
  f === "kubernetes" ? "containerd on each node" : f === "hosts.toml" ? "containerd" : clientName(f);

const list = (xs: string[]) => (xs.length ? xs.join(", ") : "(none)");
/** dig's server arguments for "10.0.0.2:53" / "[fd00::1]:5353": "@10.0.0.2" / "@fd00::1 -p 5353". */
function digAt(servers: string[]): string {
  const m = /^\[?([^\]]+?)\]?:(\d+)$/.exec(servers[0] ?? "10.0.0.2:53");
  if (!m) return `@${servers[0]}`;
  return m[2] === "53" ? `@${m[1]}` : `@${m[1]} -p ${m[2]}`;
}

/** Fixes shared by the failures where the servers answer but not what the pull needs. */
function resolverFixes(p: DnsFailure): string[] {
  return [
    `Compare with the system resolver: \`getent hosts ${p.host}\`, and ask the server directly: \`dig ${digAt(p.servers)} ${p.host} A\` (and AAAA)`,
    `Check the name for typos; for a private zone make sure ${list(p.servers)} forwards it (split-horizon DNS, VPN, corporate forwarder)`,
    otherClient(p.fixesFor)
      ? `${resolving(p.fixesFor)} resolves with Go's resolver from the host's /etc/resolv.conf (re-read every 5 s${p.fixesFor === "kubernetes" ? "; the node's, not the cluster DNS" : ""}): point it at a server that knows ${p.host}`
      : `dockerd resolves with Go's resolver from the host's /etc/resolv.conf (re-read every 5 s): point it at a server that knows ${p.host}; daemon.json "dns": ["10.0.0.2"] only sets DNS for containers and builds, not for pulls`,
    `As a stopgap pin the name in /etc/hosts: \`echo "ADDRESS ${p.host}" | sudo tee -a /etc/hosts\` (${otherClient(p.fixesFor) ? resolving(p.fixesFor) : "Docker"} reads it before DNS)`,
  ];
}

/** Findings of the `dns` stage. */
export const dns = {
  DNS_NXDOMAIN: entry<DnsFailure & { names: string[] }>({
    stage: "dns",
    severity: "error",
    title: "The registry host does not exist in DNS",
    explain:
      "The DNS servers the Docker daemon uses answered NXDOMAIN: the name does not exist for them. Docker's Go resolver reads /etc/hosts, then asks the servers of /etc/resolv.conf (with its search list), and gives up with `no such host`. Nothing after DNS can be tried.",
    seen: [
      'docker: Error response from daemon: Get "https://registry.pd.invalid/v2/": dial tcp: lookup registry.pd.invalid on 10.255.255.53:53: no such host',
      'containerd/kubelet: failed to pull and unpack image "registry.pd.invalid/library/small:1.0": failed to resolve reference "registry.pd.invalid/library/small:1.0": failed to do request: Head "https://registry.pd.invalid/v2/library/small/manifests/1.0": dial tcp: lookup registry.pd.invalid on 10.255.255.53:53: no such host',
      'podman: Error: initializing source docker://registry.pd.invalid/library/small:1.0: pinging container registry registry.pd.invalid: Get "https://registry.pd.invalid/v2/": dial tcp: lookup registry.pd.invalid on 10.255.255.53:53: no such host',
    ],
    causes: [
      "A typo in the registry host name",
      "A private zone only the VPN's or the office's DNS knows (split-horizon DNS), while the daemon asks another server",
      "Docker Desktop / a VM whose DNS forwarder does not see the host's VPN resolver",
      "The registry's DNS record was removed or the domain expired",
    ],
    howKnown:
      "The doctor asks each configured server itself (A and AAAA, UDP then TCP on truncation) for every name of the search list and records RCODE 3 (NXDOMAIN); it also reads /etc/hosts and compares with the system resolver (getaddrinfo).",
    detail: (p) =>
      `${p.host}: NXDOMAIN from ${list(p.servers)} (${p.serversFrom}; names tried: ${list(p.names)}). Go's resolver reports: ${p.message}`,
    fixes: (p) => resolverFixes(p),
    genericFixes: [
      "Check the host name for typos",
      "Run `getent hosts HOST` and `dig @SERVER HOST` to see which resolver knows the name",
      "Point /etc/resolv.conf (or systemd-resolved) at a server that resolves the registry, or add it to /etc/hosts",
    ],
  }),

  DNS_NO_ANSWER: entry<DnsFailure & { rcodes: string[] }>({
    stage: "dns",
    severity: "error",
    title: "The registry host has no IPv4 or IPv6 address",
    explain:
      "The name exists (the server answered NOERROR) but has no A or AAAA record, for example only a TXT or MX record, or a CNAME to a name without addresses. Go reports this exactly like a missing name: `no such host`.",
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": dial tcp: lookup registry.example.com on 10.0.0.2:53: no such host',
      'containerd/kubelet: failed to resolve reference "registry.example.com/app:1.0": failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": dial tcp: lookup registry.example.com on 10.0.0.2:53: no such host',
      'podman: pinging container registry registry.example.com: Get "https://registry.example.com/v2/": dial tcp: lookup registry.example.com on 10.0.0.2:53: no such host',
    ],
    causes: [
      "The DNS zone has a record of another type for the name (TXT, MX, SRV) but no A/AAAA",
      "A CNAME points to a name that has no addresses",
      "Only an AAAA record exists and the resolver filters AAAA (or the reverse)",
    ],
    howKnown:
      "Both the A and the AAAA question got RCODE 0 (NOERROR) with an empty answer section, for the name as given and every search-list expansion.",
    detail: (p) =>
      `${p.host} exists in DNS but has no A/AAAA record (${p.rcodes.join("; ")}) from ${list(p.servers)}. Go's resolver reports: ${p.message}`,
    fixes: (p) => [
      `Look at what the name has: \`dig ${digAt(p.servers)} ${p.host} ANY\` and \`getent hosts ${p.host}\``,
      `Add an A (and/or AAAA) record for ${p.host} in its zone, or fix the CNAME target`,
      `As a stopgap pin the name in /etc/hosts: \`echo "ADDRESS ${p.host}" | sudo tee -a /etc/hosts\``,
    ],
    genericFixes: ["Add an A/AAAA record for the registry host", "Fix the CNAME target", "Pin the name in /etc/hosts as a stopgap"],
  }),

  DNS_SERVFAIL: entry<DnsFailure & { failures: string[] }>({
    stage: "dns",
    severity: "error",
    title: "The DNS server failed to answer (SERVFAIL/REFUSED)",
    explain:
      "Every DNS server asked replied with an error code instead of an answer: SERVFAIL (RCODE 2: it could not reach its upstream, or DNSSEC validation failed) or REFUSED (RCODE 5: it does not serve this client or zone). Go calls both `server misbehaving`.",
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: server misbehaving',
      'containerd/kubelet: failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": dial tcp: lookup registry-1.docker.io on 10.96.0.10:53: server misbehaving',
      'podman: pinging container registry registry-1.docker.io: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: server misbehaving',
    ],
    causes: [
      "The local forwarder (systemd-resolved, dnsmasq, a router) has no working upstream (SERVFAIL)",
      "DNSSEC validation failed for the zone (SERVFAIL)",
      "The server refuses recursion for this client or does not serve the zone (REFUSED): an ACL, a wrong server address",
    ],
    howKnown: "The doctor's own queries got RCODE 2 (SERVFAIL) or 5 (REFUSED) from each server, recorded per server and record type.",
    detail: (p) => `${p.host}: ${p.failures.join("; ")}. Go's resolver reports: ${p.message}`,
    fixes: (p) => [
      `Ask the server directly and read the status: \`dig ${digAt(p.servers)} ${p.host}\``,
      p.failures.some((f) => f.includes("REFUSED"))
        ? `REFUSED: ${list(p.servers)} does not resolve for this client; use the resolver your network provides (check /etc/resolv.conf, \`resolvectl status\`)`
        : `SERVFAIL: check the forwarder's upstream (\`resolvectl status\`, \`journalctl -u systemd-resolved\`) or use another resolver in /etc/resolv.conf`,
      `Confirm with the system resolver: \`getent hosts ${p.host}\``,
    ],
    genericFixes: ["Query the server directly with dig to see the RCODE", "Fix the resolver's upstream or ACL, or use another resolver"],
  }),

  DNS_TIMEOUT: entry<DnsFailure & { errors: string[]; timeoutMs: number }>({
    stage: "dns",
    severity: "error",
    title: "No DNS server answered",
    explain:
      "No configured DNS server replied in time (or the host answered with an ICMP port-unreachable). Go tries each server `attempts` times (2 by default) with `timeout` seconds each (5 by default) and then reports `i/o timeout` or `connection refused` for the last one.",
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 192.168.65.1:53: read udp 192.168.65.2:45941->192.168.65.1:53: i/o timeout',
      "docker: dial tcp: lookup registry-1.docker.io on 127.0.0.53:53: read udp 127.0.0.1:52432->127.0.0.53:53: read: connection refused",
      'containerd/kubelet: failed to do request: Head "https://registry-1.docker.io/v2/library/nginx/manifests/latest": dial tcp: lookup registry-1.docker.io on 10.96.0.10:53: read udp 10.244.0.5:39123->10.96.0.10:53: i/o timeout',
    ],
    causes: [
      "The resolver in /etc/resolv.conf is down or unreachable (systemd-resolved stopped, VPN disconnected, a stale DHCP server)",
      "UDP/TCP port 53 blocked by a firewall",
      "Docker Desktop's VM resolver not reachable",
    ],
    howKnown: "The doctor's queries to each server got no reply within the per-query timeout (or an ICMP port-unreachable), over UDP.",
    detail: (p) =>
      `${p.host}: no reply from ${list(p.servers)} (${p.serversFrom}) within ${p.timeoutMs} ms: ${p.errors.join("; ")}. Go's resolver reports: ${p.message}`,
    fixes: (p) => [
      `Check the server answers at all: \`dig ${digAt(p.servers)} ${p.host}\`; is a firewall dropping port 53?`,
      `If it is systemd-resolved (127.0.0.53): \`systemctl status systemd-resolved\` and \`resolvectl status\``,
      otherClient(p.fixesFor)
        ? `Point /etc/resolv.conf at a reachable resolver (${resolving(p.fixesFor)} re-reads it every 5 s), then retry`
        : `Point /etc/resolv.conf at a reachable resolver (Docker re-reads it every 5 s), then retry; daemon.json "dns" only changes DNS inside containers`,
      `Confirm with the system resolver: \`getent hosts ${p.host}\``,
    ],
    genericFixes: ["Check the resolver is up and reachable on port 53", "Use a reachable resolver in /etc/resolv.conf"],
  }),

  DNS_RESOLVER_MISMATCH: entry<{ host: string; direct: string; system: string; servers: string[]; resolvConf: string }>({
    stage: "dns",
    severity: "warning",
    title: "The system resolver and Docker's resolver disagree",
    explain:
      "The operating system's resolver (getaddrinfo: nsswitch, systemd-resolved, a VPN's split DNS, mDNS) and the servers in /etc/resolv.conf, which Docker's Go resolver uses, give different results. curl or a browser can then reach the registry while `docker pull` fails with `no such host`, or reaches another address.",
    seen: [
      'docker: Error response from daemon: Get "https://registry.corp.example/v2/": dial tcp: lookup registry.corp.example on 10.0.0.2:53: no such host',
      'containerd/kubelet: failed to do request: Head "https://registry.corp.example/v2/team/app/manifests/1.0": dial tcp: lookup registry.corp.example on 10.96.0.10:53: no such host',
    ],
    causes: [
      "A VPN client configures per-domain DNS in systemd-resolved (or macOS scoped resolvers) that /etc/resolv.conf does not show",
      "nsswitch.conf has extra sources (mdns, myhostname, ldap) Go's resolver does not read",
      "/etc/resolv.conf points at a server other than the one the system actually uses",
    ],
    howKnown:
      "The doctor resolves the host with its own Go-like resolver (/etc/hosts + resolv.conf servers) and with the system resolver, and compares the answers.",
    detail: (p) => `${p.host}: Docker's resolver (${list(p.servers)} from ${p.resolvConf}) → ${p.direct}; system resolver → ${p.system}`,
    fixes: (p) => [
      `See what each says: \`getent hosts ${p.host}\` (system) and \`dig ${digAt(p.servers)} ${p.host}\` (Docker's servers)`,
      `With systemd-resolved, link /etc/resolv.conf to the stub that knows the VPN routes: \`sudo ln -sf /run/systemd/resolve/stub-resolv.conf /etc/resolv.conf\``,
      `Or pin the registry for Docker in /etc/hosts: \`echo "ADDRESS ${p.host}" | sudo tee -a /etc/hosts\``,
    ],
    genericFixes: ["Make /etc/resolv.conf name the resolver the system really uses", "Pin the registry in /etc/hosts"],
  }),

  DNS_HOSTS_OVERRIDE: entry<{ host: string; hostsPath: string; lines: string[]; dns: string }>({
    stage: "dns",
    severity: "info",
    title: "/etc/hosts pins the registry host",
    explain:
      "The hosts file names the registry host, so Docker (Go's resolver, `hosts: files dns`) uses those addresses and never asks DNS. That is fine when intended; a stale entry sends every pull to an old address, which shows up later as a connect timeout or a certificate error.",
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": dial tcp 10.0.0.9:443: i/o timeout',
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": tls: failed to verify certificate: x509: certificate is valid for old.example.com, not registry.example.com',
    ],
    causes: ["A deliberate pin (air-gapped mirror, testing)", "A stale entry left after the registry moved"],
    howKnown: "The doctor reads the hosts file as Go does and shows the matching lines; it also asks DNS for comparison.",
    detail: (p) => `${p.host} is pinned by ${p.hostsPath} (${p.lines.join(" | ")}); DNS says: ${p.dns}`,
    fixes: (p) => [
      `If the pin is stale, remove the line: \`sudo sed -i '/\\s${p.host.replace(/\./g, "\\.")}\\(\\s\\|$\\)/d' ${p.hostsPath}\``,
      `Compare: \`getent hosts ${p.host}\` and \`dig ${p.host}\``,
    ],
    genericFixes: ["Remove or update the stale /etc/hosts line"],
  }),
} satisfies CatalogueSection;
