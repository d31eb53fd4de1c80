import { afterAll, describe, expect, test } from "bun:test";
import type { Credential } from "../../src/model/facts";
import { knownSecretValues, Secret } from "../../src/model/secret";
import type { HttpResponse } from "../../src/registry/http";
import { createHttpClient } from "../../src/registry/http";
import { RegistrySession } from "../../src/registry/session";
import { fetchToken, MAX_TOKEN_REDIRECTS, redirectTarget } from "../../src/registry/token";
import { testDeps } from "../helpers/context";
import { startRecorder, tokenRoute } from "../peers/recorder";

// The token and session layer's routing rules, against a recording realm (the e2e file
// credential-routing.test.ts proves the same through the binary).
const res = (status: number, location?: string): HttpResponse => ({
  status,
  statusText: "",
  headers: location ? { location } : {},
  rawHeaders: [],
  body: new Uint8Array(),
  truncated: false,
  url: "",
  durationMs: 0,
  remoteAddress: null,
});
const from = new URL("https://auth.example.com/token?service=x");

describe("redirectTarget: which token-server redirects are followed", () => {
  test.each([
    ["not a redirect", 200, undefined, "GET", 0, null],
    ["3xx without Location", 302, undefined, "GET", 0, null],
    ["same origin, GET, relative", 302, "/v2/token?x=1", "GET", 0, "https://auth.example.com/v2/token?x=1"],
    ["same origin, POST 307 keeps the body", 307, "/oauth/token", "POST", 0, "https://auth.example.com/oauth/token"],
    ["same origin, POST 308", 308, "https://auth.example.com/t", "POST", 0, "https://auth.example.com/t"],
  ] as const)("%s", (_n, status, location, method, hop, want) => {
    const r = redirectTarget(res(status, location), from, method, hop);
    expect(r === null ? null : String(r)).toBe(want);
  });

  test.each([
    ["another host", 307, "https://evil.example.net/token", "GET", 0, "another host or scheme"],
    [
      "a subdomain (Go would keep Authorization; pulldoctor does not follow)",
      302,
      "https://sub.auth.example.com/token",
      "GET",
      0,
      "another host or scheme",
    ],
    ["another port", 302, "https://auth.example.com:8443/token", "GET", 0, "another host or scheme"],
    ["down to plain http, same host", 301, "http://auth.example.com/token", "GET", 0, "another host or scheme"],
    ["POST turned into GET by 302", 302, "/other", "POST", 0, "turn the OAuth POST into a GET"],
    ["the eleventh hop", 302, "/again", "GET", MAX_TOKEN_REDIRECTS, `stopped after ${MAX_TOKEN_REDIRECTS} redirects`],
    ["an invalid Location", 302, "http://[::1", "GET", 0, "invalid Location"],
  ] as const)("stops: %s", (_n, status, location, method, hop, why) => {
    const r = redirectTarget(res(status, location), from, method, hop);
    expect(typeof r).toBe("string");
    expect(r as string).toContain(why);
  });

  test("the reported target is redacted (a signed URL's query never shows)", () => {
    const r = redirectTarget(
      res(302, "https://cdn.example.net/t?X-Amz-Signature=abcdef123456&scope=repository:a:pull"),
      from,
      "GET",
      0,
    ) as string;
    expect(r).not.toContain("abcdef123456");
    expect(r).toContain("scope=");
  });
});

describe("credentials withheld when the auth stage says so (http realm of a secure registry)", () => {
  const realm = startRecorder({ route: tokenRoute("withheld-token-1") });
  afterAll(() => realm.stop());
  const client = () => createHttpClient({ deps: testDeps(), timeoutMs: 2000 });
  const cred = (): Credential => ({
    source: "test",
    lookupKey: "x",
    username: "alice",
    password: new Secret("withheld-pw-77"),
    identityToken: new Secret("withheld-refresh-88"),
  });

  test("fetchToken: an anonymous GET, no Authorization, no account=, no OAuth POST with the refresh token", async () => {
    realm.seen.length = 0;
    const c = client();
    const t = await fetchToken({
      realm: `${realm.url}/token`,
      service: "svc",
      scopes: ["repository:a:pull"],
      credential: cred(),
      sendCredentials: false,
      client: c,
      now: () => new Date(),
    });
    await c.close();
    expect(t.as).toBe("anonymous");
    expect(realm.seen.map((s) => s.method)).toEqual(["GET"]);
    expect(realm.seen[0]!.headers.authorization).toBeUndefined();
    expect(realm.seen[0]!.path).not.toContain("account=");
  });

  test("fetchToken with sendCredentials: the identity token goes in the POST body to the realm only", async () => {
    realm.seen.length = 0;
    const c = client();
    await fetchToken({
      realm: `${realm.url}/token`,
      service: "svc",
      scopes: ["repository:a:pull"],
      credential: cred(),
      sendCredentials: true,
      client: c,
      now: () => new Date(),
    });
    await c.close();
    expect(realm.seen.map((s) => s.method)).toEqual(["POST"]);
  });

  test("RegistrySession basic: no Authorization at all when credentials may not be sent", async () => {
    const s = new RegistrySession({
      scheme: "basic",
      challenge: { scheme: "basic", params: {} },
      credential: cred(),
      repository: "a",
      sendCredentials: false,
      realmClient: client,
      now: () => new Date(),
    });
    expect(await s.authorize()).toBeNull();
    const sent = new RegistrySession({
      scheme: "basic",
      challenge: { scheme: "basic", params: {} },
      credential: cred(),
      repository: "a",
      sendCredentials: true,
      realmClient: client,
      now: () => new Date(),
    });
    const a = await sent.authorize();
    expect(a?.reveal()).toBe(`Basic ${btoa("alice:withheld-pw-77")}`);
    // The Basic value's credential part joins the final scrub.
    expect(knownSecretValues()).toContain(btoa("alice:withheld-pw-77"));
    expect(JSON.stringify({ a })).not.toContain(btoa("alice:withheld-pw-77"));
  });
});
