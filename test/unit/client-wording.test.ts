import { describe, expect, test } from "bun:test";
import type { FixesFor } from "../../src/model/catalogue/client-words";
import { finding } from "../../src/model/finding";

/** Words only Docker's fixes may hold. */
const DOCKER_ONLY = [
  /docker login/,
  /docker logout/,
  /docker pull/,
  /daemon\.json/,
  /systemctl restart docker/,
  /\/etc\/docker\/certs\.d/,
  /restart dockerd/,
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

/** Each changed finding, built for one client: [code, finding, what the fixes must say for each client]. */
function build(f: FixesFor) {
  return [
    finding("RATE_LIMITED", { ...rate, fixesFor: f }),
    finding("RATE_LIMIT_LOW", {
      registry: "docker.io",
      limit: 100,
      remaining: 2,
      windowSeconds: 21600,
      source: null,
      authenticated: false,
      fixesFor: f,
    }),
    finding("PLATFORM_UNAVAILABLE", {
      image: "nginx:1.27",
      wanted: "linux/arm/v7",
      platforms: ["linux/amd64", "linux/arm64/v8"],
      indexDigest: "sha256:ab",
      fixesFor: f,
    }),
    finding("TLS_UNKNOWN_CA", { ...cert, missingIssuer: null, untrustedRoot: "CN=Private CA", certsDCas: 0, sent: 1, fixesFor: f }),
    finding("TLS_UNKNOWN_CA", {
      ...cert,
      certsPath: "",
      missingIssuer: "CN=Corp",
      untrustedRoot: null,
      certsDCas: 0,
      sent: 1,
      fixesFor: f,
    }),
    finding("AUTH_UNAUTHORIZED", { ...auth, where: "token server", status: 401, message: "bad password", fixesFor: f }),
    finding("AUTH_BASIC_OVER_HTTP", {
      ...auth,
      url: "http://registry.example.com:5000/v2/",
      sent: true,
      what: "the registry",
      fixesFor: f,
    }),
  ];
}

/** The file or command each client's fixes must name, per finding (same order as build). */
const EXPECT: Record<Exclude<FixesFor, "docker">, (RegExp | null)[]> = {
  "hosts.toml": [
    /nerdctl login docker\.io/,
    /nerdctl login docker\.io/,
    /ctr images pull --platform linux\/amd64 docker\.io\/library\/nginx:1\.27/,
    /\/etc\/containerd\/certs\.d\/registry\.example\.com:5443\/hosts\.toml: ca = /,
    /systemctl restart containerd/,
    /nerdctl login registry\.example\.com:5000/,
    null,
  ],
  kubernetes: [
    /imagePullSecrets/,
    /imagePullSecrets/,
    /nodeSelector: \{kubernetes\.io\/os: linux, kubernetes\.io\/arch: amd64\}/,
    /hosts\.toml: ca = .*on every node|on every node.*hosts\.toml: ca = /,
    /restart containerd \(on every node\)/,
    /kubectl create secret docker-registry regcred --docker-server=registry\.example\.com:5000/,
    null,
  ],
  "registries.conf": [
    /podman login docker\.io/,
    /podman login docker\.io/,
    /podman pull --platform linux\/amd64 nginx:1\.27/,
    /\/etc\/containers\/certs\.d\/registry\.example\.com:5443\/ca\.crt/,
    /update-ca-certificates\./,
    /podman login registry\.example\.com:5000/,
    null,
  ],
};

describe("fixes are written for the judged client", () => {
  test("Docker keeps Docker's words", () => {
    const [rl, low, plat, ca, hubCa, rej, basic] = build("docker");
    expect(rl!.fixes.join("\n")).toContain("docker login");
    expect(rl!.fixes.join("\n")).toContain("/etc/docker/daemon.json");
    expect(low!.fixes.join("\n")).toContain("docker login");
    expect(plat!.fixes[0]).toContain("docker pull --platform linux/amd64 nginx:1.27");
    expect(ca!.fixes.join("\n")).toContain("/etc/docker/certs.d/registry.example.com:5443/ca.crt");
    expect(ca!.detail).toContain("certs.d: /etc/docker/certs.d/registry.example.com:5443 has 0 CA file(s).");
    expect(hubCa!.fixes.join("\n")).toContain("systemctl restart docker");
    expect(rej!.fixes[0]).toContain("docker logout registry.example.com:5000");
    expect(basic!.detail).toContain("as Docker does");
    // Absent fixesFor is Docker too (the generated docs).
    expect(finding("RATE_LIMITED", rate).fixes).toEqual(rl!.fixes);
  });

  for (const client of ["hosts.toml", "kubernetes", "registries.conf"] as const)
    test(`${client}: no Docker-only command, and its own file or command`, () => {
      const built = build(client);
      built.forEach((f, i) => {
        const text = [f.detail, ...f.fixes].join("\n");
        for (const bad of DOCKER_ONLY) expect({ code: f.code, text }).not.toMatchObject({ text: expect.stringMatching(bad) });
        expect(text).not.toContain("as Docker does");
        const want = EXPECT[client][i];
        if (want) expect({ code: f.code, fixes: f.fixes.join("\n") }).toMatchObject({ fixes: expect.stringMatching(want) });
      });
      expect(built[6]!.detail).toMatch(/sent, as (containerd|kubelet|podman) does/);
    });

  test("a kubelet platform fix names the node's platform, not a pull command", () => {
    const [, , plat] = build("kubernetes");
    expect(plat!.fixes[0]).toStartWith("kubelet pulls only its node's platform");
  });
});
