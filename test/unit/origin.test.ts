import { describe, expect, test } from "bun:test";
import { Secret } from "../../src/model/secret";
import {
  bareHost,
  basicAuthorization,
  credentialsAllowed,
  hostPort,
  joinHostPort,
  plainHttpAllowed,
  redirectTo,
  serverNameFor,
  tlsOptions,
} from "../../src/net/origin";

describe("credentialsAllowed: the one rule for where a credential may go (doctor and pull alike)", () => {
  test.each([
    // url the request goes to | where the credentials belong | insecure | may they go?
    ["https://registry.example.com/v2/x/blobs/sha256:a", "https://registry.example.com", false, true],
    // The host is compared case-insensitively, and the default port is the same origin.
    ["https://REGISTRY.example.com:443/v2/x", "https://registry.example.com", false, true],
    // Another port is another service (Go would forward Authorization there).
    ["https://registry.example.com:8443/v2/x", "https://registry.example.com", false, false],
    // A redirect host: a CDN, an object store, a subdomain. Its signed URL carries its own credentials.
    ["https://production.cloudflare.docker.com/x", "https://registry-1.docker.io", false, false],
    ["https://cdn.registry.example.com/x", "https://registry.example.com", false, false],
    // Another scheme on the same host: a downgrade never carries them, even for an insecure registry…
    ["http://registry.example.com/x", "https://registry.example.com", false, false],
    ["http://registry.example.com/x", "https://registry.example.com", true, false],
    // …nor an upgrade: another scheme is another origin.
    ["https://127.0.0.1:5000/x", "http://127.0.0.1:5000", true, false],
    // Plain http only to an insecure registry (configured, loopback, or an http:// mirror).
    ["http://127.0.0.1:5000/x", "http://127.0.0.1:5000", true, true],
    ["http://127.0.0.1:5000/x", "http://127.0.0.1:5000", false, false],
    ["http://127.0.0.9:9/x", "http://127.0.0.1:5000", true, false],
    // IPv6 literals: the same origin with and without the default port.
    ["https://[::1]/v2/", "https://[::1]:443", false, true],
    ["https://[::1]:5000/v2/", "https://[::1]", false, false],
    // A token realm: the credentials go to the realm the registry named, over http only when insecure.
    ["https://auth.example.com/token?service=x", "https://auth.example.com/token", false, true],
    ["http://auth.example.com/token?service=x", "http://auth.example.com/token", false, false],
    ["http://auth.example.com/token?service=x", "http://auth.example.com/token", true, true],
  ])("%s for %s (insecure %p) → %p", (url, to, insecure, want) => expect(credentialsAllowed(url, { url: to, insecure })).toBe(want));

  test.each([
    ["https://auth.example.com/token", false, true],
    ["http://auth.example.com/token", false, false],
    ["HTTP://auth.example.com/token", false, false],
    ["http://auth.example.com/token", true, true],
  ])("the http realm rule: %s (insecure %p) → %p", (url, insecure, want) => expect(plainHttpAllowed(url, insecure)).toBe(want));
});

describe("hostPort and friends: one place for brackets and default ports", () => {
  test.each([
    ["https://registry.example.com/v2/", "registry.example.com", 443],
    ["http://registry.example.com/v2/", "registry.example.com", 80],
    ["https://registry.example.com:5000", "registry.example.com", 5000],
    ["https://[::1]/v2/", "::1", 443],
    ["http://[fe80::1]:8080/", "fe80::1", 8080],
    ["http://10.0.0.1:3128", "10.0.0.1", 3128],
  ])("%s → %s:%d", (url, host, port) => expect(hostPort(url)).toEqual({ host, port }));

  test("bareHost, joinHostPort and serverNameFor", () => {
    expect(bareHost("[::1]")).toBe("::1");
    expect(bareHost("example.com")).toBe("example.com");
    expect(joinHostPort("::1", 443)).toBe("[::1]:443");
    expect(joinHostPort("example.com", "5000")).toBe("example.com:5000");
    expect(serverNameFor("registry.example.com")).toBe("registry.example.com");
    expect(serverNameFor("[::1]")).toBeUndefined();
    expect(serverNameFor("127.0.0.1")).toBeUndefined();
  });
});

describe("redirectTo: what a Location may lead to", () => {
  test.each([
    ["/v2/x", "https://r.example.com/v2/y", { kind: "next", url: "https://r.example.com/v2/x" }],
    ["https://cdn.example.net/b?sig=1", "https://r.example.com/v2/y", { kind: "next", url: "https://cdn.example.net/b?sig=1" }],
    ["file:///etc/passwd", "https://r.example.com/v2/y", { kind: "scheme", scheme: "file" }],
    ["ftp://x/y", "https://r.example.com/v2/y", { kind: "scheme", scheme: "ftp" }],
    ["http://[::1", "https://r.example.com/v2/y", { kind: "invalid" }],
  ])("%s from %s", (location, from, want) => {
    const r = redirectTo(location, from);
    expect(r.kind === "next" ? { kind: r.kind, url: r.url.toString() } : r).toEqual(want as never);
  });
});

test("basicAuthorization is RFC 7617 and stays a Secret", () => {
  const v = basicAuthorization("alice", new Secret("pa:ss"));
  expect(v.reveal()).toBe(`Basic ${Buffer.from("alice:pa:ss").toString("base64")}`);
  expect(JSON.stringify({ v })).not.toContain(Buffer.from("alice:pa:ss").toString("base64"));
});

test("tlsOptions: certs.d CAs join the system roots; skip-verify and the client certificate pass through", () => {
  expect(tlsOptions(undefined)).toEqual({ rejectUnauthorized: true });
  const o = tlsOptions({ ca: ["PEM-CA"], cert: "PEM-CERT", key: new Secret("PEM-KEY"), verify: false });
  expect(o.rejectUnauthorized).toBe(false);
  expect(o.ca?.at(-1)).toBe("PEM-CA");
  expect((o.ca?.length ?? 0) > 1).toBe(true);
  expect(o.cert).toBe("PEM-CERT");
  expect(o.key).toBe("PEM-KEY");
});
