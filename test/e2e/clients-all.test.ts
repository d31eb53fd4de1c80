import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type ContainerdPeer, startContainerd } from "../peers/containerd";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * --client all when the clients' plans differ (SPEC "Clients": the wire is walked once and judged
 * for every client): containerd's family walks its hosts.toml, podman its registries.conf mirror,
 * classic Docker the registry; an endpoint several clients try the same way is probed once; each
 * client's line comes from its own walk, compared with ctr and skopeo on the same files; the exit
 * status is 1 exactly when a client fails, with that client's error among the findings.
 */
let reg: RegistryPeer;
let authReg: RegistryPeer;
let nginx: NginxPeer;
let ctd: ContainerdPeer;
let front = "";
let closed = "";
let closed2 = "";
const t = tempDir("pd-clients-all-");
const accessLog = path.join(t.dir, "access.log");

const PW = "all-clients-Pw+9";
const b64 = (s: string) => Buffer.from(s).toString("base64");

beforeAll(async () => {
  [reg, authReg] = await Promise.all([startRegistry(), startRegistry({ htpasswd: { alice: PW } })]);
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "all-clients" }));
  await pushImage(authReg.url, "team/app", "1.0", buildImage({ label: "all-clients-auth" }), {
    authorization: `Basic ${b64(`alice:${PW}`)}`,
  });
  const [port, deadPort, deadPort2] = await freePorts(3);
  // A plain proxy in front of the registry whose access log counts the requests each walk made.
  nginx = await startNginx({
    httpBlock: `
  server {
    listen 127.0.0.1:${port};
    access_log ${accessLog};
    location /v2/ { proxy_pass ${reg.url}; }
  }`,
  });
  front = `127.0.0.1:${port}`;
  closed = `127.0.0.1:${deadPort}`;
  closed2 = `127.0.0.1:${deadPort2}`;
  ctd = await startContainerd();
}, 60_000);
afterAll(async () => {
  await ctd?.stop();
  await Promise.all([nginx?.stop(), reg?.stop(), authReg?.stop()]);
  t.cleanup();
});

function hostsTree(name: string, toml: string): string {
  const root = path.join(t.dir, name);
  mkdirSync(path.join(root, front), { recursive: true });
  writeFileSync(path.join(root, front, "hosts.toml"), toml);
  return root;
}

function registriesConf(name: string, mirror: string): string {
  const conf = path.join(t.dir, name);
  writeFileSync(
    conf,
    `[[registry]]\nlocation = "${front}"\ninsecure = true\n\n[[registry.mirror]]\nlocation = "${mirror}"\ninsecure = true\n`,
  );
  return conf;
}

type Client = { name: string; store: string | null; verdict: { ok: boolean; code: string | null; summary: string }; endpoints: string[] };
type F = { code: string; severity: string; endpoint: string | null; detail: string };

async function doctorAll(
  hostsDir: string,
  conf: string,
  json = true,
  more: { image?: string; args?: string[]; env?: Record<string, string> } = {},
) {
  const home = path.join(t.dir, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(path.join(home, "run"), { recursive: true });
  const flags = ["--client", "all", "--hosts-dir", hostsDir, "--registries-conf", conf, "--containerd-config", "/nonexistent/config.toml"];
  const image = more.image ?? `${front}/team/app:1.0`;
  const asJson = json ? ["--json"] : [];
  const r = await runCli(
    ["check", image, ...asJson, "--timeout", "5", "--daemon-config", "/nonexistent/daemon.json", ...flags, ...(more.args ?? [])],
    { home, env: { XDG_RUNTIME_DIR: path.join(home, "run"), ...more.env } },
  );
  if (!json) return { r, report: null, by: {} as Record<string, Client>, findings: [] as F[] };
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  const by = Object.fromEntries((report.clients as Client[]).map((c) => [`${c.name}/${c.store}`, c]));
  return { r, report, by, findings: report.findings as F[] };
}

const pings = () =>
  readFileSync(accessLog, "utf8")
    .split("\n")
    .filter((l) => l.includes('"GET /v2/ HTTP')).length;

describe("--client all: each client walks its own plan", () => {
  test("a hosts.toml mirror (containerd's family) and a registries.conf mirror (podman), both down: ctr and skopeo pull through to the registry, every client's line says so, shared probes are made once", async () => {
    const dir = hostsTree("fallback", `server = "http://${front}"\n\n[host."http://${closed}"]\n  capabilities = ["pull", "resolve"]\n`);
    const conf = registriesConf("mirror.conf", closed);
    expect((await ctd.ctr(["content", "fetch", "--hosts-dir", dir, `${front}/team/app:1.0`])).code).toBe(0);
    const skopeo = Bun.spawnSync([
      requireBinary("skopeo", "skopeo"),
      "--registries-conf",
      conf,
      "inspect",
      `docker://${front}/team/app:1.0`,
    ]);
    expect(skopeo.exitCode).toBe(0);

    writeFileSync(accessLog, "");
    const d = await doctorAll(dir, conf);
    expect(d.r.code).toBe(0);
    expect(d.report.verdict.ok).toBe(true);
    for (const c of Object.values(d.by)) expect(c.verdict).toMatchObject({ ok: true, code: null });
    // Each client's own plan, in its order.
    expect(d.by["docker/classic"]!.endpoints).toEqual([`https://${front}`]);
    expect(d.by["containerd/null"]!.endpoints).toEqual([`http://${closed}`, `http://${front}`]);
    expect(d.by["kubelet/null"]!.endpoints).toEqual([`http://${closed}`, `http://${front}`]);
    expect(d.by["podman/null"]!.endpoints).toEqual([`https://${closed}`, `https://${front}`]);
    // One MIRROR_FALLBACK per mirror, naming the clients that left it.
    const fallbacks = d.findings.filter((f) => f.code === "MIRROR_FALLBACK");
    expect(fallbacks.map((f) => f.endpoint).sort()).toEqual([`http://${closed}`, `https://${closed}`]);
    const ctdFallback = fallbacks.find((f) => f.endpoint === `http://${closed}`)!;
    expect(ctdFallback.detail).toMatch(/^\[docker \(containerd store\), containerd \(ctr, nerdctl\), kubelet/);
    expect(fallbacks.find((f) => f.endpoint === `https://${closed}`)!.detail).toMatch(/^\[podman/);
    // The report shows every distinct endpoint walked, the mirrors only other clients tried included.
    const walked = new Set(d.report.stages.map((s: { endpoint: string | null }) => s.endpoint).filter(Boolean));
    expect([...walked].sort()).toEqual([`http://${closed}`, `http://${front}`, `https://${closed}`, `https://${front}`].sort());
    // Five clients reach the registry; the /v2/ ping is made once per distinct link (scheme, base URL,
    // TLS settings), not once per client.
    expect(pings()).toBe(3);
  }, 90_000);

  test("a hosts.toml whose only server is down: ctr fails, skopeo pulls; the containerd family's lines fail, the others' succeed, and the exit is 1 with their error in the findings", async () => {
    // A [host] table too: containerd 1.6 drops a hosts.toml without one ("invalid `host` tree").
    const dir = hostsTree(
      "dead-server",
      `server = "http://${closed}"\n\n[host."http://${closed2}"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const conf = registriesConf("ok.conf", front);
    expect((await ctd.ctr(["content", "fetch", "--hosts-dir", dir, `${front}/team/app:1.0`])).code).not.toBe(0);
    const skopeo = Bun.spawnSync([
      requireBinary("skopeo", "skopeo"),
      "--registries-conf",
      conf,
      "inspect",
      `docker://${front}/team/app:1.0`,
    ]);
    expect(skopeo.exitCode).toBe(0);

    const d = await doctorAll(dir, conf);
    expect(d.by["docker/classic"]!.verdict.ok).toBe(true);
    expect(d.by["podman/null"]!.verdict.ok).toBe(true);
    for (const k of ["docker/containerd", "containerd/null", "kubelet/null"]) {
      expect(d.by[k]!.verdict).toMatchObject({ ok: false, code: "CONNECT_REFUSED" });
      expect(d.by[k]!.endpoints).toEqual([`http://${closed2}`, `http://${closed}`]);
    }
    expect(d.r.code).toBe(1);
    expect(d.report.verdict).toMatchObject({ ok: false, code: "CONNECT_REFUSED" });
    expect(d.report.verdict.summary).toMatch(/^docker \(containerd store\): .*also failing: containerd \(ctr, nerdctl\), kubelet/);
    const refused = d.findings.find((f) => f.code === "CONNECT_REFUSED" && f.severity === "error")!;
    expect(refused.endpoint).toBe(`http://${closed2}`);
    expect(refused.detail).not.toContain("docker (classic store)");

    const plain = await doctorAll(dir, conf, false);
    expect(plain.r.code).toBe(1);
    expect(plain.r.stdout).toMatch(/docker \(classic store\)\s+should succeed/);
    expect(plain.r.stdout).toMatch(/containerd\s+fails: CONNECT_REFUSED/);
    expect(plain.r.stdout).toMatch(/podman\s+should succeed/);
  }, 90_000);

  test("each client walks with its own credentials: podman's auth.json and kubelet's pull secret pull, classic Docker and ctr (no stored credentials) are refused, as skopeo and ctr are", async () => {
    const image = `${authReg.host}/team/app:1.0`;
    const dir = path.join(t.dir, "creds");
    mkdirSync(path.join(dir, "hosts"), { recursive: true });
    const conf = path.join(dir, "registries.conf");
    writeFileSync(conf, `[[registry]]\nlocation = "${authReg.host}"\ninsecure = true\n`);
    const authFile = path.join(dir, "auth.json");
    const entry = { auths: { [authReg.host]: { auth: b64(`alice:${PW}`) } } };
    writeFileSync(authFile, JSON.stringify(entry));
    const secret = path.join(dir, "secret.json");
    writeFileSync(secret, JSON.stringify(entry));
    const skopeo = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", conf, "inspect", `docker://${image}`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, REGISTRY_AUTH_FILE: authFile },
    });
    expect(skopeo.exitCode).toBe(0);
    expect((await ctd.ctr(["content", "fetch", "--hosts-dir", path.join(dir, "hosts"), image])).code).not.toBe(0);

    const d = await doctorAll(path.join(dir, "hosts"), conf, true, {
      image,
      args: ["--pull-secret", secret],
      env: { REGISTRY_AUTH_FILE: authFile },
    });
    const ok = Object.fromEntries(Object.entries(d.by).map(([k, c]) => [k, c.verdict.ok]));
    expect(ok).toEqual({
      "docker/classic": false,
      "docker/containerd": false,
      "containerd/null": false,
      "kubelet/null": true,
      "podman/null": true,
    });
    expect(d.r.code).toBe(1);
    expect(JSON.stringify(d.report)).not.toContain(PW);
  }, 90_000);
  test("every client's credential lookup is reported: Docker's failing credential helper fails both Docker lines, podman's auth.json pulls, as skopeo does", async () => {
    const image = `${authReg.host}/team/app:1.0`;
    const dir = path.join(t.dir, "lookups");
    const bin = path.join(dir, "bin");
    for (const d of ["hosts", "bin", "docker", "run/containers", "config/containers"]) mkdirSync(path.join(dir, d), { recursive: true });
    const conf = path.join(dir, "registries.conf");
    writeFileSync(conf, `[[registry]]\nlocation = "${authReg.host}"\ninsecure = true\n`);
    // Docker's config.json sends this registry to a helper that fails (not "credentials not found").
    writeFileSync(path.join(dir, "docker", "config.json"), JSON.stringify({ credHelpers: { [authReg.host]: "pdallfail" } }));
    const helper = path.join(bin, "docker-credential-pdallfail");
    writeFileSync(helper, "#!/bin/sh\necho 'keychain locked' >&2\nexit 1\n");
    chmodSync(helper, 0o755);
    // podman: its auth.json has the credentials.
    const entry = { auths: { [authReg.host]: { auth: b64(`alice:${PW}`) } } };
    writeFileSync(path.join(dir, "config", "containers", "auth.json"), JSON.stringify(entry));
    const env = { XDG_RUNTIME_DIR: path.join(dir, "run"), XDG_CONFIG_HOME: path.join(dir, "config") };
    const skopeo = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", conf, "inspect", `docker://${image}`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, ...env },
    });
    expect(skopeo.exitCode).toBe(0);

    const d = await doctorAll(path.join(dir, "hosts"), conf, true, {
      image,
      args: ["--docker-config", path.join(dir, "docker")],
      env: { ...env, PATH: `${bin}:${process.env.PATH}` },
    });
    for (const k of ["docker/classic", "docker/containerd"])
      expect(d.by[k]!.verdict).toMatchObject({ ok: false, code: "CREDS_HELPER_FAILED" });
    expect(d.by["podman/null"]!.verdict).toMatchObject({ ok: true, code: null });
    // Docker's lookup once, naming both Docker clients (and no other: podman never runs that helper).
    const helperFailed = d.findings.filter((f) => f.code === "CREDS_HELPER_FAILED");
    expect(helperFailed).toHaveLength(1);
    expect(helperFailed[0]!.detail).toStartWith("[docker (classic store), docker (containerd store)] ");
    // Each client's own lookup in the config evidence and summary, not only the first client's.
    const config = d.report.stages.find((s: { id: string }) => s.id === "config");
    const lookups = Object.fromEntries(
      config.evidence.client.profiles.map((p: { name: string; store: string | null; credentials: { lookup: Record<string, unknown> } }) => [
        `${p.name}/${p.store}`,
        p.credentials.lookup,
      ]),
    );
    expect(lookups["docker/classic"]).toMatchObject({ found: null, problem: expect.stringMatching(/^CREDS_HELPER_FAILED: /) });
    expect(lookups["podman/null"]).toMatchObject({
      found: `auths[${authReg.host}] in ${path.join(dir, "config", "containers", "auth.json")}`,
      username: "alice",
    });
    expect(lookups["containerd/null"]).toMatchObject({ found: null, problem: null });
    expect(config.summary).toContain("docker (classic store), docker (containerd store): lookup fails (CREDS_HELPER_FAILED)");
    expect(config.summary).toContain(`podman (containers/image): auths[${authReg.host}]`);
    expect(d.r.code).toBe(1);
    expect(JSON.stringify(d.report)).not.toContain(PW);
  }, 90_000);
});
