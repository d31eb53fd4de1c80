import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage } from "../../src/lab/image";
import type { Credential } from "../../src/model/facts";
import { Secret } from "../../src/model/secret";
import type { RegistrySession } from "../../src/registry/session";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { startTokenServer, type TokenServer } from "../peers/token-server";
import { expectNoSecrets, passwordCred, runAuth } from "./auth-helpers";

const PW = "t0ken-user-s3cret";
const REFRESH = "refresh-token-value-xyz";
let ts: TokenServer, reg: RegistryPeer;
let other: TokenServer, regOtherKey: RegistryPeer, regDeadRealm: RegistryPeer;

const registryFor = (t: TokenServer, realm = t.realm) =>
  startRegistry({ token: { realm, service: t.service, issuer: t.issuer, rootCertBundle: t.rootCertBundle } });

beforeAll(async () => {
  ts = await startTokenServer({
    users: { alice: PW, bob: "bob-password-1" },
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
  const push = ts.issue("alice", [{ type: "repository", name: "team/app", actions: ["pull", "push"] }]);
  await pushImage(reg.url, "team/app", "1.0", buildImage({}), { authorization: `Bearer ${push}` });
});
afterAll(async () => {
  await Promise.all([reg?.stop(), regOtherKey?.stop(), regDeadRealm?.stop(), ts?.stop(), other?.stop()]);
});

const reset = (o: Partial<TokenServer["options"]> = {}) => {
  for (const k of ["fault", "clockSkewSeconds", "refuseAnonymous", "noPost", "expiresIn"] as const) delete ts.options[k];
  Object.assign(ts.options, o);
  ts.requests.length = 0;
};
const tokensOf = (s: RegistrySession | undefined) => (s?.fetched ?? []).map((t) => t.token.reveal());

describe("auth: token registry (distribution 2.8 + token server)", () => {
  test("password credentials: token via GET+Basic with account=, access granted, manifest HEAD 200; nothing secret leaks", async () => {
    reset();
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW));
    expect(r.codes).toEqual(["AUTH_BASIC_OVER_HTTP"]);
    expect(r.out.findings[0]!.detail).toContain("the token realm");
    const session = r.out.provides!.session as RegistrySession;
    expect(session.scheme).toBe("bearer");
    expect(ts.requests[0]).toMatchObject({
      method: "GET",
      basicUser: "alice",
      params: { account: "alice", service: ts.service, scope: "repository:team/app:pull" },
    });
    const tok = r.out.evidence.token as { as: string; jwt: { access: unknown; x5c: number } };
    expect(tok.as).toBe("basic");
    expect(r.out.summary).toBe(`token from ${ts.realm} (as alice); HEAD manifest → 200`);
    expect(tok.jwt.access).toEqual([{ type: "repository", name: "team/app", actions: ["pull"] }]);
    expect((r.out.evidence.manifestHead as { status: number }).status).toBe(200);
    expectNoSecrets([r.out, r.v2, r.ctx.trace.events], [PW, ...tokensOf(session)]);
  });

  test("wrong password → AUTH_UNAUTHORIZED with the token server's message", async () => {
    reset();
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", "not-the-password"));
    expect(r.errors).toEqual(["AUTH_UNAUTHORIZED"]);
    expect(r.main!.detail).toContain("incorrect username or password");
    expect(r.main!.detail).toContain("token service answered 401");
    expectNoSecrets([r.out, r.ctx.trace.events], ["not-the-password"]);
  });

  test("anonymous refused by the token server, no credentials → AUTH_CREDENTIALS_REQUIRED", async () => {
    reset({ refuseAnonymous: true });
    const r = await runAuth(reg.url, "team/app", null);
    expect(r.errors).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    expect(r.main!.fixes[0]).toBe(`\`docker login ${reg.host}\``);
  });

  test("anonymous token without access (private or missing repository) → AUTH_CREDENTIALS_REQUIRED, first fix: log in", async () => {
    reset();
    const r = await runAuth(reg.url, "team/app", null);
    // No identity was sent, so none was denied (issue 12 item 4): the SPEC's AUTH_CREDENTIALS_REQUIRED.
    expect(r.errors).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    const f = r.main!;
    expect(f.detail).toContain("The registry answered 401 to an anonymous request (no pull access without an identity)");
    expect(f.detail).toContain("The repository may also not exist");
    expect(f.detail).not.toContain("token service");
    expect(f.fixes[0]).toBe(`\`docker login ${reg.host}\``);
  });

  test("anonymous pull of a public repository passes", async () => {
    reset();
    const r = await runAuth(reg.url, "public/app", null);
    expect(r.errors).toEqual([]);
    expect(r.out.summary).toContain("404");
  });

  test("an account without a grant for the repository → AUTH_DENIED", async () => {
    reset();
    const r = await runAuth(reg.url, "team/app", passwordCred("bob", "bob-password-1"));
    expect(r.errors).toEqual(["AUTH_DENIED"]);
    expect(r.main!.detail).toContain("as bob");
  });

  test("identitytoken: OAuth2 POST grant_type=refresh_token with client_id", async () => {
    reset();
    const cred: Credential = { source: "auths[x].identitytoken", lookupKey: "x", username: "<token>", identityToken: new Secret(REFRESH) };
    const r = await runAuth(reg.url, "team/app", cred);
    expect(r.errors).toEqual([]);
    expect(ts.requests[0]).toMatchObject({
      method: "POST",
      form: { grant_type: "refresh_token", client_id: "docker", scope: "repository:team/app:pull", service: ts.service },
    });
    expectNoSecrets([r.out, r.ctx.trace.events], [REFRESH, ...tokensOf(r.out.provides?.session as RegistrySession)]);
  });

  test("identitytoken on a server without POST: falls back to GET (404)", async () => {
    reset({ noPost: true });
    const cred: Credential = { source: "auths[x].identitytoken", lookupKey: "x", identityToken: new Secret(REFRESH) };
    const r = await runAuth(reg.url, "public/app", cred);
    expect(r.errors).toEqual([]);
    expect(ts.requests.map((q) => q.method)).toEqual(["POST", "GET"]);
    expect((r.out.evidence.token as { fellBackToGet: boolean }).fellBackToGet).toBe(true);
  });

  test("a token server whose POST grants nothing (containerd path) → AUTH_DENIED", async () => {
    reset({ fault: "post-no-access" });
    const cred: Credential = { source: "auths[x].identitytoken", lookupKey: "x", identityToken: new Secret(REFRESH) };
    const r = await runAuth(reg.url, "team/app", cred);
    expect(r.errors).toEqual(["AUTH_DENIED"]);
  });

  test("registrytoken is sent as the bearer itself; the token server is not asked", async () => {
    reset();
    const own = ts.issue("alice", [{ type: "repository", name: "team/app", actions: ["pull"] }]);
    const cred: Credential = { source: "auths[x].registrytoken", lookupKey: "x", registryToken: new Secret(own) };
    const r = await runAuth(reg.url, "team/app", cred);
    expect(r.errors).toEqual([]);
    expect(ts.requests).toEqual([]);
    expectNoSecrets([r.out, r.ctx.trace.events], [own]);
  });

  test("malformed token response (HTML) → AUTH_TOKEN_INVALID", async () => {
    reset({ fault: "malformed-json" });
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW));
    expect(r.errors).toEqual(["AUTH_TOKEN_INVALID"]);
    expect(r.main!.detail).toContain("not JSON");
  });

  test("token response without a token field → AUTH_TOKEN_INVALID", async () => {
    reset({ fault: "no-token" });
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW));
    expect(r.errors).toEqual(["AUTH_TOKEN_INVALID"]);
    expect(r.main!.detail).toContain("no token or access_token");
  });

  test("token signed by a key the registry does not trust → AUTH_TOKEN_INVALID (invalid_token)", async () => {
    reset();
    const r = await runAuth(regOtherKey.url, "team/app", passwordCred("alice", PW));
    expect(r.errors).toEqual(["AUTH_TOKEN_INVALID"]);
    expect(r.main!.detail).toContain("invalid_token");
  });

  test("token not valid before 10 minutes from now → AUTH_CLOCK_SKEW", async () => {
    reset({ fault: "nbf-future" });
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW));
    expect(r.errors).toEqual(["AUTH_CLOCK_SKEW"]);
    expect(r.main!.detail).toContain("nbf");
  });

  test("token already expired → AUTH_CLOCK_SKEW", async () => {
    reset({ fault: "expired" });
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW));
    expect(r.errors).toEqual(["AUTH_CLOCK_SKEW"]);
    expect(r.main!.detail).toContain("expired");
  });

  test("token server clock 15 minutes ahead (its Date header and tokens) → AUTH_CLOCK_SKEW naming both clocks", async () => {
    reset({ clockSkewSeconds: 900 });
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW));
    expect(r.errors).toEqual(["AUTH_CLOCK_SKEW"]);
    expect(r.main!.detail).toContain("token server's clock is 900 s off");
    expect((r.out.evidence.clock as { tokenServerDate: string }).tokenServerDate).toBeTruthy();
  });

  test("this machine's clock 10 minutes ahead: the registry accepts the token, AUTH_CLOCK_SKEW warning", async () => {
    reset();
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW), { now: () => new Date(Date.now() + 600_000) });
    expect(r.errors).toEqual(["AUTH_CLOCK_SKEW"]);
    expect(r.main!.severity).toBe("warning");
    expect(r.main!.detail).toMatch(/this machine's clock is (599|600|601) s ahead of the registry's/);
    expect(r.out.provides?.session).toBeDefined();
  });

  test("token server failing (500) → AUTH_TOKEN_SERVER_UNREACHABLE with the status", async () => {
    reset({ fault: "server-error" });
    const r = await runAuth(reg.url, "team/app", passwordCred("alice", PW));
    expect(r.errors).toEqual(["AUTH_TOKEN_SERVER_UNREACHABLE"]);
    expect(r.main!.detail).toContain("HTTP 500");
  });

  test("realm nobody listens on → AUTH_TOKEN_SERVER_UNREACHABLE with nested DNS/TCP evidence", async () => {
    reset();
    const r = await runAuth(regDeadRealm.url, "team/app", null);
    expect(r.errors).toEqual(["AUTH_TOKEN_SERVER_UNREACHABLE"]);
    const realm = r.out.evidence.realm as {
      error: { kind: string };
      dns: { outcome: string };
      tcp: { ok: boolean; error: { kind: string } };
    };
    expect(realm.error.kind).toBe("refused");
    expect(realm.dns.outcome).toBe("ok");
    expect(realm.tcp.ok).toBe(false);
    expect(realm.tcp.error.kind).toBe("refused");
    expect(r.main!.fixes.join("\n")).toContain("127.0.0.1:");
  });
});
