import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { challengeProblem, chooseChallenge, parseChallengeLine, parseChallenges } from "../../src/registry/challenge";

/**
 * WWW-Authenticate as docker/distribution parses it (authchallenge.go): generated
 * well-formed challenges read back to the generated parameters; anything else (64 KiB,
 * unbalanced quotes, control characters, invalid UTF-8 read as latin1) never throws and
 * takes linear time. challenges.json (test/unit/challenge-vectors.test.ts) pins the cases.
 */

// RFC 2616 token: printable ASCII without separators.
const TOKEN_CHARS = [...Array(127 - 33).keys()].map((i) => String.fromCharCode(33 + i)).filter((c) => !'"(),/:;<=>?@[]\\{}'.includes(c));
const token = fc.string({ unit: fc.constantFrom(...TOKEN_CHARS), minLength: 1, maxLength: 12 });
const scheme = fc.oneof(fc.constantFrom("Bearer", "Basic", "bearer", "BASIC", "Negotiate", "Digest"), token);
// Keys that are special to a JS object must still be plain parameters.
const key = fc.oneof(
  { arbitrary: fc.constantFrom("realm", "service", "scope", "error", "Realm", "__proto__", "constructor", "toString"), weight: 1 },
  { arbitrary: token, weight: 3 },
);
const ows = fc.constantFrom("", " ", "  ", "\t", " \t ");

/** A quoted string: any text (unicode too), `"` and `\` escaped, other characters escaped now and then. */
const quoted = fc
  .tuple(fc.string({ unit: "grapheme", minLength: 1, maxLength: 20 }), fc.array(fc.boolean(), { maxLength: 20 }))
  .map(([v, extra]) => {
    let out = "";
    [...v].forEach((ch, i) => {
      out += ch === '"' || ch === "\\" || (extra[i] && ch.length === 1 && ch < "\x80") ? `\\${ch}` : ch;
    });
    return { value: v, wire: `"${out}"` };
  });
const value = fc.oneof(
  token.map((t) => ({ value: t, wire: t })),
  quoted,
);

interface Generated {
  scheme: string;
  params: [string, { value: string; wire: string }][];
  seps: string[];
}
const challenge: fc.Arbitrary<Generated> = fc
  .tuple(
    scheme,
    fc.uniqueArray(fc.tuple(key, value), { maxLength: 5, selector: ([k]) => k.toLowerCase() }),
    fc.array(ows, { minLength: 12, maxLength: 12 }),
  )
  .map(([s, params, seps]) => ({ scheme: s, params, seps }));
const render = (c: Generated) => {
  if (c.params.length === 0) return c.scheme + c.seps[0]!;
  // scheme, at least one space, then key=value pairs; whitespace may sit around each comma.
  const pairs = c.params.map(([k, v], i) => `${i === 0 ? "" : `${c.seps[i]},${c.seps[i + 5]}`}${k}=${v.wire}`);
  return `${c.scheme} ${c.seps[0]}${pairs.join("")}${c.seps[11]}`;
};
const paramsOf = (c: Generated) => Object.fromEntries(c.params.map(([k, v]) => [k.toLowerCase(), v.value]));

describe("well-formed challenges", () => {
  test("parse back to the generated scheme and parameters", () => {
    fc.assert(
      fc.property(challenge, (c) => {
        const got = parseChallengeLine(render(c));
        expect(got?.scheme).toBe(c.scheme.toLowerCase());
        expect(got?.params).toEqual(paramsOf(c));
        expect(Object.keys(got!.params).sort()).toEqual(Object.keys(paramsOf(c)).sort());
      }),
      { numRuns: 4000 },
    );
  }, 20_000);

  test("one challenge per header line, in order", () => {
    fc.assert(
      fc.property(fc.array(challenge, { maxLength: 4 }), (cs) => {
        const got = parseChallenges(cs.map(render));
        expect(got.map((c) => [c.scheme, { ...c.params }])).toEqual(cs.map((c) => [c.scheme.toLowerCase(), paramsOf(c)]));
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("a second challenge after a comma on the same line is lost, as in Docker", () => {
    const second = fc.tuple(scheme, fc.constantFrom("", " realm=x", ' realm="y", service=z', " abc123==")).map(([s, rest]) => s + rest);
    fc.assert(
      fc.property(challenge, second, (c, other) => {
        const line = `${c.scheme} ${c.params.map(([k, v]) => `${k}=${v.wire}`).join(", ")}`;
        expect(parseChallengeLine(`${line}, ${other}`)).toEqual(parseChallengeLine(line));
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("a token68 credential (Negotiate abc==) carries no parameters", () => {
    const token68 = fc
      .tuple(fc.string({ unit: fc.constantFrom(..."abcXYZ019-._~+/"), minLength: 1, maxLength: 20 }), fc.constantFrom("", "=", "=="))
      .map(([a, b]) => a + b);
    fc.assert(
      fc.property(scheme, token68, (s, t) => {
        expect(parseChallengeLine(`${s} ${t}`)).toEqual({ scheme: s.toLowerCase(), params: {} });
      }),
      { numRuns: 2000 },
    );
  }, 20_000);
});

describe("hostile header values", () => {
  const latin1 = fc.uint8Array({ maxLength: 200 }).map((b) => Buffer.from(b).toString("latin1"));
  const nearChallenge = fc
    .tuple(
      challenge.map(render),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom('"', "\\", ",", "=", "\x00", "\x7f", "\n", "\xff", " ")), { maxLength: 4 }),
    )
    .map(([s, edits]) => {
      let out = s;
      for (const [at, ch] of edits) {
        const i = at % (out.length + 1);
        out = out.slice(0, i) + ch + out.slice(i);
      }
      return out;
    });
  const anyLine = fc.oneof(fc.string({ unit: "binary", maxLength: 200 }), latin1, nearChallenge);

  test("any line: a challenge or null, string parameters, never an exception", () => {
    fc.assert(
      fc.property(fc.array(anyLine, { maxLength: 3 }), (lines) => {
        const chs = parseChallenges(lines);
        for (const c of chs) {
          expect(c.scheme).toMatch(/^[!#$%&'*+.^_`|~0-9a-z-]+$/);
          for (const [k, v] of Object.entries(c.params)) {
            expect(k).toBe(k.toLowerCase());
            expect(typeof v).toBe("string");
            expect(v.length).toBeGreaterThan(0);
          }
        }
        const chosen = chooseChallenge(chs);
        const problem = challengeProblem(chs, chosen);
        expect(problem === null || typeof problem === "string").toBe(true);
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("64 KiB values (unbalanced quotes, escapes, commas, control bytes, latin1) finish in linear time", () => {
    const unit = fc.constantFrom('"', "\\", ",", "=", "a", " ", "\x00", "\xff", 'realm="', "a=b,", '\\"', "\t");
    const big = fc
      .tuple(fc.constantFrom("Bearer ", "Basic ", "", 'Bearer realm="'), fc.array(unit, { minLength: 1, maxLength: 6 }))
      .map(([head, pattern]) => {
        const p = pattern.join("");
        return (head + p.repeat(Math.ceil(65536 / p.length))).slice(0, 65536);
      });
    fc.assert(
      fc.property(big, (line) => {
        const t0 = performance.now();
        parseChallenges([line, line]);
        // Linear work is ~1-5 ms here; catastrophic backtracking would take seconds.
        expect(performance.now() - t0).toBeLessThan(1000);
      }),
      // Each case parses two 64 KiB lines: 200 runs.
      { numRuns: 200 },
    );
  }, 20_000);
});
