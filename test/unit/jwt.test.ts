import { describe, expect, test } from "bun:test";
import { checkTokenTimes, claimsEvidence, decodeJwt, grants } from "../../src/registry/jwt";

const enc = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
const jwt = (claims: unknown, header: unknown = { alg: "ES256", typ: "JWT", kid: "ABCD" }) => `${enc(header)}.${enc(claims)}.c2lnbmF0dXJl`;

describe("decodeJwt", () => {
  test("header and claims of a registry token", () => {
    const d = decodeJwt(
      jwt({
        iss: "auth.docker.io",
        sub: "u",
        aud: "registry.docker.io",
        exp: 2000,
        nbf: 1000,
        iat: 1000,
        access: [{ type: "repository", name: "library/nginx", actions: ["pull"] }],
      }),
    );
    expect(d?.header.alg).toBe("ES256");
    expect(d?.claims).toMatchObject({
      iss: "auth.docker.io",
      aud: "registry.docker.io",
      exp: 2000,
      access: [{ type: "repository", name: "library/nginx", actions: ["pull"] }],
    });
  });
  test("opaque tokens and garbage are not JWTs", () => {
    expect(decodeJwt("djE6Z2hjci5pbzpxxx")).toBeNull();
    expect(decodeJwt("a.b.c")).toBeNull();
    expect(decodeJwt("")).toBeNull();
  });
  test("access: null is an empty grant", () => {
    expect(decodeJwt(jwt({ access: null }))?.claims.access).toEqual([]);
  });
});

describe("grants", () => {
  const c = decodeJwt(
    jwt({
      access: [
        { type: "repository", name: "team/app", actions: ["pull", "push"] },
        { type: "repository", name: "all/star", actions: ["*"] },
      ],
    }),
  )!.claims;
  test.each([
    ["team/app", true],
    ["all/star", true],
    ["team/other", false],
  ] as const)("%s → %p", (name, want) => expect(grants(c, name)).toBe(want));
  test("an empty access claim grants nothing; no claim says nothing", () => {
    expect(grants({ access: [] }, "x")).toBe(false);
    expect(grants({}, "x")).toBeNull();
    expect(grants(null, "x")).toBeNull();
  });
});

describe("checkTokenTimes (registry leeway 60 s)", () => {
  const now = new Date(1_000_000 * 1000);
  const t = 1_000_000;
  test.each([
    ["fresh", { iat: t, nbf: t, exp: t + 300 }, null],
    ["nbf 59 s ahead is within leeway", { nbf: t + 59, exp: t + 300 }, null],
    ["nbf 10 min ahead", { nbf: t + 600, exp: t + 900 }, "nbf"],
    ["expired 61 s ago", { nbf: t - 400, exp: t - 61 }, "expired"],
    ["expired 30 s ago is within leeway", { exp: t - 30 }, null],
    ["iat in the future", { iat: t + 3600 }, "iat"],
  ] as const)("%s", (_n, claims, want) => {
    const r = checkTokenTimes(claims, now);
    if (want === null) expect(r.problem).toBeNull();
    else expect(r.problem).toContain(want);
  });
});

test("claimsEvidence is JSON-safe and never carries the signature", () => {
  const token = jwt({ iss: "i", exp: 2, access: [] }, { alg: "RS256", x5c: ["MIIB", "MIIC"] });
  const ev = claimsEvidence(decodeJwt(token));
  expect(ev).toMatchObject({ alg: "RS256", x5c: 2, iss: "i", exp: "1970-01-01T00:00:02.000Z", access: [] });
  expect(JSON.stringify(ev)).not.toContain("c2lnbmF0dXJl");
});
