import { describe, expect, test } from "bun:test";
import type { FixesFor } from "../../src/model/client-words";
import { finding } from "../../src/model/finding";

/** Words only Docker's findings may hold. */
const DOCKER_ONLY = [
  /docker login/,
  /docker logout/,
  /docker pull/,
  /daemon\.json/,
  /systemctl restart docker/,
  /\/etc\/docker\/certs\.d/,
  /dockerd/,
  /as Docker does/,
  /Docker re-reads/,
];

const auth = {
  registry: "registry.example.com:5000",
  host: "registry.example.com:5000",
  repository: "team/app",
  image: "registry.example.com:5000/team/app:1.0",
  user: "alice",
  credSource: "auths in auth.json",
};
const cert = {
  host: "registry.example.com:5443",
  target: "registry.example.com:5443",
  certsPath: "/etc/docker/certs.d/registry.example.com:5443",
  subject: "CN=reg",
  issuer: "CN=Private CA",
};
const rate = {
  registry: "docker.io",
  repository: "library/nginx",
  limit: 100,
  remaining: 0,
  windowSeconds: 21600,
  retryAfterSeconds: null,
  source: "203.0.113.9",
  authenticated: false,
  message: "toomanyrequests",
};
const dns = {
  host: "registry.corp.example",
  servers: ["10.0.0.2:53"],
  serversFrom: "/etc/resolv.conf",
  message: "lookup registry.corp.example on 10.0.0.2:53: no such host",
};

const tcp = { host: "registry.example.com:5000", target: "10.0.0.5:5000", others: "no other address to try", otherOk: false, port: 5000 };
const handshake = {
  host: "registry.example.com:5000",
  target: "10.0.0.5:5000",
  clientCert: null,
  certsPath: "/etc/docker/certs.d/registry.example.com:5000",
  timeoutMs: 3000,
};

/** Each changed finding, built for one client, by a name the expectations use. */
function build(f: FixesFor) {
  return {
    rateLimited: finding("RATE_LIMITED", { ...rate, fixesFor: f }),
    rateLow: finding("RATE_LIMIT_LOW", {
      registry: "docker.io",
      limit: 100,
      remaining: 2,
      windowSeconds: 21600,
      source: null,
      authenticated: false,
      fixesFor: f,
    }),
    platform: finding("PLATFORM_UNAVAILABLE", {
      image: "nginx:1.27",
      wanted: "linux/arm/v7",
      platforms: ["linux/amd64", "linux/arm64/v8"],
      indexDigest: "sha256:ab",
      fixesFor: f,
    }),
    unknownCa: finding("TLS_UNKNOWN_CA", {
      ...cert,
      missingIssuer: null,
      untrustedRoot: "CN=Private CA",
      certsDCas: 0,
      sent: 1,
      fixesFor: f,
    }),
    hubCa: finding("TLS_UNKNOWN_CA", {
      ...cert,
      certsPath: "",
      missingIssuer: "CN=Corp",
      untrustedRoot: null,
      certsDCas: 0,
      sent: 1,
      fixesFor: f,
    }),
    rejected: finding("AUTH_UNAUTHORIZED", { ...auth, where: "token server", status: 401, message: "bad password", fixesFor: f }),
    basicHttp: finding("AUTH_BASIC_OVER_HTTP", {
      ...auth,
      url: "http://registry.example.com:5000/v2/",
      sent: true,
      what: "the registry",
      fixesFor: f,
    }),
    notSent: finding("AUTH_NOT_SENT", {
      ...auth,
      user: null,
      credSource: null,
      url: "https://registry.example.com:5000/v2/team/app/manifests/1.0",
      scheme: "basic",
      client: "client",
      sendsOn401: f === "hosts.toml" || f === "kubernetes",
      retry: null,
      fixesFor: f,
    }),
    intercepted: finding("PROXY_TLS_INTERCEPTION", {
      host: "registry.example.com:443",
      proxy: "http://proxy.corp.example:3128",
      issuer: "CN=Zscaler Intermediate",
      subject: "CN=registry.example.com",
      fingerprint: "AB:CD",
      root: "CN=Zscaler Root CA",
      directIssuer: "CN=R11",
      directFingerprint: "12:34",
      trusted: "none",
      certsDir: "/etc/docker/certs.d/registry.example.com:443",
      fixesFor: f,
    }),
    connectTimeout: finding("CONNECT_TIMEOUT", { ...tcp, timeoutMs: 3000, fixesFor: f }),
    mirrorRefused: finding("CONNECT_REFUSED", { ...tcp, host: "mirror.example.com:5000", mirror: true, fixesFor: f }),
    mtls: finding("TLS_HANDSHAKE_FAILED", {
      ...handshake,
      reason: "remote error: tls: certificate required",
      alert: "certificate required",
      fixesFor: f,
    }),
    helloTimeout: finding("TLS_HANDSHAKE_FAILED", { ...handshake, reason: "TLS handshake timeout", alert: null, fixesFor: f }),
    nxdomain: finding("DNS_NXDOMAIN", { ...dns, names: ["registry.corp.example."], fixesFor: f }),
    dnsTimeout: finding("DNS_TIMEOUT", { ...dns, errors: ["i/o timeout"], timeoutMs: 2000, fixesFor: f }),
  };
}
type Built = ReturnType<typeof build>;

/** The file or command each client's detail and fixes must name. */
const EXPECT: Record<Exclude<FixesFor, "docker">, Record<keyof Built, RegExp>> = {
  "hosts.toml": {
    rateLimited: /nerdctl login docker\.io.*\n.*\/etc\/containerd\/certs\.d\/docker\.io\/hosts\.toml/,
    rateLow: /nerdctl login docker\.io/,
    platform: /ctr images pull --platform linux\/amd64 docker\.io\/library\/nginx:1\.27/,
    unknownCa: /\/etc\/containerd\/certs\.d\/registry\.example\.com:5443\/hosts\.toml: ca = /,
    hubCa: /systemctl restart containerd/,
    rejected: /nerdctl login registry\.example\.com:5000/,
    basicHttp: /sent, as containerd does/,
    connectTimeout: /HTTPS_PROXY in the containerd service's environment[\s\S]*restart containerd/,
    mirrorRefused:
      /Check the mirror URL, its \[host\."…"\] table in the registry's \/etc\/containerd\/certs\.d\/REGISTRY\/hosts\.toml: mirror\.example\.com:5000/,
    mtls: /\/etc\/containerd\/certs\.d\/registry\.example\.com:5000\/hosts\.toml: client = /,
    helloTimeout:
      /GODEBUG=tlsmlkem=0 in the containerd service's environment \(systemd drop-in \/etc\/systemd\/system\/containerd\.service\.d\/godebug\.conf\)/,
    intercepted:
      /containerd will fail[\s\S]*update-ca-certificates && sudo systemctl restart containerd[\s\S]*\/etc\/containerd\/certs\.d\/registry\.example\.com:443\/hosts\.toml: ca = /,
    notSent: /Log in first, for containerd: `nerdctl login registry\.example\.com:5000`/,
    nxdomain: /containerd resolves with Go's resolver/,
    dnsTimeout: /containerd re-reads it/,
  },
  kubernetes: {
    rateLimited: /imagePullSecrets.*\n.*on every node: \/etc\/containerd\/certs\.d\/docker\.io\/hosts\.toml/,
    rateLow: /imagePullSecrets/,
    platform: /^kubelet pulls only its node's platform.*nodeSelector: \{kubernetes\.io\/os: linux, kubernetes\.io\/arch: amd64\}/,
    unknownCa: /on every node: .*hosts\.toml: ca = /,
    hubCa: /restart containerd \(on every node\)/,
    rejected: /kubectl create secret docker-registry regcred --docker-server=registry\.example\.com:5000/,
    basicHttp: /sent, as kubelet does/,
    connectTimeout: /HTTPS_PROXY in the containerd service's environment[\s\S]*on every node/,
    mirrorRefused: /hosts\.toml on every node: mirror\.example\.com:5000/,
    mtls: /hosts\.toml on every node: client = /,
    helloTimeout: /GODEBUG=tlsmlkem=0 in the containerd service's environment[\s\S]*on every node/,
    intercepted: /kubelet will fail[\s\S]*\(every node\)[\s\S]*restart containerd \(on every node\)/,
    notSent: /Log in first, for kubelet: a pull secret/,
    nxdomain: /containerd on each node resolves .*the node's, not the cluster DNS/,
    dnsTimeout: /containerd on each node re-reads it/,
  },
  "registries.conf": {
    rateLimited: /podman login docker\.io.*\n.*\[\[registry\.mirror\]\] .*\/etc\/containers\/registries\.conf/,
    rateLow: /podman login docker\.io/,
    platform: /podman pull --platform linux\/amd64 nginx:1\.27/,
    unknownCa: /\/etc\/containers\/certs\.d\/registry\.example\.com:5443\/ca\.crt/,
    hubCa: /update-ca-certificates\./,
    rejected: /podman login registry\.example\.com:5000/,
    basicHttp: /sent, as podman does/,
    connectTimeout: /HTTPS_PROXY in the environment podman runs with/,
    mirrorRefused: /\[\[registry\.mirror\]\] location in \/etc\/containers\/registries\.conf: mirror\.example\.com:5000/,
    mtls: /\/etc\/containers\/certs\.d\/registry\.example\.com:5000\/: client\.cert and client\.key/,
    helloTimeout: /GODEBUG=tlsmlkem=0 in the environment podman runs with/,
    intercepted:
      /podman will fail[\s\S]*update-ca-certificates \(RHEL[\s\S]*\/etc\/containers\/certs\.d\/registry\.example\.com:443\/ca\.crt/,
    notSent: /Log in first, for podman: `podman login registry\.example\.com:5000`/,
    nxdomain: /podman resolves with Go's resolver/,
    dnsTimeout: /podman re-reads it/,
  },
};

const text = (f: { detail: string; fixes: string[] }) => [f.detail, ...f.fixes].join("\n");

describe("findings are worded for the judged client", () => {
  test("Docker (and no client given, as the generated docs) keeps Docker's words", () => {
    const d = build("docker");
    expect(d.rateLimited.fixes.join("\n")).toContain("docker login");
    expect(d.rateLimited.fixes.join("\n")).toContain("/etc/docker/daemon.json");
    expect(d.rateLow.fixes.join("\n")).toContain("docker login");
    expect(d.platform.fixes[0]).toContain("docker pull --platform linux/amd64 nginx:1.27");
    expect(d.unknownCa.fixes.join("\n")).toContain("/etc/docker/certs.d/registry.example.com:5443/ca.crt");
    expect(d.unknownCa.detail).toContain("certs.d: /etc/docker/certs.d/registry.example.com:5443 has 0 CA file(s).");
    expect(d.hubCa.fixes.join("\n")).toContain("systemctl restart docker");
    expect(d.rejected.fixes[0]).toContain("docker logout registry.example.com:5000");
    expect(d.basicHttp.detail).toContain("as Docker does");
    expect(d.connectTimeout.fixes.join("\n")).toContain('set HTTPS_PROXY for the Docker daemon (systemd drop-in or daemon.json "proxies")');
    expect(d.mirrorRefused.fixes.join("\n")).toContain('daemon.json "registry-mirrors"');
    expect(d.mtls.fixes[0]).toContain("Put the client pair Docker should present in /etc/docker/certs.d/registry.example.com:5000");
    expect(d.helloTimeout.fixes.join("\n")).toContain('Environment="GODEBUG=tlsmlkem=0" for dockerd');
    expect(d.intercepted.detail).toContain("Docker will fail");
    expect(d.intercepted.fixes.join("\n")).toContain("sudo systemctl restart docker");
    expect(d.intercepted.fixes[1]).toContain("sudo mkdir -p /etc/docker/certs.d/registry.example.com:443");
    expect(d.notSent.fixes.join("\n")).toContain("Log in first, whichever client pulls: `docker login registry.example.com:5000`");
    expect(d.nxdomain.fixes.join("\n")).toContain('daemon.json "dns"');
    expect(d.dnsTimeout.fixes.join("\n")).toContain("Docker re-reads it every 5 s");
    expect(finding("RATE_LIMITED", rate).fixes).toEqual(d.rateLimited.fixes);
    expect(finding("DNS_TIMEOUT", { ...dns, errors: ["i/o timeout"], timeoutMs: 2000 }).fixes).toEqual(d.dnsTimeout.fixes);
  });

  for (const client of ["hosts.toml", "kubernetes", "registries.conf"] as const)
    for (const [name, want] of Object.entries(EXPECT[client]) as [keyof Built, RegExp][])
      test(`${client}: ${name} has its own words and none of Docker's`, () => {
        const f = build(client)[name];
        const words = name === "platform" ? f.fixes[0]! : text(f);
        for (const bad of DOCKER_ONLY) expect(text(f)).not.toMatch(bad);
        expect(words).toMatch(want);
      });
});

test("CONNECT_REFUSED with another address working: the judged client moves on", () => {
  const p = { host: "r.example:5000", target: "[::1]:5000", others: "127.0.0.1:5000 connected", otherOk: true, port: 5000 };
  expect(finding("CONNECT_REFUSED", p).detail).toContain("so Docker may still connect");
  expect(finding("CONNECT_REFUSED", { ...p, fixesFor: "registries.conf" }).detail).toContain("so podman may still connect");
});

describe("PROXY_AUTH_REQUIRED names the Go process that sends the proxy credentials", () => {
  const base = {
    proxy: "http://proxy.corp.example:3128",
    variable: "HTTPS_PROXY",
    host: "registry.example.com:443",
    status: 407,
    scheme: "Basic",
    challenge: 'Basic realm="corp"',
    credentialsSent: false,
    username: null,
  };
  test.each([
    [undefined, "(Docker (Go) sends only Basic", "systemctl restart docker"],
    [{ unit: "containerd" }, "(containerd (Go) sends only Basic", "systemctl restart containerd"],
    ["shell" as const, "(podman (Go) sends only Basic", "in the environment podman runs with"],
  ])("owner %p", (owner, who, where) => {
    const f = finding("PROXY_AUTH_REQUIRED", { ...base, ...(owner ? { owner } : {}) });
    expect(f.fixes[0]).toContain(who);
    expect(f.fixes[1]).toContain(where);
    if (owner) expect(f.fixes.join("\n")).not.toMatch(/Docker|daemon\.json|restart docker/);
  });
});
