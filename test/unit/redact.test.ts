import { describe, expect, test } from "bun:test";
import { inspect } from "node:util";
import { maskUserinfo, redactHeaders, redactUrl, scrubDeep, scrubText } from "../../src/model/redact";
import { knownSecretValues, REDACTED, rememberSecret, Secret } from "../../src/model/secret";
import { mirrorUrlError } from "../../src/registry/mirror-url";

describe("secrets never leak", () => {
  test("Secret serialises, prints and inspects as <redacted>", () => {
    const s = new Secret("hunter2-very-secret");
    expect(JSON.stringify({ s })).toBe(`{"s":"${REDACTED}"}`);
    expect(String(s)).toBe(REDACTED);
    expect(`${s}`).toBe(REDACTED);
    expect(inspect({ s })).not.toContain("hunter2");
    expect(s.reveal()).toBe("hunter2-very-secret");
  });
  test("headers: Authorization, Proxy-Authorization, Cookie in any case", () => {
    expect(redactHeaders({ Authorization: "Bearer abc", "proxy-authorization": "Basic x", COOKIE: "a=b", accept: "x" })).toEqual({
      Authorization: REDACTED,
      "proxy-authorization": REDACTED,
      COOKIE: REDACTED,
      accept: "x",
    });
  });
  test("URLs: userinfo and every query key outside the allowlist (signed CDN URLs)", () => {
    const u = redactUrl(
      "https://user:pw@cdn.example.com/blob?X-Amz-Signature=abc&X-Amz-Credential=def&scope=repository:a:pull&service=reg",
    );
    expect(u).not.toContain("pw");
    expect(u).not.toContain("abc");
    expect(u).not.toContain("def");
    expect(u).toContain("scope=repository%3Aa%3Apull");
  });
  test("scrubDeep: known secret values anywhere, JWTs, and secret-named keys", () => {
    new Secret("s3cr3t-value-123");
    const jwt = "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ1c2VyMTIzNDUifQ.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
    const out = JSON.stringify(scrubDeep({ a: "x s3cr3t-value-123 y", b: [jwt], password: "plain", nested: { token: "abc" }, ok: "fine" }));
    expect(out).not.toContain("s3cr3t-value-123");
    expect(out).not.toContain(jwt);
    expect(out).not.toContain("plain");
    expect(out).not.toContain('"abc"');
    expect(out).toContain("fine");
  });
  test("a Secret also remembers the forms its value travels in: the Authorization credential part, URL- and form-encoding", () => {
    const b64 = btoa("alice:pä ss/w+rd");
    new Secret(`Basic ${b64}`);
    new Secret("pä ss/w+rd-2");
    new Secret("Bearer tok.en-xyz-123");
    const known = knownSecretValues();
    expect(known).toContain(b64);
    expect(known).toContain("tok.en-xyz-123");
    expect(known).toContain(encodeURIComponent("pä ss/w+rd-2"));
    expect(known).toContain("p%C3%A4+ss%2Fw%2Brd-2");
    // Longest first, so a value containing another is replaced whole.
    expect(known).toEqual([...known].sort((a, b) => b.length - a.length));
  });
  test("scrubText: what the tool prints (human output, --verbose lines) loses every known secret and JWT", () => {
    rememberSecret("echoed-secret-991");
    const jwt = "eyJhbGciOiJFUzI1NiJ9.eyJzdWIiOiJhbGljZTEyMyJ9.c2lnbmF0dXJlc2lnbmF0dXJl";
    const out = scrubText(`x-echo: echoed-secret-991\nbody: echoed-secret-991%21 ${jwt}\n`);
    expect(out).toBe(`x-echo: ${REDACTED}\nbody: ${REDACTED}%21 ${REDACTED}\n`);
    // Short values are not scrubbed from free text (they would erase ordinary words).
    rememberSecret("pass");
    expect(scrubText("password")).toBe("password");
  });
  test.each([
    ["https://u:pw-123@mirror.example.com", "https://u:xxxxx@mirror.example.com"],
    ["https://u:p@ss@mirror.example.com/x", "https://u:xxxxx@mirror.example.com/x"],
    ["http://token@mirror.example.com", "http://token@mirror.example.com"],
    ["https://mirror.example.com/a@b", "https://mirror.example.com/a@b"],
    ["mirror.example.com", "mirror.example.com"],
  ])("maskUserinfo(%s): a mirror URL's password shows as xxxxx, as moby prints it", (raw, want) => {
    expect(maskUserinfo(raw)).toBe(want);
  });
  test("mirrorUrlError never quotes the password, whichever rule rejects the URL", () => {
    for (const raw of [
      "https://u:pw-secret-9@m.example.com",
      "https://u:pw-secret-9@m.example.com/?q=1",
      "ftp://u:pw-secret-9@m.example.com",
    ])
      expect(mirrorUrlError(raw)).not.toContain("pw-secret-9");
  });
});
