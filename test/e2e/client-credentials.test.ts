import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type ContainerdPeer, startContainerd } from "../peers/containerd";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * The credential the doctor uses is the judged client's: containers/image's auth.json search for
 * podman (compared with real skopeo on the same files and registry), kubelet's keyring tried in
 * order with a credential-provider plugin, ctr's caller-only credentials (compared with real ctr).
 * The registry is docker-registry with htpasswd (Basic challenge on /v2/).
 */
const RIGHT = "cc-right-Pw+1";
const WRONG = "cc-wrong-Pw+2";
let reg: RegistryPeer;
const t = tempDir("pd-client-creds-");
let image: string;
const b64 = (s: string) => Buffer.from(s).toString("base64");

beforeAll(async () => {
  requireBinaryBuilt();
  reg = await startRegistry({ htpasswd: { alice: RIGHT } });
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "client-creds" }), { authorization: `Basic ${b64(`alice:${RIGHT}`)}` });
  image = `${reg.host}/team/app:1.0`;
}, 60_000);
afterAll(async () => {
  await reg?.stop();
  t.cleanup();
});

let n = 0;
function file(name: string, content: unknown): string {
  const p = path.join(t.dir, `${++n}-${name}`);
  writeFileSync(p, typeof content === "string" ? content : JSON.stringify(content));
  return p;
}
const auths = (entries: Record<string, string>) => ({
  auths: Object.fromEntries(Object.entries(entries).map(([k, pw]) => [k, { auth: b64(`alice:${pw}`) }])),
});

/** skopeo's --tls-verify=false said podman's way: this plain-HTTP registry marked insecure in a registries.conf. */
const insecureConf = () => ["--registries-conf", file("registries.conf", `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`)];

async function doctor(args: string[], env: Record<string, string> = {}, stdin?: string) {
  const home = path.join(t.dir, `home-${++n}`);
  const runtime = path.join(home, "run");
  mkdirSync(runtime, { recursive: true });
  // skopeo runs with --tls-verify=false; podman's own way to say the same is insecure = true in registries.conf.
  const conf = args.includes("podman") ? insecureConf() : [];
  const r = await runCli(["check", image, "--json", "--daemon-config", "/nonexistent/daemon.json", ...conf, ...args], {
    home,
    env: { XDG_RUNTIME_DIR: runtime, ...env },
    ...(stdin !== undefined ? { stdin } : {}),
  });
  const report = JSON.parse(r.stdout);
  const stage = (id: string) => report.stages.find((s: { id: string }) => s.id === id);
  return {
    r,
    report,
    config: stage("config"),
    auth: stage("auth"),
    codes: report.findings.map((f: { code: string }) => f.code) as string[],
  };
}

/** skopeo inspect, with the same auth file given as --authfile or as REGISTRY_AUTH_FILE. */
function skopeo(authfile: string, how: "flag" | "env"): { ok: boolean; err: string } {
  const home = path.join(t.dir, `skopeo-home-${++n}`);
  mkdirSync(path.join(home, "run"), { recursive: true });
  const args = ["inspect", "--tls-verify=false", ...(how === "flag" ? ["--authfile", authfile] : []), `docker://${image}`];
  const p = Bun.spawnSync([requireBinary("skopeo", "skopeo"), ...args], {
    env: {
      PATH: process.env.PATH ?? "/usr/bin:/bin",
      HOME: home,
      XDG_RUNTIME_DIR: path.join(home, "run"),
      ...(how === "env" ? { REGISTRY_AUTH_FILE: authfile } : {}),
    },
  });
  return { ok: p.exitCode === 0, err: p.stderr.toString() };
}

describe("podman/skopeo: auth.json in containers/image's search order", () => {
  test.each(["flag", "env"] as const)(
    "the right credential (skopeo --authfile / REGISTRY_AUTH_FILE: %s): both pull",
    async (how) => {
      const a = file("auth.json", auths({ [reg.host]: RIGHT }));
      expect(skopeo(a, how)).toMatchObject({ ok: true });
      const d = await doctor(["--client", "podman", ...insecureConf()], { REGISTRY_AUTH_FILE: a });
      expect(d.config.evidence.credentials.found).toEqual({ file: a, key: reg.host, username: "alice" });
      // Plain http on loopback: only the AUTH_BASIC_OVER_HTTP warning, no refusal.
      expect(d.report.findings.filter((f: { severity: string }) => f.severity === "error")).toEqual([]);
      expect(d.r.code).toBe(0);
    },
    60_000,
  );

  test("credHelpers in auth.json: skopeo and the doctor run the same helper", async () => {
    const bin = path.join(t.dir, `helpers-${++n}`);
    mkdirSync(bin);
    writeFileSync(
      path.join(bin, "docker-credential-pdcc"),
      `#!/bin/sh\nread url\nprintf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}' "$url" '${RIGHT}'\n`,
    );
    chmodSync(path.join(bin, "docker-credential-pdcc"), 0o755);
    const a = file("auth.json", { auths: { [reg.host]: { auth: b64(`alice:${WRONG}`) } }, credHelpers: { [reg.host]: "pdcc" } });
    const PATH = `${bin}:${process.env.PATH}`;
    const p = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "inspect", "--tls-verify=false", "--authfile", a, `docker://${image}`], {
      env: { PATH, HOME: t.dir },
    });
    expect(p.exitCode).toBe(0);
    const d = await doctor(["--client", "podman", ...insecureConf()], { REGISTRY_AUTH_FILE: a, PATH });
    expect(d.config.evidence.credentials.found).toEqual({ file: a, key: `credHelpers[${reg.host}]`, username: "alice" });
    expect(d.r.code).toBe(0);
  }, 60_000);

  test("a wrong credential: skopeo is refused, the doctor says AUTH_UNAUTHORIZED", async () => {
    const a = file("auth.json", auths({ [reg.host]: WRONG }));
    const s = skopeo(a, "env");
    expect(s.ok).toBe(false);
    expect(s.err).toContain("unauthorized");
    const d = await doctor(["--client", "podman", ...insecureConf()], { REGISTRY_AUTH_FILE: a });
    expect(d.codes).toContain("AUTH_UNAUTHORIZED");
    expect(d.r.code).toBe(1);
  }, 60_000);

  test("a repository-scoped key wins over the registry's: both pull with it", async () => {
    const a = file("auth.json", auths({ [reg.host]: WRONG, [`${reg.host}/team/app`]: RIGHT }));
    expect(skopeo(a, "flag")).toMatchObject({ ok: true });
    const d = await doctor(["--client", "podman", ...insecureConf()], { REGISTRY_AUTH_FILE: a });
    expect(d.config.evidence.credentials.found.key).toBe(`${reg.host}/team/app`);
    expect(d.r.code).toBe(0);
  }, 60_000);

  test("a key for another repository does not match: skopeo and the doctor go anonymous and are refused", async () => {
    const a = file("auth.json", auths({ [`${reg.host}/team/other`]: RIGHT }));
    expect(skopeo(a, "flag").ok).toBe(false);
    const d = await doctor(["--client", "podman", ...insecureConf()], { REGISTRY_AUTH_FILE: a });
    expect(d.config.evidence.credentials.found).toBeNull();
    expect(d.codes).toContain("AUTH_CREDENTIALS_REQUIRED");
    expect(d.r.code).toBe(1);
  }, 60_000);

  test("REGISTRY_AUTH_FILE without a key for the image: skopeo and the doctor go on to ~/.docker/config.json", async () => {
    const home = path.join(t.dir, `fall-home-${++n}`);
    mkdirSync(path.join(home, ".docker"), { recursive: true });
    mkdirSync(path.join(home, "run"), { recursive: true });
    writeFileSync(path.join(home, ".docker", "config.json"), JSON.stringify(auths({ [reg.host]: RIGHT })));
    const a = file("auth.json", auths({ "elsewhere.example": WRONG }));
    const env = { REGISTRY_AUTH_FILE: a, XDG_RUNTIME_DIR: path.join(home, "run") };
    const p = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "inspect", "--tls-verify=false", `docker://${image}`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...env },
    });
    expect(p.exitCode).toBe(0);
    const r = await runCli(
      ["check", image, "--json", "--daemon-config", "/nonexistent/daemon.json", "--client", "podman", ...insecureConf()],
      { home, env },
    );
    const config = JSON.parse(r.stdout).stages.find((s: { id: string }) => s.id === "config");
    expect(config.evidence.credentials.found.file).toBe(path.join(home, ".docker", "config.json"));
    expect(r.code).toBe(0);
  }, 60_000);

  /** skopeo and the doctor with REGISTRY_AUTH_FILE = first (or --authfile) and ~/.docker/config.json = second. */
  async function firstThenDocker(first: { path: string; text?: string }, docker: string, how: "flag" | "env") {
    const home = path.join(t.dir, `order-home-${++n}`);
    mkdirSync(path.join(home, ".docker"), { recursive: true });
    mkdirSync(path.join(home, "run"), { recursive: true });
    writeFileSync(path.join(home, ".docker", "config.json"), docker);
    if (first.text !== undefined) writeFileSync(first.path, first.text);
    const args = ["inspect", "--tls-verify=false", ...(how === "flag" ? ["--authfile", first.path] : []), `docker://${image}`];
    const p = Bun.spawnSync([requireBinary("skopeo", "skopeo"), ...args], {
      env: {
        PATH: process.env.PATH ?? "/usr/bin:/bin",
        HOME: home,
        XDG_RUNTIME_DIR: path.join(home, "run"),
        ...(how === "env" ? { REGISTRY_AUTH_FILE: first.path } : {}),
      },
    });
    const r = await runCli(
      ["check", image, "--json", "--daemon-config", "/nonexistent/daemon.json", "--client", "podman", ...insecureConf()],
      { home, env: { REGISTRY_AUTH_FILE: first.path, XDG_RUNTIME_DIR: path.join(home, "run") } },
    );
    const report = JSON.parse(r.stdout);
    const invalid = report.findings.filter((f: { code: string }) => f.code === "CLIENT_CONFIG_INVALID");
    return {
      skopeo: { ok: p.exitCode === 0, err: p.stderr.toString() },
      r,
      report,
      invalid,
      dockerFile: path.join(home, ".docker", "config.json"),
    };
  }

  test.each(["env", "flag"] as const)(
    "a first auth file that does not parse ends the search (%s): skopeo fails with its error, the doctor says CLIENT_CONFIG_INVALID (error)",
    async (how) => {
      const broken = path.join(t.dir, `${++n}-broken.json`);
      const o = await firstThenDocker({ path: broken, text: '{"auths": {' }, JSON.stringify(auths({ [reg.host]: RIGHT })), how);
      expect(o.skopeo.ok).toBe(false);
      expect(o.skopeo.err).toContain("getting username and password");
      expect(o.skopeo.err).toContain(`reading JSON file \\"${broken}\\"`);
      expect(o.invalid).toHaveLength(1);
      expect(o.invalid[0]).toMatchObject({ severity: "error", evidence: { file: broken, fatal: true } });
      expect(o.invalid[0].detail).toContain("getting username and password");
      expect(o.invalid[0].detail).toContain("the auth files after this one are not read");
      const config = o.report.stages.find((s: { id: string }) => s.id === "config");
      expect(config.evidence.credentials.found).toBeNull();
      expect(config.evidence.credentials.searched.map((l: { file: string }) => l.file)).toEqual([broken]);
      expect(o.r.code).toBe(1);
    },
    60_000,
  );

  test("a missing first auth file is passed over: skopeo and the doctor pull with ~/.docker/config.json", async () => {
    const missing = path.join(t.dir, `${++n}-missing.json`);
    const o = await firstThenDocker({ path: missing }, JSON.stringify(auths({ [reg.host]: RIGHT })), "env");
    expect(o.skopeo).toMatchObject({ ok: true });
    expect(o.invalid).toEqual([]);
    const config = o.report.stages.find((s: { id: string }) => s.id === "config");
    expect(config.evidence.credentials.found.file).toBe(o.dockerFile);
    expect(o.r.code).toBe(0);
  }, 60_000);

  test("a good first auth file and a broken ~/.docker/config.json: neither skopeo nor the doctor reads the second", async () => {
    const good = file("auth.json", auths({ [reg.host]: RIGHT }));
    const o = await firstThenDocker({ path: good }, '{"auths": {', "env");
    expect(o.skopeo).toMatchObject({ ok: true });
    expect(o.invalid).toEqual([]);
    const config = o.report.stages.find((s: { id: string }) => s.id === "config");
    expect(config.evidence.credentials.found.file).toBe(good);
    expect(o.r.code).toBe(0);
  }, 60_000);

  test("username/password fields instead of auth: containers/image reads neither; skopeo and the doctor are refused", async () => {
    const a = file("auth.json", { auths: { [reg.host]: { username: "alice", password: RIGHT } } });
    expect(skopeo(a, "env").ok).toBe(false);
    const d = await doctor(["--client", "podman", ...insecureConf()], { REGISTRY_AUTH_FILE: a });
    expect(d.config.evidence.credentials.found).toBeNull();
    expect(d.r.code).toBe(1);
  }, 60_000);

  test("DOCKER_CONFIG names the Docker file containers/image reads: both pull with it", async () => {
    const dir = path.join(t.dir, `docker-config-${++n}`);
    mkdirSync(dir);
    writeFileSync(path.join(dir, "config.json"), JSON.stringify(auths({ [reg.host]: RIGHT })));
    const home = path.join(t.dir, `dc-home-${++n}`);
    mkdirSync(path.join(home, "run"), { recursive: true });
    const env = { DOCKER_CONFIG: dir, XDG_RUNTIME_DIR: path.join(home, "run") };
    const p = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "inspect", "--tls-verify=false", `docker://${image}`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, ...env },
    });
    expect(p.exitCode).toBe(0);
    const r = await runCli(
      ["check", image, "--json", "--daemon-config", "/nonexistent/daemon.json", "--client", "podman", ...insecureConf()],
      { home, env },
    );
    expect(r.code).toBe(0);
  }, 60_000);

  test("without REGISTRY_AUTH_FILE, $XDG_RUNTIME_DIR/containers/auth.json comes before ~/.docker/config.json", async () => {
    const home = path.join(t.dir, `xdg-home-${++n}`);
    mkdirSync(path.join(home, "run", "containers"), { recursive: true });
    mkdirSync(path.join(home, ".docker"), { recursive: true });
    writeFileSync(path.join(home, "run", "containers", "auth.json"), JSON.stringify(auths({ [reg.host]: RIGHT })));
    writeFileSync(path.join(home, ".docker", "config.json"), JSON.stringify(auths({ [reg.host]: WRONG })));
    const p = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "inspect", "--tls-verify=false", `docker://${image}`], {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, XDG_RUNTIME_DIR: path.join(home, "run") },
    });
    expect(p.exitCode).toBe(0);
    const r = await runCli(
      ["check", image, "--json", "--daemon-config", "/nonexistent/daemon.json", "--client", "podman", ...insecureConf()],
      {
        home,
        env: { XDG_RUNTIME_DIR: path.join(home, "run") },
      },
    );
    expect(r.code).toBe(0);
  }, 60_000);
});

describe("kubelet: every matching credential, in keyring order, until one works", () => {
  test("two pull secrets, the first refused: the second is tried and the pull goes on", async () => {
    const wrong = file("wrong.json", auths({ [reg.host]: WRONG }));
    const right = file("right.json", auths({ [reg.host]: RIGHT }));
    const d = await doctor(["--client", "kubelet", "--pull-secret", wrong, "--pull-secret", right]);
    expect(d.auth.evidence.credentialsTried.map((x: { outcome: string }) => x.outcome)).toEqual(["AUTH_UNAUTHORIZED", "accepted"]);
    expect(d.auth.status).not.toBe("fail");
    expect(d.r.code).toBe(0);
  }, 60_000);

  test("every credential refused: the first one's verdict, each attempt in evidence", async () => {
    const a = file("a.json", auths({ [reg.host]: WRONG }));
    const b = file("b.json", auths({ [reg.host]: `${WRONG}x` }));
    const d = await doctor(["--client", "kubelet", "--pull-secret", a, "--pull-secret", b]);
    expect(d.auth.evidence.credentialsTried.map((x: { outcome: string }) => x.outcome)).toEqual(["AUTH_UNAUTHORIZED", "AUTH_UNAUTHORIZED"]);
    expect(d.codes).toContain("AUTH_UNAUTHORIZED");
    expect(d.r.code).toBe(1);
  }, 60_000);

  test("a credential-provider plugin gives the credential; a failing one is CREDS_PROVIDER_FAILED", async () => {
    const bin = path.join(t.dir, `plugins-${++n}`);
    mkdirSync(bin);
    const plugin = (name: string, body: string) => {
      writeFileSync(path.join(bin, name), `#!/bin/sh\ncat >/dev/null\n${body}\n`);
      chmodSync(path.join(bin, name), 0o755);
    };
    plugin(
      "pd-good",
      `printf '{"kind":"CredentialProviderResponse","apiVersion":"credentialprovider.kubelet.k8s.io/v1","cacheKeyType":"Registry","auth":{"${reg.host}":{"username":"alice","password":"${RIGHT}"}}}'`,
    );
    plugin("pd-broken", "echo 'no instance role'\nexit 1");
    const provider = (name: string) =>
      `  - name: ${name}\n    matchImages: ["${reg.host}"]\n    defaultCacheDuration: 10m\n    apiVersion: credentialprovider.kubelet.k8s.io/v1\n`;
    const config = file(
      "providers.yaml",
      `apiVersion: kubelet.config.k8s.io/v1\nkind: CredentialProviderConfig\nproviders:\n${provider("pd-broken")}${provider("pd-good")}`,
    );
    const d = await doctor(["--client", "kubelet"], {
      PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_CONFIG: config,
      PULLDOCTOR_KUBELET_CREDENTIAL_PROVIDER_BIN_DIR: bin,
    });
    const failed = d.report.findings.find((f: { code: string }) => f.code === "CREDS_PROVIDER_FAILED");
    expect(failed.detail).toContain("no instance role");
    expect(d.config.evidence.credentials.tried).toEqual([{ key: reg.host, from: "credential provider pd-good", username: "alice" }]);
    expect(d.config.evidence.credentials.sentTo.rule).toBe("every-host");
    expect(d.config.evidence.client.profiles[0].credentials.source).toBe("keyring");
    expect(d.r.code).toBe(0);
    expect(d.r.stdout).not.toContain(RIGHT);
  }, 60_000);
});

describe("ctr: only the caller's credentials", () => {
  let ctd: ContainerdPeer;
  beforeAll(async () => {
    ctd = await startContainerd();
  }, 60_000);
  afterAll(async () => {
    await ctd?.stop();
  });

  test("config.json has credentials: ctr without --user is refused and the doctor says ctr does not read them; with --user both pull", async () => {
    const home = path.join(t.dir, `ctr-home-${++n}`);
    mkdirSync(path.join(home, ".docker"), { recursive: true });
    writeFileSync(path.join(home, ".docker", "config.json"), JSON.stringify(auths({ [reg.host]: RIGHT })));
    const anon = await ctd.ctr(["content", "fetch", "--plain-http", image]);
    expect(anon.code).not.toBe(0);
    const r = await runCli(["check", image, "--json", "--daemon-config", "/nonexistent/daemon.json", "--client", "containerd"], { home });
    const report = JSON.parse(r.stdout);
    const config = report.stages.find((s: { id: string }) => s.id === "config");
    expect(config.summary).toContain("which ctr does not read");
    expect(config.evidence.credentials.configJsonUnused).toEqual([reg.host]);
    expect(r.code).toBe(1);
    const withUser = await ctd.ctr(["content", "fetch", "--plain-http", "--user", `alice:${RIGHT}`, image]);
    expect(withUser.code).toBe(0);
    const d = await doctor(["--client", "containerd", "--username", "alice", "--password-stdin"], {}, RIGHT);
    expect(d.r.code).toBe(0);
  }, 90_000);
});
