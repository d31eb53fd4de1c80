import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { Secret } from "../../src/model/secret";
import { createHttpClient } from "../../src/registry/http";
import { RegistrySession, refreshMarginMs } from "../../src/registry/session";
import { parseTokenBody } from "../../src/registry/token";
import { testDeps } from "../helpers/context";
import { startTokenServer, type TokenServer } from "../peers/token-server";

const b = (s: string) => new TextEncoder().encode(s);

describe("parseTokenBody (distribution getTokenResponse rules)", () => {
  test.each([
    [
      "token only",
      '{"token":"t1","expires_in":300,"issued_at":"2026-01-01T00:00:00Z"}',
      { ok: true, token: "t1", expiresIn: 300, issuedAt: "2026-01-01T00:00:00Z" },
    ],
    ["access_token wins over token", '{"token":"t1","access_token":"a1"}', { ok: true, token: "a1" }],
    ["expires_in below 60 becomes 60", '{"token":"t","expires_in":10}', { ok: true, expiresIn: 60 }],
    ["no expires_in: 60", '{"token":"t"}', { ok: true, expiresIn: 60, issuedAt: null }],
    ["refresh_token kept", '{"access_token":"a","refresh_token":"r"}', { ok: true, refreshToken: "r" }],
    ["not JSON", "<html>", { ok: false, problem: "the body is not JSON" }],
    ["JSON array", "[]", { ok: false, problem: "the body is not a JSON object" }],
    ["no token", '{"expires_in":300}', { ok: false, problem: "the JSON has no token or access_token field" }],
    ["empty token", '{"token":""}', { ok: false }],
  ] as const)("%s", (_n, body, want) => expect(parseTokenBody(b(body))).toMatchObject(want));
});

let ts: TokenServer;
beforeAll(async () => {
  ts = await startTokenServer({
    users: { alice: "pw-session-1" },
    grants: { alice: { "team/app": ["pull"], "team/other": ["pull"] } },
    expiresIn: 60,
  });
});
afterAll(async () => {
  await ts?.stop();
});

describe("RegistrySession (tokens per scope, refreshed before expiry)", () => {
  let clock = Date.now();
  const session = () =>
    new RegistrySession({
      scheme: "bearer",
      challenge: { scheme: "bearer", params: { realm: ts.realm, service: ts.service } },
      credential: { source: "test", lookupKey: "x", username: "alice", password: new Secret("pw-session-1") },
      repository: "team/app",
      sendCredentials: true,
      realmClient: () => createHttpClient({ deps: testDeps(), timeoutMs: 2000 }),
      now: () => new Date(clock),
    });

  test("caches, refreshes a quarter-lifetime before expiry, refetches after invalidate", async () => {
    ts.requests.length = 0;
    const s = session();
    const a1 = await s.authorize();
    expect(a1?.reveal()).toStartWith("Bearer ey");
    expect(String(a1)).toBe("<redacted>");
    await s.authorize();
    expect(ts.requests.length).toBe(1);
    clock += 60_000 - refreshMarginMs(60) - 1000;
    await s.authorize();
    expect(ts.requests.length).toBe(1);
    clock += 2000;
    await s.authorize();
    expect(ts.requests.length).toBe(2);
    s.invalidate();
    await s.authorize();
    expect(ts.requests.length).toBe(3);
    expect(s.fetched.length).toBe(3);
  });

  test("one token per scope; concurrent callers share one request", async () => {
    ts.requests.length = 0;
    const s = session();
    await Promise.all([s.authorize(), s.authorize(), s.authorize()]);
    expect(ts.requests.length).toBe(1);
    await s.authorize("repository:team/other:pull");
    expect(ts.requests.map((r) => r.params.scope)).toEqual(["repository:team/app:pull", "repository:team/other:pull"]);
  });

  test("basic and none sessions", async () => {
    const basic = new RegistrySession({
      scheme: "basic",
      challenge: null,
      credential: { source: "t", lookupKey: "x", username: "u", password: new Secret("p4ss-word") },
      repository: "r",
      sendCredentials: true,
      realmClient: () => {
        throw new Error("no realm");
      },
      now: () => new Date(),
    });
    expect((await basic.authorize())?.reveal()).toBe(`Basic ${Buffer.from("u:p4ss-word").toString("base64")}`);
    const withheld = new RegistrySession({
      scheme: "basic",
      challenge: null,
      credential: { source: "t", lookupKey: "x", username: "u", password: new Secret("p4ss-word") },
      repository: "r",
      sendCredentials: false,
      realmClient: () => {
        throw new Error("no realm");
      },
      now: () => new Date(),
    });
    expect(await withheld.authorize()).toBeNull();
    const none = new RegistrySession({
      scheme: "none",
      challenge: null,
      credential: null,
      repository: "r",
      sendCredentials: true,
      realmClient: () => {
        throw new Error("no realm");
      },
      now: () => new Date(),
    });
    expect(await none.authorize()).toBeNull();
  });
});
