import { describe, expect, test } from "bun:test";
import { challengeProblem, chooseChallenge, parseChallengeLine, parseChallenges } from "../../src/registry/challenge";
import { readVectors } from "../helpers/vectors";

interface Case {
  id: string;
  headers: string[];
  expect: { distribution: { challenges: { scheme: string; params: Record<string, string> }[] } };
}

// Recorded from the real parsers (see test/vectors/README.md); the distribution column is Docker.
const cases = (readVectors<{ cases: Case[] }>("challenges.json") as { cases: Case[] }).cases;

describe("WWW-Authenticate as docker/distribution parses it (challenges.json, every case)", () => {
  test("all 77 cases are present", () => {
    expect(cases.length).toBe(77);
  });
  for (const c of cases) {
    test(c.id, () => {
      expect(parseChallenges(c.headers)).toEqual(c.expect.distribution.challenges);
    });
  }
});

describe("choosing and validating", () => {
  test("bearer wins over basic whatever the order", () => {
    const chs = parseChallenges(['Basic realm="b"', 'Bearer realm="https://a.example/token",service="a"']);
    expect(chooseChallenge(chs)?.scheme).toBe("bearer");
  });
  test("only negotiate/ntlm: nothing Docker can answer", () => {
    const chs = parseChallenges(["NTLM", "Negotiate"]);
    expect(chooseChallenge(chs)).toBeNull();
    expect(challengeProblem(chs, null)).toContain("no Bearer or Basic");
  });
  test("no challenge at all", () => {
    expect(challengeProblem([], null)).toContain("no WWW-Authenticate");
  });
  test("bearer without realm / with a realm that is not a URL", () => {
    const a = parseChallenges(['Bearer service="gcr.io"']);
    expect(challengeProblem(a, chooseChallenge(a))).toContain("no realm");
    const b = parseChallenges(['Bearer realm="/token"']);
    expect(challengeProblem(b, chooseChallenge(b))).toContain("not an absolute URL");
    const c = parseChallenges(['Bearer realm="ftp://x/token"']);
    expect(challengeProblem(c, chooseChallenge(c))).toContain("not an http(s) URL");
  });
  test("usable challenges", () => {
    const a = parseChallenges(['Bearer realm="https://auth.docker.io/token",service="registry.docker.io"']);
    expect(challengeProblem(a, chooseChallenge(a))).toBeNull();
    const b = parseChallenges(['Basic realm="Registry Realm"']);
    expect(challengeProblem(b, chooseChallenge(b))).toBeNull();
  });
});

describe("parameters named like Object.prototype members", () => {
  test("__proto__ is kept as a parameter (shrunk from the property test: `! __proto__=!`)", () => {
    // Before: `params[key] = value` hit the __proto__ setter and the parameter vanished.
    const c = parseChallengeLine('Bearer __proto__="x", constructor=y, realm="https://a.example/token"')!;
    expect(Object.keys(c.params)).toEqual(["__proto__", "constructor", "realm"]);
    expect(Object.getOwnPropertyDescriptor(c.params, "__proto__")?.value).toBe("x");
    expect(Object.getPrototypeOf(c.params)).toBe(Object.prototype);
    expect(parseChallengeLine("! __proto__=!")!.params).toEqual(Object.fromEntries([["__proto__", "!"]]));
  });
});
