import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import type { Finding } from "../helpers/report";
import { expectNoSecrets } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { startTokenServer, type TokenServer } from "../peers/token-server";

/**
 * A real docker-registry with token auth, backed by the test token server (real ES256 JWTs),
 * driven through the compiled binary: the healthy path (anonymous, config.json auths,
 * identitytoken) and every token-auth code. No password, refresh token or JWT may appear in
 * stdout, stderr or the --report file.
 */

const PW = "t0ken-e2e-Alice-pw";
const REFRESH = "refresh-e2e-identity-token-7f3a";
// Any JWT (header.payload starting with base64url of '{"'), whoever signed it.
const JWT = /eyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}/;

let ts: TokenServer, other: TokenServer;
let reg: RegistryPeer, regOtherKey: RegistryPeer, regDeadRealm: RegistryPeer;
let home: { dir: string; cleanup: () => void };
let n = 0;

const registryFor = (t: TokenServer, realm = t.realm) =>
  startRegistry({ token: { realm, service: t.service, issuer: t.issuer, rootCertBundle: t.rootCertBundle } });

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-token-");
  ts = await startTokenServer({
    users: { alice: PW, bob: "bob-e2e-password-2" },
    refreshTokens: { [REFRESH]: "alice" },
    grants: { alice: { "team/app": ["pull", "push"] }, "": { "public/app": ["pull"] } },
  });
  other = await startTokenServer();
  const dead = await freePort();
  [reg, regOtherKey, regDeadRealm] = await Promise.all([
    registryFor(ts),
    registryFor(other, ts.realm),
    registryFor(ts, `http://127.0.0.1:${dead}/token`),
  ]);
  const img = buildImage({ label: "token-e2e" });
  const push = ts.issue("alice", [
    { type: "repository", name: "team/app", actions: ["pull", "push"] },
    { type: "repository", name: "public/app", actions: ["pull", "push"] },
  ]);
  await pushImage(reg.url, "team/app", "1.0", img, { authorization: `Bearer ${push}` });
  await pushImage(reg.url, "public/app", "1.0", img, { authorization: `Bearer ${push}` });
});
afterAll(async () => {
  await Promise.all([reg?.stop(), regOtherKey?.stop(), regDeadRealm?.stop(), ts?.stop(), other?.stop()]);
  home?.cleanup();
});

const reset = (o: Partial<TokenServer["options"]> = {}) => {
  for (const k of ["fault", "clockSkewSeconds", "refuseAnonymous", "noPost", "expiresIn"] as const) delete ts.options[k];
  Object.assign(ts.options, o);
  ts.requests.length = 0;
};

function dockerConfig(config: unknown): string {
  const dir = path.join(home.dir, `docker-${++n}`);
  mkdirSync(dir);
  writeFileSync(path.join(dir, "config.json"), JSON.stringify(config));
  return dir;
}
const aliceConfig = (host: string) => dockerConfig({ auths: { [host]: { auth: btoa(`alice:${PW}`) } } });

/** Whatever the outcome: no credential, refresh token or JWT in any output. */
const check = (image: string, extra: string[] = []) =>
  checkCli(image, ["--verbose", ...extra], { home: home.dir, secrets: [PW, btoa(`alice:${PW}`), REFRESH, "bob-e2e-password-2"] });

function expectFails(c: Awaited<ReturnType<typeof check>>, code: string, stage = "auth") {
  const f = c.find(code);
  expect(f).toBeDefined();
  expect(f.severity).toBe("error");
  expect(f.stage).toBe(stage);
  expect(c.stage(stage).status).toBe("fail");
  expect(c.report.verdict).toMatchObject({ ok: false, code });
  expect(c.r.code).toBe(1);
  return f;
}

function expectHealthy(c: Awaited<ReturnType<typeof check>>) {
  expect(c.report.findings.filter((f: Finding) => f.severity === "error")).toEqual([]);
  for (const id of ["v2", "auth", "manifest", "blob"])
    expect([id, c.stage(id).status]).toEqual([id, c.stage(id).status === "warn" ? "warn" : "pass"]);
  expect(c.report.verdict.ok).toBe(true);
  expect(c.r.code).toBe(0);
}

describe("token-auth registry: the healthy path through the binary", () => {
  test("anonymous pull of a public repository", async () => {
    reset();
    const c = await check(`${reg.host}/public/app:1.0`);
    expectHealthy(c);
    expect(ts.requests[0]).toMatchObject({
      method: "GET",
      basicUser: null,
      params: { scope: "repository:public/app:pull", service: ts.service },
    });
  });

  test("credentials from config.json auths: GET with Basic on the realm, healthy", async () => {
    reset();
    const c = await check(`${reg.host}/team/app:1.0`, ["--docker-config", aliceConfig(reg.host)]);
    expectHealthy(c);
    expect(ts.requests[0]).toMatchObject({
      method: "GET",
      basicUser: "alice",
      params: { account: "alice", scope: "repository:team/app:pull" },
    });
    // The realm is plain http: the password went there in clear, said as a warning.
    expect(c.find("AUTH_BASIC_OVER_HTTP").severity).toBe("warning");
  });

  test("identitytoken from config.json: OAuth2 POST refresh_token grant, healthy", async () => {
    reset();
    const c = await check(`${reg.host}/team/app:1.0`, [
      "--docker-config",
      dockerConfig({ auths: { [reg.host]: { identitytoken: REFRESH } } }),
    ]);
    expectHealthy(c);
    expect(ts.requests[0]).toMatchObject({
      method: "POST",
      form: { grant_type: "refresh_token", client_id: "docker", scope: "repository:team/app:pull" },
    });
  });

  test("the human --verbose output (every HTTP exchange) of an authenticated run shows no password, refresh token or JWT", async () => {
    reset();
    for (const cfg of [aliceConfig(reg.host), dockerConfig({ auths: { [reg.host]: { identitytoken: REFRESH } } })]) {
      const r = await runCli(
        [
          "check",
          `${reg.host}/team/app:1.0`,
          "--verbose",
          "--docker-config",
          cfg,
          "--daemon-config",
          path.join(home.dir, "none.json"),
          "--certs-dir",
          path.join(home.dir, "certs.d"),
          "--timeout",
          "3",
          // config.json is Docker's: `auto` would read this machine's /etc/containerd and judge as ctr.
          "--client",
          "docker",
        ],
        { home: home.dir },
      );
      expect(r.code).toBe(0);
      expect(r.stdout + r.stderr).toContain("/token");
      expectNoSecrets(r.stdout + r.stderr, [PW, btoa(`alice:${PW}`), REFRESH]);
      expect(r.stdout + r.stderr).not.toMatch(JWT);
    }
  });
});

describe("token-auth codes through the binary", () => {
  test("AUTH_CREDENTIALS_REQUIRED: an anonymous token grants nothing on a private repository (insufficient_scope), none configured", async () => {
    reset();
    // Issue 12 item 4: no identity was sent, so none was denied; the first fix is to log in.
    const f = expectFails(await check(`${reg.host}/team/app:1.0`), "AUTH_CREDENTIALS_REQUIRED");
    expect(f.detail).toContain("anonymous request (no pull access without an identity)");
    expect(f.detail).toContain("The repository may also not exist");
    expect(f.fixes[0]).toBe(`\`docker login ${reg.host}\``);
  });

  test("AUTH_DENIED: an account without a grant for the repository", async () => {
    reset();
    const cfg = dockerConfig({ auths: { [reg.host]: { auth: btoa("bob:bob-e2e-password-2") } } });
    const f = expectFails(await check(`${reg.host}/team/app:1.0`, ["--docker-config", cfg]), "AUTH_DENIED");
    expect(f.detail).toContain("as bob");
  });

  test("AUTH_UNAUTHORIZED: the token server rejects the password", async () => {
    reset();
    const cfg = dockerConfig({ auths: { [reg.host]: { auth: btoa("alice:not-the-e2e-password") } } });
    const c = await check(`${reg.host}/team/app:1.0`, ["--docker-config", cfg]);
    const f = expectFails(c, "AUTH_UNAUTHORIZED");
    expect(f.detail).toContain("token service answered 401");
    expect(JSON.stringify(c.report)).not.toContain("not-the-e2e-password");
  });

  test("AUTH_CREDENTIALS_REQUIRED: the token server refuses anonymous, none configured", async () => {
    reset({ refuseAnonymous: true });
    const f = expectFails(await check(`${reg.host}/team/app:1.0`), "AUTH_CREDENTIALS_REQUIRED");
    expect(f.fixes[0]).toBe(`\`docker login ${reg.host}\``);
  });

  test("AUTH_TOKEN_INVALID: the token response is not JSON", async () => {
    reset({ fault: "malformed-json" });
    const f = expectFails(await check(`${reg.host}/team/app:1.0`, ["--docker-config", aliceConfig(reg.host)]), "AUTH_TOKEN_INVALID");
    expect(f.detail).toContain("not JSON");
  });

  test("AUTH_TOKEN_INVALID: a token response without a token (bad server input is a finding, never a crash)", async () => {
    reset({ fault: "no-token" });
    const f = expectFails(await check(`${reg.host}/team/app:1.0`, ["--docker-config", aliceConfig(reg.host)]), "AUTH_TOKEN_INVALID");
    expect(f.detail).toContain("no token or access_token");
  });

  test("AUTH_TOKEN_INVALID: a token signed by a key the registry does not trust (invalid_token)", async () => {
    reset();
    const f = expectFails(
      await check(`${regOtherKey.host}/team/app:1.0`, ["--docker-config", aliceConfig(regOtherKey.host)]),
      "AUTH_TOKEN_INVALID",
    );
    expect(f.detail).toContain("invalid_token");
  });

  test("AUTH_CLOCK_SKEW: a token not valid before 10 minutes from now", async () => {
    reset({ fault: "nbf-future" });
    const f = expectFails(await check(`${reg.host}/team/app:1.0`, ["--docker-config", aliceConfig(reg.host)]), "AUTH_CLOCK_SKEW");
    expect(f.detail).toContain("nbf");
  });

  test("AUTH_CLOCK_SKEW: the token server's clock 15 minutes ahead (its Date and its tokens), both clocks named", async () => {
    reset({ clockSkewSeconds: 900 });
    const t = performance.now();
    const f = expectFails(await check(`${reg.host}/team/app:1.0`, ["--docker-config", aliceConfig(reg.host)]), "AUTH_CLOCK_SKEW");
    const runSeconds = (performance.now() - t) / 1000;
    // HTTP Dates are whole seconds, each stamped when its response left: the registry's first, the
    // token server's after it. So the reading is the 900 s skew plus the second boundaries that
    // passed between the two responses: 900, or 901 when a second ticked over in between (a loaded
    // machine), never more than the run's own length rounded up. The figure is exactly the two Dates'.
    const { registryDate, tokenServerDate } = f.evidence.clock;
    const read = (Date.parse(tokenServerDate) - Date.parse(registryDate)) / 1000;
    expect(f.detail).toContain(`token server's clock is ${read} s off the registry's`);
    expect(read).toBeGreaterThanOrEqual(900);
    expect(read).toBeLessThanOrEqual(900 + Math.ceil(runSeconds));
  });

  test("AUTH_TOKEN_SERVER_UNREACHABLE: the token server answers 500", async () => {
    reset({ fault: "server-error" });
    const f = expectFails(
      await check(`${reg.host}/team/app:1.0`, ["--docker-config", aliceConfig(reg.host)]),
      "AUTH_TOKEN_SERVER_UNREACHABLE",
    );
    expect(f.detail).toContain("HTTP 500");
  });

  test("AUTH_TOKEN_SERVER_UNREACHABLE: nobody listens on the realm, nested DNS/TCP evidence", async () => {
    reset();
    const c = await check(`${regDeadRealm.host}/team/app:1.0`);
    const f = expectFails(c, "AUTH_TOKEN_SERVER_UNREACHABLE");
    expect(f.evidence.realm.dns.outcome).toBe("ok");
    expect(f.evidence.realm.tcp.ok).toBe(false);
    expect(f.evidence.realm.tcp.error.kind).toBe("refused");
  });
});
