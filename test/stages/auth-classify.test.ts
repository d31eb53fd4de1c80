import { describe, expect, test } from "bun:test";
import {
  CLASSIC_DOCKER,
  classifyRegistryAnswer,
  classifyTokenFailure,
  judgeNotSent,
  type RegistryAnswer,
  type RetryOutcome,
  type TokenFailure,
} from "../../src/stages/auth-classify";
import { classifyV2, htmlTitle, type V2Observation } from "../../src/stages/v2";

describe("classifyTokenFailure", () => {
  const cases: [string, TokenFailure, string][] = [
    ["transport failure", { kind: "net", status: null, as: "basic" }, "AUTH_TOKEN_SERVER_UNREACHABLE"],
    ["500", { kind: "http", status: 500, as: "anonymous" }, "AUTH_TOKEN_SERVER_UNREACHABLE"],
    ["404 (wrong realm path)", { kind: "http", status: 404, as: "basic" }, "AUTH_TOKEN_SERVER_UNREACHABLE"],
    ["malformed body", { kind: "invalid", status: 200, as: "basic", invalid: "the body is not JSON" }, "AUTH_TOKEN_INVALID"],
    ["401 with password", { kind: "unauthorized", status: 401, as: "basic" }, "AUTH_UNAUTHORIZED"],
    ["401 with refresh token", { kind: "unauthorized", status: 401, as: "refresh_token" }, "AUTH_UNAUTHORIZED"],
    ["400 invalid_grant on refresh", { kind: "http", status: 400, as: "refresh_token" }, "AUTH_UNAUTHORIZED"],
    ["401 anonymous", { kind: "unauthorized", status: 401, as: "anonymous" }, "AUTH_CREDENTIALS_REQUIRED"],
    [
      "403 anonymous (containerd: failed to fetch anonymous token: 403)",
      { kind: "forbidden", status: 403, as: "anonymous" },
      "AUTH_CREDENTIALS_REQUIRED",
    ],
    ["403 with password", { kind: "forbidden", status: 403, as: "basic" }, "AUTH_DENIED"],
  ];
  for (const [name, f, code] of cases) test(name, () => expect(classifyTokenFailure(f).code).toBe(code as never));
});

describe("classifyRegistryAnswer", () => {
  const a = (o: Partial<RegistryAnswer>): RegistryAnswer => ({
    status: 401,
    scheme: "bearer",
    challengeError: null,
    errorCodes: [],
    credsSent: false,
    authorizationSent: true,
    grantsPull: null,
    clockProblem: null,
    ...o,
  });
  const cases: [string, Partial<RegistryAnswer>, string | null][] = [
    ["200", { status: 200 }, null],
    ["404 = authorized", { status: 404 }, null],
    ["429 is the manifest stage's", { status: 429 }, null],
    ["503 is the manifest stage's", { status: 503 }, null],
    ["403 anonymous: no identity was refused", { status: 403 }, "AUTH_CREDENTIALS_REQUIRED"],
    ["403 to credentials", { status: 403, credsSent: true }, "AUTH_DENIED"],
    ["401 insufficient_scope, anonymous (Hub: private or missing)", { challengeError: "insufficient_scope" }, "AUTH_CREDENTIALS_REQUIRED"],
    ["401 insufficient_scope to credentials", { challengeError: "insufficient_scope", credsSent: true }, "AUTH_DENIED"],
    ["401 invalid_token", { challengeError: "invalid_token", credsSent: true }, "AUTH_TOKEN_INVALID"],
    ["401 invalid_token with a clock problem", { challengeError: "invalid_token", clockProblem: "nbf" }, "AUTH_CLOCK_SKEW"],
    ["401 bearer, anonymous token without pull", { grantsPull: false }, "AUTH_CREDENTIALS_REQUIRED"],
    ["401 bearer, credentials' token without pull", { grantsPull: false, credsSent: true }, "AUTH_DENIED"],
    ["401 bearer anonymous, no error", {}, "AUTH_CREDENTIALS_REQUIRED"],
    ["401 bearer with creds, no error", { credsSent: true }, "AUTH_TOKEN_INVALID"],
    ["401 basic with creds", { scheme: "basic", credsSent: true }, "AUTH_UNAUTHORIZED"],
    ["401 basic without creds", { scheme: "basic", authorizationSent: false }, "AUTH_CREDENTIALS_REQUIRED"],
    ["401 on an open /v2/, no creds", { scheme: "none", authorizationSent: false }, "AUTH_CREDENTIALS_REQUIRED"],
    ["DENIED body on a 401, anonymous", { errorCodes: ["DENIED"] }, "AUTH_CREDENTIALS_REQUIRED"],
    ["DENIED body on a 401 to credentials", { errorCodes: ["DENIED"], credsSent: true }, "AUTH_DENIED"],
    // Credentials configured but no Authorization went out (an open /v2/): nothing was rejected.
    [
      "401 with credentials configured but none sent",
      { scheme: "none", credsSent: true, authorizationSent: false },
      "AUTH_CREDENTIALS_REQUIRED",
    ],
    [
      "insufficient_scope with credentials configured but none sent",
      { challengeError: "insufficient_scope", credsSent: true, authorizationSent: false },
      "AUTH_CREDENTIALS_REQUIRED",
    ],
  ];
  for (const [name, o, code] of cases) test(name, () => expect(classifyRegistryAnswer(a(o)).code).toBe(code as never));
});

describe("judgeNotSent: /v2/ open, the repository answered 401 with a challenge", () => {
  const retrying = { client: "containerd", sendsOn401: true };
  const cases: [string, typeof CLASSIC_DOCKER, boolean, RetryOutcome, string][] = [
    ["classic, credentials configured: never sent", CLASSIC_DOCKER, true, "accepted", "AUTH_NOT_SENT:error"],
    ["classic, credentials configured, the re-send refused too", CLASSIC_DOCKER, true, "refused", "AUTH_NOT_SENT:error"],
    ["classic, no credentials, an anonymous token would work", CLASSIC_DOCKER, false, "accepted", "AUTH_NOT_SENT:error"],
    ["classic, no credentials, Basic: nothing to send", CLASSIC_DOCKER, false, null, "AUTH_CREDENTIALS_REQUIRED"],
    ["classic, no credentials, anonymous token refused", CLASSIC_DOCKER, false, "refused", "AUTH_CREDENTIALS_REQUIRED"],
    ["retrying client, accepted: pulls", retrying, true, "accepted", "AUTH_NOT_SENT:info"],
    ["retrying client, refused: the re-send's verdict", retrying, true, "refused", "retry"],
    ["retrying client, no token: the re-send's verdict", retrying, true, "failed", "retry"],
    ["retrying client, nothing to send", retrying, false, null, "AUTH_CREDENTIALS_REQUIRED"],
  ];
  for (const [name, b, configured, retry, want] of cases)
    test(name, () => {
      const v = judgeNotSent(b, configured, retry);
      expect(v.code === "AUTH_NOT_SENT" ? `${v.code}:${v.severity}` : v.code).toBe(want);
    });
});

describe("classifyV2", () => {
  const o = (x: Partial<V2Observation>): V2Observation => ({
    status: 200,
    contentType: "application/json",
    apiVersion: "registry/2.0",
    challengeLines: 0,
    bodyStart: "{}",
    location: null,
    ...x,
  });
  const cases: [string, Partial<V2Observation>, string][] = [
    ["200 registry", {}, "registry"],
    ["401 registry", { status: 401, challengeLines: 1 }, "registry"],
    ["200 JSON without API version (still a registry)", { apiVersion: null }, "registry"],
    ["200 empty body text/plain", { apiVersion: null, contentType: "text/plain", bodyStart: "" }, "registry"],
    ["captive portal 200 HTML", { apiVersion: null, contentType: "text/html", bodyStart: "<html><title>Login</title>" }, "not-registry"],
    ["HTML without content type", { apiVersion: null, contentType: null, bodyStart: "<!DOCTYPE html><html>" }, "not-registry"],
    ["302 to a portal", { status: 302, apiVersion: null, location: "https://portal/login" }, "not-registry"],
    ["404", { status: 404, apiVersion: null, contentType: "text/plain", bodyStart: "404 page not found" }, "not-registry"],
    [
      "400 plain HTTP to HTTPS port",
      {
        status: 400,
        apiVersion: null,
        contentType: "text/html",
        bodyStart: "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title>",
      },
      "not-registry",
    ],
    ["403 JSON", { status: 403, apiVersion: null }, "not-registry"],
    ["500", { status: 500 }, "server-error"],
    ["502 HTML from a proxy", { status: 502, contentType: "text/html", apiVersion: null }, "server-error"],
  ];
  for (const [name, x, kind] of cases) test(name, () => expect(classifyV2(o(x)).kind).toBe(kind as never));
  test("served descriptions name what answered", () => {
    expect(classifyV2(o({ status: 302, apiVersion: null, location: "https://portal/login" }))).toEqual({
      kind: "not-registry",
      served: "a redirect (302) to https://portal/login",
    });
    const v = classifyV2(
      o({
        status: 400,
        apiVersion: null,
        contentType: "text/html",
        bodyStart: "<html><head><title>400 The plain HTTP request was sent to HTTPS port</title>",
      }),
    );
    expect(v.kind === "not-registry" && v.served).toContain('titled "400 The plain HTTP request was sent to HTTPS port"');
    expect(htmlTitle("<TITLE>\n  A \n B </TITLE>")).toBe("A B");
  });
});
