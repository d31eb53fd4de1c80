import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * registries.conf `credential-helpers` (containers-registries.conf(5)): containers/image asks them in
 * order, "containers-auth.json" being the auth.json search and any other name a
 * docker-credential-<name>; a list without "containers-auth.json" never reads the auth files. Each
 * case is compared with real skopeo on the same registries.conf, helpers and auth file, against
 * docker-registry with htpasswd.
 */
const RIGHT = "ch-right-Pw+5";
let reg: RegistryPeer;
let image = "";
let bin = "";
const t = tempDir("pd-cred-helpers-");
const b64 = (s: string) => Buffer.from(s).toString("base64");

beforeAll(async () => {
  requireBinaryBuilt();
  reg = await startRegistry({ htpasswd: { alice: RIGHT } });
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "cred-helpers" }), { authorization: `Basic ${b64(`alice:${RIGHT}`)}` });
  image = `${reg.host}/team/app:1.0`;
  bin = path.join(t.dir, "bin");
  mkdirSync(bin);
  // A helper that knows the registry, and one that knows nothing (the protocol's "not found" answer).
  writeFileSync(
    path.join(bin, "docker-credential-pdrc"),
    `#!/bin/sh\nread url\n[ "$url" = "${reg.host}" ] || { echo "credentials not found in native keychain"; exit 1; }\nprintf '{"ServerURL":"%s","Username":"alice","Secret":"%s"}' "$url" '${RIGHT}'\n`,
  );
  writeFileSync(
    path.join(bin, "docker-credential-pdnone"),
    `#!/bin/sh\nread url\necho "credentials not found in native keychain"\nexit 1\n`,
  );
  for (const h of ["pdrc", "pdnone"]) chmodSync(path.join(bin, `docker-credential-${h}`), 0o755);
}, 60_000);
afterAll(async () => {
  await reg?.stop();
  t.cleanup();
});

let n = 0;
function setup(helpers: string[]) {
  const dir = path.join(t.dir, `case-${++n}`);
  mkdirSync(path.join(dir, "run"), { recursive: true });
  const conf = path.join(dir, "registries.conf");
  writeFileSync(conf, `credential-helpers = ${JSON.stringify(helpers)}\n\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
  const authFile = path.join(dir, "auth.json");
  writeFileSync(authFile, JSON.stringify({ auths: { [reg.host]: { auth: b64(`alice:${RIGHT}`) } } }));
  const env = { PATH: `${bin}:${process.env.PATH}`, HOME: dir, XDG_RUNTIME_DIR: path.join(dir, "run"), REGISTRY_AUTH_FILE: authFile };
  return { dir, conf, authFile, env };
}

function skopeo(c: ReturnType<typeof setup>) {
  const p = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", c.conf, "inspect", `docker://${image}`], { env: c.env });
  return { ok: p.exitCode === 0, err: p.stderr.toString() };
}

async function doctor(c: ReturnType<typeof setup>) {
  const r = await runCli(
    ["check", image, "--json", "--client", "podman", "--registries-conf", c.conf, "--daemon-config", "/nonexistent/daemon.json"],
    { home: c.dir, env: { PATH: c.env.PATH, XDG_RUNTIME_DIR: c.env.XDG_RUNTIME_DIR, REGISTRY_AUTH_FILE: c.authFile } },
  );
  const report = JSON.parse(r.stdout);
  const config = report.stages.find((s: { id: string }) => s.id === "config");
  return { r, report, credentials: config.evidence.credentials };
}

describe("registries.conf credential-helpers", () => {
  test('["pdrc"]: skopeo and the doctor get the credentials from docker-credential-pdrc, asked for the registry host', async () => {
    const c = setup(["pdrc"]);
    expect(skopeo(c)).toMatchObject({ ok: true });
    const d = await doctor(c);
    expect(d.credentials.found).toEqual({ file: `${c.conf}:1`, key: 'credential-helpers["pdrc"]', username: "alice" });
    expect(d.r.code).toBe(0);
    expect(JSON.stringify(d.report)).not.toContain(RIGHT);
  }, 60_000);

  test('["pdnone"]: the auth file holds the right credential but is never read; skopeo and the doctor go anonymous and are refused', async () => {
    const c = setup(["pdnone"]);
    const s = skopeo(c);
    expect(s.ok).toBe(false);
    expect(s.err.toLowerCase()).toContain("unauthorized");
    const d = await doctor(c);
    expect(d.credentials.found).toBeNull();
    expect(d.credentials.searched).toEqual([
      { file: `${c.conf}:1`, result: 'credential-helpers["pdnone"] → docker-credential-pdnone: not-found' },
    ]);
    expect(d.r.code).toBe(1);
  }, 60_000);

  test('["pdnone", "containers-auth.json"]: the helper has nothing, the auth file answers; both pull', async () => {
    const c = setup(["pdnone", "containers-auth.json"]);
    expect(skopeo(c)).toMatchObject({ ok: true });
    const d = await doctor(c);
    expect(d.credentials.found).toEqual({ file: c.authFile, key: reg.host, username: "alice" });
    expect(d.r.code).toBe(0);
  }, 60_000);
});
