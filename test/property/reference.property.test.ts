import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { matchReference, NAME_TOTAL_LENGTH_MAX, parseReference, ReferenceParseError } from "../../src/registry/reference";
import { escapeOutcome, referenceOutcome } from "../../src/stages/reference";

/**
 * The reference parser against distribution/reference's grammar (regexp.go), written here
 * as arbitraries, and its normalization (normalize.go: splitDockerDomain, familiarizeName).
 */

const chars = (set: string, minLength: number, maxLength: number) => fc.string({ unit: fc.constantFrom(...set), minLength, maxLength });
const LOWER_ALNUM = "abcdefghijklmnopqrstuvwxyz0123456789";
const ALNUM = `${LOWER_ALNUM}ABCDEFGHIJKLMNOPQRSTUVWXYZ`;
const WORD = `${ALNUM}_`;
const HEX = "0123456789abcdef";

// alphanumeric := [a-z0-9]+ ; separator := [_.]|__|[-]+ ; path-component := alphanumeric (separator alphanumeric)*
const alphanumeric = chars(LOWER_ALNUM, 1, 6);
const separator = fc.constantFrom(".", "_", "__", "-", "--", "---");
const pathComponent = fc
  .tuple(alphanumeric, fc.array(fc.tuple(separator, alphanumeric), { maxLength: 2 }))
  .map(([a, rest]) => a + rest.map(([s, b]) => s + b).join(""));
const path = fc.array(pathComponent, { minLength: 1, maxLength: 4 }).map((cs) => cs.join("/"));
// domain-name-component := [a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]
const domainComponent = fc.oneof(
  chars(ALNUM, 1, 1),
  fc.tuple(chars(ALNUM, 1, 1), chars(`${ALNUM}-`, 0, 6), chars(ALNUM, 1, 1)).map((xs) => xs.join("")),
);
const domainName = fc.array(domainComponent, { minLength: 1, maxLength: 4 }).map((cs) => cs.join("."));
// ipv6address := \[ [a-fA-F0-9:]+ \] (with a ':' in this generator: see the bracket quirk below)
const ipv6 = fc.tuple(chars("0123456789abcdefABCDEF:", 0, 8), chars("0123456789abcdefABCDEF:", 0, 8)).map(([a, b]) => `[${a}:${b}]`);
const port = chars("0123456789", 1, 5);
const domain = fc
  .tuple(
    fc.oneof(
      { arbitrary: domainName, weight: 4 },
      { arbitrary: ipv6, weight: 1 },
      { arbitrary: fc.constantFrom("localhost", "docker.io", "index.docker.io"), weight: 1 },
    ),
    fc.option(port, { nil: null }),
  )
  .map(([h, p]) => (p === null ? h : `${h}:${p}`));
// tag := [\w][\w.-]{0,127}
const tag = fc.tuple(chars(WORD, 1, 1), chars(`${WORD}.-`, 0, 127)).map(([a, b]) => a + b);
/** A digest Docker can verify: a known algorithm, lowercase hex of its length. */
const validDigest = fc
  .constantFrom(["sha256", 64], ["sha384", 96], ["sha512", 128] as const)
  .chain(([alg, n]) => chars(HEX, n as number, n as number).map((h) => `${alg}:${h}`));
/** digest := algorithm ":" hex{32,}: the grammar's wider set (unknown algorithms, upper case, any length). */
const anyDigest = fc
  .tuple(
    chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 1),
    chars(ALNUM, 0, 6),
    fc.array(
      fc.tuple(
        fc.constantFrom("-", "_", "+", "."),
        chars("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ", 1, 1),
        chars(ALNUM, 0, 3),
      ),
      { maxLength: 2 },
    ),
    chars(`${HEX}ABCDEF`, 32, 130),
  )
  .map(([a, b, rest, hex]) => `${a}${b}${rest.map((r) => r.join("")).join("")}:${hex}`);

interface Parts {
  domain: string | null;
  path: string;
  tag: string | null;
  digest: string | null;
}
const parts = (digest: fc.Arbitrary<string>): fc.Arbitrary<Parts> =>
  fc.record({
    domain: fc.option(domain, { nil: null }),
    path,
    tag: fc.option(tag, { nil: null }),
    digest: fc.option(digest, { nil: null }),
  });
const render = (p: Parts) =>
  `${p.domain !== null ? `${p.domain}/` : ""}${p.path}${p.tag !== null ? `:${p.tag}` : ""}${p.digest !== null ? `@${p.digest}` : ""}`;

/**
 * normalize.go's splitDockerDomain + the library/ rule, as the model of the parsed parts.
 * It reads the first component of the rendered name, whichever arbitrary produced it: a
 * path "a.b/c" starts with a host, as in Docker. A first component Docker takes as a host
 * but the grammar refuses as one ("a_b.c/d") leaves Docker's parser with an empty domain
 * (the daemon then fails): the parser refuses it as "bad-host".
 */
type Want = { registry: string; repository: string; tag: string | null; digest: string | null } | "bad-host";
const DOMAIN_RE =
  /^(?:(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])(?:\.(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9]))*|\[[a-fA-F0-9:]+\])(?::[0-9]+)?$/;
function expected(p: Parts): Want {
  const name = p.domain !== null ? `${p.domain}/${p.path}` : p.path;
  let registry = "docker.io";
  let repository = name;
  const slash = name.indexOf("/");
  if (slash >= 0) {
    const first = name.slice(0, slash);
    const isHost = /[.:]/.test(first) || first === "localhost" || first.toLowerCase() !== first;
    if (isHost && !DOMAIN_RE.test(first)) return "bad-host";
    if (isHost) [registry, repository] = [first === "index.docker.io" ? "docker.io" : first, name.slice(slash + 1)];
  }
  if (registry === "docker.io" && !repository.includes("/")) repository = `library/${repository}`;
  return { registry, repository, tag: p.tag ?? (p.digest === null ? "latest" : null), digest: p.digest };
}
const kindOf = (f: () => unknown): string | null => {
  try {
    f();
    return null;
  } catch (e) {
    return e instanceof ReferenceParseError ? e.kind : `not a ReferenceParseError: ${String(e)}`;
  }
};

const isImageId = (p: Parts) => p.domain === null && p.tag === null && p.digest === null && /^[a-f0-9]{64}$/.test(p.path);
const grammatical = parts(validDigest).filter((p) => !isImageId(p) && expected(p) !== "bad-host");
const pick = (r: ReturnType<typeof parseReference>) => ({ registry: r.registry, repository: r.repository, tag: r.tag, digest: r.digest });

describe("grammatical references", () => {
  test("every one parses, to the parts normalize.go gives (or is Docker's empty-domain case, refused as bad-host)", () => {
    fc.assert(
      fc.property(
        parts(validDigest).filter((p) => !isImageId(p)),
        (p) => {
          const want = expected(p);
          if (want === "bad-host") expect(kindOf(() => parseReference(render(p)))).toBe("bad-host");
          else expect(pick(parseReference(render(p)))).toEqual(want);
        },
      ),
      { numRuns: 4000 },
    );
  }, 20_000);

  test("the canonical name re-parses to the same parts, and normalizing is idempotent", () => {
    fc.assert(
      fc.property(grammatical, (p) => {
        const r = parseReference(render(p));
        const again = parseReference(r.canonical);
        expect(pick(again)).toEqual(pick(r));
        expect([again.canonical, again.familiar]).toEqual([r.canonical, r.familiar]);
        expect(r.canonical.startsWith(`${r.registry}/`)).toBe(true);
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("familiar ↔ canonical: docker.io/ and a lone library/ dropped, and the familiar name means the same image", () => {
    fc.assert(
      fc.property(grammatical, (p) => {
        const r = parseReference(render(p));
        const suffix = r.canonical.slice(`${r.registry}/${r.repository}`.length);
        if (r.registry !== "docker.io") expect(r.familiar).toBe(r.canonical);
        else if (/^library\/[^/]+$/.test(r.repository)) expect(r.familiar).toBe(r.repository.slice("library/".length) + suffix);
        else expect(r.familiar).toBe(r.repository + suffix);
        const first = r.familiar.split("/")[0]!;
        // Docker's own quirk (familiarizeName): docker.io/a.b/c shows as "a.b/c", which reads
        // back as host a.b (or, for "a.b_c/d", as Docker's empty domain: bad-host).
        // Everywhere else the familiar name is the same reference.
        if (r.registry === "docker.io" && r.familiar.includes("/") && (/[.:]/.test(first) || first === "localhost")) {
          const kind = kindOf(() => parseReference(r.familiar));
          if (kind === null) expect(parseReference(r.familiar).registry).toBe(first);
          else expect(kind).toBe("bad-host");
        } else expect(pick(parseReference(r.familiar))).toEqual(pick(r));
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("a grammatical digest Docker cannot verify is a digest error, never another kind", () => {
    fc.assert(
      fc.property(
        parts(anyDigest).filter((p) => p.digest !== null && expected(p) !== "bad-host"),
        (p) => {
          const kind = kindOf(() => parseReference(render(p)));
          // An upper-case algorithm is also upper case in the name part Docker checks ("app@SHA256").
          if (kind !== null) expect(["digest-invalid", "digest-length", "digest-unsupported", "uppercase"]).toContain(kind);
          else expect(pick(parseReference(render(p))) as Want).toEqual(expected(p));
        },
      ),
      { numRuns: 2000 },
    );
  }, 20_000);
});

describe("the one-pass grammar", () => {
  // distribution/reference regexp.go as reference.ts had it before: ReferenceRegexp, then
  // anchoredNameRegexp on the name it captured (the oracle for the one-pass split).
  const domainComp = "(?:[a-zA-Z0-9]|[a-zA-Z0-9][a-zA-Z0-9-]*[a-zA-Z0-9])";
  const domainAndPort = `(?:${domainComp}(?:\\.${domainComp})*|\\[(?:[a-fA-F0-9:]+)\\])(?::[0-9]+)?`;
  const component = "[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*";
  const remoteName = `${component}(?:/${component})*`;
  const digest = "[A-Za-z][A-Za-z0-9]*(?:[-_+.][A-Za-z][A-Za-z0-9]*)*[:][0-9A-Fa-f]{32,}";
  const REFERENCE = new RegExp(`^((?:${domainAndPort}/)?${remoteName})(?::([\\w][\\w.-]{0,127}))?(?:@(${digest}))?$`);
  const ANCHORED_NAME = new RegExp(`^(?:(${domainAndPort})/)?(${remoteName})$`);
  const twoPass = (s: string) => {
    const m = REFERENCE.exec(s);
    if (!m) return null;
    const nm = ANCHORED_NAME.exec(m[1]!)!;
    return { domain: nm[1] ?? "", path: nm[2]!, tag: m[2] ?? null, digest: m[3] ?? null };
  };
  const edited = fc
    .tuple(
      fc.oneof(parts(validDigest).map(render), parts(anyDigest).map(render)),
      fc.array(fc.tuple(fc.nat(), fc.boolean(), fc.constantFrom(":", "/", "@", ".", "-", "_", "A", "[", "]", "1")), { maxLength: 3 }),
    )
    .map(([r, edits]) => {
      let out = r;
      for (const [at, insert, c] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        out = out.slice(0, i) + c + out.slice(insert ? i : i + 1);
      }
      return out;
    });
  const strings = fc.oneof(
    parts(validDigest).map(render),
    parts(anyDigest).map(render),
    edited,
    fc.string({ unit: fc.constantFrom(..."aZ0:/@._-[]"), maxLength: 24 }),
  );

  test("splits and refuses every string exactly as distribution's two expressions do", () => {
    fc.assert(
      fc.property(strings, (s) => {
        expect([s, matchReference(s)]).toEqual([s, twoPass(s)]);
      }),
      { numRuns: 20000 },
    );
  }, 30_000);

  test("the oracle agrees on the cases that matter: host-like first components, ports, IPv6, bad hosts", () => {
    for (const s of [
      "a/b",
      "a.b/c",
      "a.b_c/d",
      "localhost:5000/x:1",
      `[::1]:5000/app@sha256:${"a".repeat(64)}`,
      "A/b",
      "a:1",
      "a:1/b",
      "a/b:c:d",
    ])
      expect([s, matchReference(s)]).toEqual([s, twoPass(s)]);
  });
});

describe("length limits", () => {
  test(`the repository path may hold ${NAME_TOTAL_LENGTH_MAX} characters, not one more (the domain not counted)`, () => {
    const longPath = fc.tuple(
      fc.array(chars(LOWER_ALNUM, 1, 40), { minLength: 6, maxLength: 12 }),
      fc.option(fc.constantFrom("registry.example.com:5000", "localhost", "docker.io"), { nil: null }),
    );
    fc.assert(
      fc.property(longPath, ([cs, d]) => {
        const p: Parts = { domain: d, path: cs.join("/"), tag: null, digest: null };
        const want = expected(p);
        if (want === "bad-host") throw new Error("no host-like component is generated here");
        if (want.repository.length <= NAME_TOTAL_LENGTH_MAX) expect(pick(parseReference(render(p)))).toEqual(want);
        else expect(kindOf(() => parseReference(render(p)))).toBe("name-too-long");
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("a tag may hold 128 characters, not one more", () => {
    fc.assert(
      fc.property(fc.tuple(chars(WORD, 1, 1), chars(`${WORD}.-`, 100, 140)), ([a, b]) => {
        const t = a + b;
        expect(kindOf(() => parseReference(`registry.example.com/app:${t}`))).toBe(t.length <= 128 ? null : "invalid");
      }),
      { numRuns: 2000 },
    );
  }, 20_000);
});

/** What a terminal acts on: C0 controls but tab and newline, DEL, C1 (CSI). */
const TERMINAL_CONTROLS = /[\x00-\x08\x0b-\x1f\x7f-\x9f]/;
/** Every string (keys too) in a JSON-like value. */
const allStrings = (v: unknown): string[] =>
  typeof v === "string"
    ? [v]
    : Array.isArray(v)
      ? v.flatMap(allStrings)
      : v && typeof v === "object"
        ? Object.entries(v).flatMap(([k, x]) => [k, ...allStrings(x)])
        : [];

describe("hostile input", () => {
  /** A grammatical reference with a few bytes inserted, deleted or replaced. */
  const mutated = fc
    .tuple(
      grammatical.map(render),
      fc.array(fc.tuple(fc.nat(), fc.constantFrom("ins", "del", "rep"), fc.string({ unit: "binary", minLength: 1, maxLength: 2 })), {
        minLength: 1,
        maxLength: 3,
      }),
    )
    .map(([s, edits]) => {
      let out = s;
      for (const [at, op, x] of edits) {
        const i = out.length === 0 ? 0 : at % out.length;
        out =
          op === "ins"
            ? out.slice(0, i) + x + out.slice(i)
            : op === "del"
              ? out.slice(0, i) + out.slice(i + 1)
              : out.slice(0, i) + x + out.slice(i + 1);
      }
      return out;
    });
  const anyInput = fc.oneof(
    mutated,
    fc.string({ unit: "binary", maxLength: 80 }),
    fc.string({ unit: chars("aA0:/@._-[]\x1b\x07\x9b", 1, 1), maxLength: 40 }),
  );

  test("any string parses or is a ReferenceParseError, the stage turns the error into a finding, and no terminal control reaches the report", () => {
    fc.assert(
      fc.property(anyInput, (s) => {
        let failed = false;
        try {
          parseReference(s);
        } catch (e) {
          expect(e).toBeInstanceOf(ReferenceParseError);
          failed = true;
        }
        const out = referenceOutcome(s);
        if (failed) {
          expect(out.provides).toBeUndefined();
          expect(out.findings).toHaveLength(1);
          expect(["REF_INVALID", "REF_UPPERCASE"]).toContain(out.findings[0]!.code);
          expect(out.findings[0]!.severity).toBe("error");
        } else expect(out.provides?.ref?.canonical).toBeString();
        // Nothing a terminal acts on reaches the report (ESC, BEL, CSI are shown as \xNN).
        for (const text of allStrings([out.summary, out.evidence, out.findings])) expect(text).not.toMatch(TERMINAL_CONTROLS);
        // referenceOutcome skips the escaping copy for an input with nothing to escape: escaping
        // its outcome again changes nothing, whichever way it went.
        expect(escapeOutcome(out)).toEqual(out);
      }),
      { numRuns: 4000 },
    );
  }, 20_000);

  test("64 KiB inputs finish fast (no catastrophic backtracking in the grammar's regexps)", () => {
    const unit = fc.constantFrom("a", "a.", "a-", "a/", "A", "a:", "a__", "[", ":", "@", "0", "sha256:", "!");
    fc.assert(
      fc.property(fc.array(unit, { minLength: 1, maxLength: 4 }), fc.constantFrom("", "!", "/", ":", "@", "A"), (pattern, tail) => {
        const body = pattern
          .join("")
          .repeat(Math.ceil(65536 / pattern.join("").length))
          .slice(0, 65536);
        const t0 = performance.now();
        referenceOutcome(body + tail);
        // Linear work is ~10-80 ms here; a quadratic regexp would take seconds.
        expect(performance.now() - t0).toBeLessThan(1000);
      }),
      // Each case parses 64 KiB several times (~5-20 ms): 100 runs.
      { numRuns: 100 },
    );
  }, 20_000);
});
