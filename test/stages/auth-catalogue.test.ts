import { describe, expect, test } from "bun:test";
import { auth, loginCommand } from "../../src/model/catalogue/auth";
import { v2 } from "../../src/model/catalogue/v2";
import { finding } from "../../src/model/finding";

const hub = {
  registry: "docker.io",
  host: "registry-1.docker.io",
  repository: "library/nginx",
  image: "nginx:latest",
  user: null,
  credSource: null,
};
const priv = {
  registry: "registry.example.com:5000",
  host: "registry.example.com:5000",
  repository: "team/app",
  image: "registry.example.com:5000/team/app:1.0",
  user: "alice",
  credSource: "auths[registry.example.com:5000] in /home/alice/.docker/config.json",
};

describe("auth and v2 catalogue words", () => {
  test("docker login line: bare for Docker Hub, with host[:port] otherwise", () => {
    expect(loginCommand("docker.io")).toBe("docker login");
    expect(loginCommand("registry.example.com:5000")).toBe("docker login registry.example.com:5000");
    expect(
      finding("AUTH_CREDENTIALS_REQUIRED", { ...hub, scheme: "bearer", status: 401, lookupKey: "https://index.docker.io/v1/" }).fixes[0],
    ).toBe("`docker login`");
    expect(
      finding("AUTH_CREDENTIALS_REQUIRED", { ...priv, user: null, scheme: "basic", status: 401, lookupKey: "registry.example.com:5000" })
        .fixes[0],
    ).toBe("`docker login registry.example.com:5000`");
  });

  test("AUTH_DENIED on Docker Hub says a missing repository looks the same and links the Hub page", () => {
    const f = finding("AUTH_DENIED", {
      ...hub,
      repository: "acme/privat",
      status: 401,
      message: 'error="insufficient_scope"',
      granted: "nothing for this repository",
      isHub: true,
    });
    expect(f.detail).toContain("repositories that do not exist");
    expect(f.fixes[0]).toContain("https://hub.docker.com/r/acme/privat");
    expect(f.fixes[1]).toContain("`docker login`");
  });

  test("every v2/auth entry renders without undefined/null holes", () => {
    const samples: Record<string, Record<string, unknown>> = {
      V2_NOT_A_REGISTRY: {
        url: "https://r/v2/",
        host: "r",
        status: 302,
        contentType: "text/html",
        served: "a redirect (302) to https://portal/login",
        location: "https://portal/login",
        title: null,
      },
      V2_SERVER_ERROR: {
        url: "https://r/v2/",
        host: "r",
        status: 503,
        statusText: "Service Unavailable",
        server: null,
        errors: [],
        retryAfter: null,
      },
      V2_NO_RESPONSE: { url: "https://r/v2/", host: "r:443", kind: "timeout", phase: "response", message: "no answer", timeoutMs: 15000 },
      AUTH_UNAUTHORIZED: { ...priv, where: "token service", status: 401, message: "UNKNOWN: incorrect username or password" },
      AUTH_DENIED: { ...priv, status: null, message: "", granted: "nothing for this repository", isHub: false },
      AUTH_CREDENTIALS_REQUIRED: { ...priv, scheme: "basic", status: 401, lookupKey: "registry.example.com:5000" },
      AUTH_TOKEN_SERVER_UNREACHABLE: {
        ...priv,
        realm: "https://auth.example.com/token",
        realmHost: "auth.example.com",
        status: null,
        message: "refused",
        kind: "refused",
      },
      AUTH_TOKEN_INVALID: { ...priv, realm: null, problem: "the body is not JSON" },
      AUTH_CHALLENGE_INVALID: { ...priv, url: "https://r/v2/", problem: "no realm", raw: ['Bearer service="x"'] },
      AUTH_CLOCK_SKEW: {
        ...priv,
        problem: "nbf in the future",
        localTime: "2026-01-01T00:00:00.000Z",
        registryDate: null,
        tokenServerDate: null,
      },
      AUTH_BASIC_OVER_HTTP: { ...priv, url: "http://r/v2/", sent: true, what: "the registry" },
      AUTH_NOT_SENT: {
        ...priv,
        url: "https://r/v2/team/app/manifests/1.0",
        scheme: "basic",
        client: "docker (classic image store)",
        sendsOn401: false,
        retry: { outcome: "accepted", sent: "Basic as alice", status: 200, message: "" },
      },
      AUTH_NO_RESPONSE: {
        ...priv,
        url: "https://r/v2/team/app/manifests/1.0",
        kind: "timeout",
        phase: "response",
        message: "no answer",
        timeoutMs: 15000,
      },
    };
    const codes = [...Object.keys(v2), ...Object.keys(auth)];
    expect(codes.sort()).toEqual(Object.keys(samples).sort());
    for (const code of codes) {
      const f = finding(code as never, samples[code] as never);
      const text = [f.title, f.detail, ...f.fixes].join("\n");
      expect({ code, holes: /undefined|(?<!\/dev\/)\bnull\b|\[object/.test(text) }).toEqual({ code, holes: false });
      expect(f.fixes.length).toBeGreaterThan(0);
    }
  });
});
