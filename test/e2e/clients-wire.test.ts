import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { type ContainerdPeer, startContainerd } from "../peers/containerd";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * The wire as each client walks it, through the compiled binary, compared with the real client
 * (ctr against a containerd of our own, skopeo) on the same server and the same files: no /v2/
 * ping and the 401 retried with credentials, hosts.toml fallback with MIRROR_FALLBACK, the most
 * advanced error when every host fails, registries.conf mirrors.
 */
const PW = "wire-Basic-pw-7";
let reg: RegistryPeer;
let tlsReg: RegistryPeer;
let ca: CA;
let empty: RegistryPeer;
let nginx: NginxPeer;
let ctd: ContainerdPeer;
let guarded = "";
let noPing = "";
let closed = "";
const t = tempDir("pd-clients-wire-");

beforeAll(async () => {
  ca = makeCA("pd-wire-ca");
  const leaf = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1"] });
  [reg, empty, tlsReg] = await Promise.all([
    startRegistry(),
    startRegistry(),
    startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } }),
  ]);
  await pushImage(tlsReg.url, "team/app", "1.0", buildImage({ label: "wire-tls" }));
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "wire" }));
  const [port, deadPort, noPingPort] = await freePorts(3);
  // /v2/ open, the repository paths behind Basic: the registry of issue 11's first example.
  nginx = await startNginx({
    httpBlock: `
  server {
    listen 127.0.0.1:${port};
    location = /v2/ { proxy_pass ${reg.url}; }
    location /v2/ {
      auth_basic "team";
      auth_basic_user_file htpasswd;
      proxy_pass ${reg.url};
    }
  }
  server {
    listen 127.0.0.1:${noPingPort};
    location = /v2/ { return 404; }
    location /v2/ { proxy_pass ${reg.url}; }
  }`,
  });
  noPing = `127.0.0.1:${noPingPort}`;
  writeFileSync(path.join(nginx.dir, "htpasswd"), `alice:{PLAIN}${PW}\n`);
  guarded = `127.0.0.1:${port}`;
  closed = `127.0.0.1:${deadPort}`;
  ctd = await startContainerd();
}, 60_000);
afterAll(async () => {
  await ctd?.stop();
  await Promise.all([nginx?.stop(), reg?.stop(), empty?.stop(), tlsReg?.stop()]);
  ca?.cleanup();
  t.cleanup();
});

/** DIR/<host>/hosts.toml for the image's registry host. */
function hostsTree(name: string, host: string, toml: string): string {
  const root = path.join(t.dir, name);
  mkdirSync(path.join(root, host), { recursive: true });
  writeFileSync(path.join(root, host, "hosts.toml"), toml);
  return root;
}

async function doctor(image: string, args: string[], stdin?: string) {
  const home = path.join(t.dir, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(home, { recursive: true });
  const r = await runCli(["check", image, "--json", "--timeout", "5", "--daemon-config", "/nonexistent/daemon.json", ...args], {
    home,
    ...(stdin !== undefined ? { stdin } : {}),
  });
  const report = JSON.parse(r.stdout);
  type F = { code: string; severity: string; endpoint: string | null; detail: string; fixes: string[]; evidence: Record<string, unknown> };
  const findings = report.findings as F[];
  return { r, report, findings, errors: findings.filter((f) => f.severity === "error").map((f) => f.code) };
}

describe("containerd: no /v2/ ping, a 401 on the manifest retried with credentials", () => {
  test("ctr --user pulls from a registry whose /v2/ is open and whose repository asks Basic; the doctor as containerd says it pulls", async () => {
    const image = `${guarded}/team/app:1.0`;
    const dir = hostsTree("guarded", guarded, `server = "http://${guarded}"\n`);
    const ctr = await ctd.ctr(["content", "fetch", "--user", `alice:${PW}`, "--hosts-dir", dir, image]);
    expect(ctr.code).toBe(0);
    const d = await doctor(image, ["--client", "containerd", "--hosts-dir", dir, "--username", "alice", "--password-stdin"], PW);
    expect(d.errors).toEqual([]);
    expect(d.report.verdict.ok).toBe(true);
    expect(d.r.code).toBe(0);
    // The v2 stage says containerd never asks /v2/; the auth stage retried the manifest's 401 with Basic.
    const v2 = d.report.stages.find((s: { id: string }) => s.id === "v2");
    expect(v2.summary).toContain("containerd (ctr, nerdctl) sends no /v2/ ping");
    const auth = d.report.stages.find((s: { id: string }) => s.id === "auth");
    expect(auth.evidence.retry).toMatchObject({ authorizationScheme: "basic", status: 200 });
    expect(JSON.stringify(d.report)).not.toContain(PW);
  }, 60_000);

  test("the same registry judged as classic Docker: AUTH_NOT_SENT, an error (it learns challenges only from the ping)", async () => {
    const image = `${guarded}/team/app:1.0`;
    const d = await doctor(image, ["--client", "docker", "--docker-store", "classic", "--username", "alice", "--password-stdin"], PW);
    expect(d.errors).toEqual(["AUTH_NOT_SENT"]);
    expect(d.r.code).toBe(1);
  }, 60_000);

  test("without credentials ctr fails, and so does the doctor as containerd", async () => {
    const image = `${guarded}/team/app:1.0`;
    const dir = hostsTree("guarded-anon", guarded, `server = "http://${guarded}"\n`);
    const ctr = await ctd.ctr(["content", "fetch", "--hosts-dir", dir, image]);
    expect(ctr.code).not.toBe(0);
    expect(ctr.out).toMatch(/401 Unauthorized|no basic auth credentials/);
    const d = await doctor(image, ["--client", "containerd", "--hosts-dir", dir]);
    expect(d.errors).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    // The fix is written for containerd: the caller's credentials, not docker login.
    const f = d.findings.find((x) => x.code === "AUTH_CREDENTIALS_REQUIRED")!;
    expect(f.fixes[0]).toContain(`ctr images pull --user USER ${guarded}/team/app:TAG`);
    expect(f.fixes.join("\n")).not.toContain("docker login");
  }, 60_000);
});

describe("containerd never pings /v2/", () => {
  test("a proxy that answers /v2/ with 404 but routes the repository: ctr pulls, the doctor as containerd passes; classic Docker and skopeo fail on the ping", async () => {
    const image = `${noPing}/team/app:1.0`;
    const dir = hostsTree("no-ping", noPing, `server = "http://${noPing}"\n`);
    const ctr = await ctd.ctr(["content", "fetch", "--hosts-dir", dir, image]);
    expect(ctr.code).toBe(0);
    const d = await doctor(image, ["--client", "containerd", "--hosts-dir", dir]);
    expect(d.errors).toEqual([]);
    expect(d.r.code).toBe(0);
    const v2 = d.findings.find((f) => f.code === "V2_NOT_A_REGISTRY")!;
    expect(v2.severity).toBe("info");
    expect(v2.detail).toContain("containerd (ctr, nerdctl) never requests /v2/");
    const docker = await doctor(image, ["--client", "docker", "--docker-store", "classic"]);
    expect(docker.errors).toEqual(["V2_NOT_A_REGISTRY"]);
    const conf = path.join(t.dir, "no-ping.conf");
    writeFileSync(conf, `[[registry]]\nlocation = "${noPing}"\ninsecure = true\n`);
    const skopeo = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", conf, "inspect", `docker://${image}`]);
    expect(skopeo.exitCode).not.toBe(0);
    expect(skopeo.stderr.toString()).toMatch(/pinging container registry|invalid status code from registry 404/);
    const podman = await doctor(image, ["--client", "podman", "--registries-conf", conf]);
    expect(podman.errors).toEqual(["V2_NOT_A_REGISTRY"]);
  }, 60_000);
});

describe("containerd: hosts.toml hosts in file order, then server", () => {
  test("a broken first mirror then the working server: ctr pulls; the doctor warns MIRROR_FALLBACK and names the host that answered", async () => {
    const image = `${reg.host}/team/app:1.0`;
    const dir = hostsTree(
      "fallback",
      reg.host,
      `server = "http://${reg.host}"\n\n[host."http://${closed}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const ctr = await ctd.ctr(["content", "fetch", "--hosts-dir", dir, image]);
    expect(ctr.code).toBe(0);
    const d = await doctor(image, ["--client", "containerd", "--hosts-dir", dir]);
    expect(d.errors).toEqual([]);
    expect(d.r.code).toBe(0);
    const f = d.findings.find((x) => x.code === "MIRROR_FALLBACK")!;
    expect(f.severity).toBe("warning");
    expect(f.endpoint).toBe(`http://${closed}`);
    expect(f.detail).toContain(`containerd (ctr, nerdctl) tried http://${closed}/v2`);
    expect(f.detail).toContain("CONNECT_REFUSED");
    expect(f.detail).toContain(`The host that finally answered: http://${reg.host}/v2.`);
    expect(f.detail).toContain("trying next host");
    expect(f.fixes[0]).toContain(path.join(dir, reg.host, "hosts.toml"));
    expect(d.report.verdict.endpoint).toBe(`http://${reg.host}`);
  }, 60_000);

  test("a pull-only mirror never sees the tag: the plan skips it, as containerd's resolver does", async () => {
    const image = `${reg.host}/team/app:1.0`;
    const dir = hostsTree("pull-only", reg.host, `server = "http://${reg.host}"\n\n[host."http://${closed}"]\n  capabilities = ["pull"]\n`);
    const ctr = await ctd.ctr(["content", "fetch", "--hosts-dir", dir, image]);
    expect(ctr.code).toBe(0);
    const d = await doctor(image, ["--client", "containerd", "--hosts-dir", dir]);
    expect(d.r.code).toBe(0);
    const endpoints = new Set(d.report.stages.map((s: { endpoint: string | null }) => s.endpoint).filter(Boolean));
    expect([...endpoints]).toEqual([`http://${reg.host}`]);
    expect(d.findings.map((x) => x.code)).not.toContain("MIRROR_FALLBACK");
  }, 60_000);

  test("every host fails: the doctor reports containerd 2.0+'s most advanced error (the mirror's not found), and what ctr 1.x prints (refused)", async () => {
    // The first host answers 404 (a registry without the image); the server refuses connections.
    const image = `${closed}/team/app:1.0`;
    const dir = hostsTree(
      "all-broken",
      closed,
      `server = "http://${closed}"\n\n[host."http://${empty.host}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const ctr = await ctd.ctr(["content", "fetch", "--hosts-dir", dir, image]);
    expect(ctr.code).not.toBe(0);
    // Debian's containerd is 1.6: it prints the first error that is not a 404 (the ranking came in 2.0, containerd#8861).
    expect(ctr.out).toContain("trying next host - response was http.StatusNotFound");
    expect(ctr.out).toContain(
      `ctr: failed to resolve reference "${image}": failed to do request: Head "http://${closed}/v2/team/app/manifests/1.0": dial tcp ${closed}: connect: connection refused`,
    );
    const d = await doctor(image, ["--client", "containerd", "--hosts-dir", dir]);
    expect(d.r.code).toBe(1);
    expect(["NAME_UNKNOWN", "MANIFEST_UNKNOWN"]).toContain(d.report.verdict.code);
    expect(d.report.verdict.summary).toContain("it reports the most advanced error of its hosts, not the last one");
    expect(d.report.verdict.summary).toContain(`http://${closed} (CONNECT_REFUSED)`);
    expect(d.report.verdict.summary).toContain(
      `containerd 1.x prints the first error that is not a 404 instead: CONNECT_REFUSED from http://${closed}`,
    );
    expect(d.findings.find((x) => x.code === "MIRROR_FALLBACK")!.detail).toContain("No later host answered either.");
  }, 60_000);
});

describe("podman/skopeo: registries.conf mirrors", () => {
  test("a broken [[registry.mirror]] then the location: skopeo reads the image; the doctor as podman warns MIRROR_FALLBACK", async () => {
    const image = `${reg.host}/team/app:1.0`;
    const conf = path.join(t.dir, "mirrors.conf");
    writeFileSync(
      conf,
      `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n\n[[registry.mirror]]\nlocation = "${closed}"\ninsecure = true\n`,
    );
    const skopeo = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", conf, "inspect", `docker://${image}`]);
    expect(skopeo.exitCode).toBe(0);
    const d = await doctor(image, ["--client", "podman", "--registries-conf", conf]);
    expect(d.errors).toEqual([]);
    const f = d.findings.find((x) => x.code === "MIRROR_FALLBACK")!;
    expect(f.endpoint).toBe(`https://${closed}`);
    expect(f.fixes[0]).toContain(conf);
    expect(d.r.code).toBe(0);
  }, 60_000);
});

describe("kubelet's pull secret on the wire, and --client all", () => {
  test("kubelet: the matching pull secret's credentials answer the repository's 401 (containerd CRI retries it), as ctr --user does", async () => {
    const image = `${guarded}/team/app:1.0`;
    const dir = hostsTree("guarded-kubelet", guarded, `server = "http://${guarded}"\n`);
    const secret = path.join(t.dir, "secret.json");
    writeFileSync(secret, JSON.stringify({ auths: { [guarded]: { auth: Buffer.from(`alice:${PW}`).toString("base64") } } }));
    const d = await doctor(image, [
      "--client",
      "kubelet",
      "--pull-secret",
      secret,
      "--containerd-config",
      "/nonexistent/config.toml",
      "--hosts-dir",
      dir,
    ]);
    expect(d.errors).toEqual([]);
    expect(d.r.code).toBe(0);
    const auth = d.report.stages.find((s: { id: string }) => s.id === "auth");
    expect(auth.evidence.credential.source).toBe(`${secret} auths[${guarded}]`);
    expect(auth.evidence.retry).toMatchObject({ authorizationScheme: "basic", status: 200 });
    expect(JSON.stringify(d.report)).not.toContain(PW);
    expect(JSON.stringify(d.report)).not.toContain(Buffer.from(`alice:${PW}`).toString("base64"));
  }, 60_000);

  test("--client all on that registry: the clients that learn challenges from the ping fail on AUTH_NOT_SENT, the others pull", async () => {
    const image = `${guarded}/team/app:1.0`;
    const conf = path.join(t.dir, "all.conf");
    // insecure = true: podman would refuse the plain-HTTP registry otherwise (TLS_HTTP_ONLY, as skopeo does).
    writeFileSync(conf, `unqualified-search-registries = ["docker.io"]\n\n[[registry]]\nlocation = "${guarded}"\ninsecure = true\n`);
    const flags = [
      "--client",
      "all",
      "--registries-conf",
      conf,
      "--containerd-config",
      "/nonexistent/config.toml",
      "--username",
      "alice",
      "--password-stdin",
    ];
    const d = await doctor(image, flags, PW);
    const by = Object.fromEntries(
      d.report.clients.map((c: { name: string; store: string | null; verdict: { code: string | null } }) => [
        `${c.name}/${c.store}`,
        c.verdict.code,
      ]),
    );
    expect(by).toEqual({
      "docker/classic": "AUTH_NOT_SENT",
      "docker/containerd": null,
      "containerd/null": null,
      "kubelet/null": null,
      "podman/null": "AUTH_NOT_SENT",
    });
    // Each client walked its own plan: the containerd family retried the 401 and checked the manifest.
    const ok = d.report.clients.find((c: { name: string }) => c.name === "containerd");
    expect(ok.verdict.summary).toContain("should succeed");
    // Two clients fail, so the report has their error and exits 1: the findings and the exit agree.
    expect(d.r.code).toBe(1);
    expect(d.report.verdict.ok).toBe(false);
    const notSent = d.findings.find((f) => f.code === "AUTH_NOT_SENT" && f.severity === "error")!;
    expect(notSent.detail).toMatch(/^\[docker \(classic store\)/);
    const home = path.join(t.dir, "all-plain");
    mkdirSync(home, { recursive: true });
    const plain = await runCli(["check", image, "--daemon-config", "/nonexistent/daemon.json", ...flags], { home, stdin: PW });
    expect(plain.stdout).toMatch(/docker \(classic store\)\s+fails: AUTH_NOT_SENT/);
    expect(plain.stdout).toMatch(/containerd\s+should succeed/);
  }, 60_000);
});

describe("plain HTTP, as each client allows it", () => {
  test("podman without insecure = true: skopeo refuses the plain-HTTP registry on 127.0.0.1, so does the doctor (Docker's loopback rule is not podman's)", async () => {
    const image = `${reg.host}/team/app:1.0`;
    const conf = path.join(t.dir, "secure.conf");
    writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\n`);
    const skopeo = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", conf, "inspect", `docker://${image}`]);
    expect(skopeo.exitCode).not.toBe(0);
    expect(skopeo.stderr.toString()).toContain("server gave HTTP response to HTTPS client");
    const d = await doctor(image, ["--client", "podman", "--registries-conf", conf]);
    expect(d.errors).toEqual(["TLS_HTTP_ONLY"]);
    // The fix is written for podman: registries.conf, not daemon.json.
    expect(d.findings.find((f) => f.code === "TLS_HTTP_ONLY")!.fixes[0]).toContain(`[[registry]] location = "${reg.host}" insecure = true`);
    // The same registry as classic Docker: 127.0.0.0/8 is insecure by default, plain HTTP is used.
    const docker = await doctor(image, ["--client", "docker", "--docker-store", "classic"]);
    expect(docker.errors).toEqual([]);
  }, 60_000);

  test("containerd: localhost with a port tries https then http; --plain-http is ctr's flag, accepted for --client containerd only", async () => {
    const image = `${reg.host}/team/app:1.0`;
    const ctr = await ctd.ctr(["content", "fetch", "--plain-http", image]);
    expect(ctr.code).toBe(0);
    const d = await doctor(image, ["--client", "containerd", "--plain-http", "--hosts-dir", path.join(t.dir, "no-hosts")]);
    expect(d.errors).toEqual([]);
    expect(d.report.verdict.endpoint).toBe(`http://${reg.host}`);
    const home = path.join(t.dir, "plain-misuse");
    mkdirSync(home, { recursive: true });
    const misuse = await runCli(["check", image, "--client", "podman", "--plain-http"], { home });
    expect(misuse.code).toBe(2);
    expect(misuse.stderr).toContain("--plain-http is ctr's (--client containerd), not --client podman");
  }, 60_000);
});

describe("TLS material from hosts.toml", () => {
  test("hosts.toml ca: ctr verifies the registry with it and pulls; without it, ctr and the doctor as containerd say unknown authority", async () => {
    const image = `${tlsReg.host}/team/app:1.0`;
    const toml = (withCa: boolean) =>
      `server = "https://${tlsReg.host}"\n\n[host."https://${tlsReg.host}"]\n  capabilities = ["pull", "resolve"]\n${withCa ? '  ca = "ca.crt"\n' : ""}`;
    const good = hostsTree("tls-ca", tlsReg.host, toml(true));
    writeFileSync(path.join(good, tlsReg.host, "ca.crt"), ca.cert);
    expect((await ctd.ctr(["content", "fetch", "--hosts-dir", good, image])).code).toBe(0);
    const d = await doctor(image, ["--client", "containerd", "--hosts-dir", good]);
    expect(d.errors).toEqual([]);
    expect(d.r.code).toBe(0);
    const bad = hostsTree("tls-no-ca", tlsReg.host, toml(false));
    const ctr = await ctd.ctr(["content", "fetch", "--hosts-dir", bad, image]);
    expect(ctr.code).not.toBe(0);
    expect(ctr.out).toContain("x509: certificate signed by unknown authority");
    const n = await doctor(image, ["--client", "containerd", "--hosts-dir", bad]);
    expect(n.report.verdict.code).toBe("TLS_UNKNOWN_CA");
    expect(n.r.code).toBe(1);
  }, 60_000);
});

describe("Docker's containerd store: credentials for the login host only", () => {
  test("a docker.io mirror that asks Basic is asked anonymously (moby's authorizer), so the mirror refuses; the evidence says why", async () => {
    const d = await doctor(
      "docker.io/team/app:1.0",
      [
        "--client",
        "docker",
        "--docker-store",
        "containerd",
        "--mirror",
        `http://${guarded}`,
        "--dns",
        "127.0.0.1:9",
        "--username",
        "alice",
        "--password-stdin",
      ],
      PW,
    );
    const auth = d.report.stages.find((s: { id: string; endpoint: string }) => s.id === "auth" && s.endpoint === `http://${guarded}`);
    expect(auth.evidence.credential).toBeNull();
    expect(auth.evidence.credentialRouting.withheld).toContain(`never to a mirror: ${guarded} is asked anonymously`);
    const atMirror = d.findings.filter((f) => f.endpoint === `http://${guarded}`).map((f) => f.code);
    expect(atMirror).toContain("AUTH_CREDENTIALS_REQUIRED");
    expect(atMirror).toContain("MIRROR_FALLBACK");
    // Every host failed: the mirror's refusal (an HTTP status) outranks the upstream's DNS failure.
    expect(d.report.verdict.code).toBe("AUTH_CREDENTIALS_REQUIRED");
  }, 60_000);
});
