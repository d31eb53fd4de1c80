import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import fc from "fast-check";
import { convertToHostname, parseEnvAuthConfig } from "../../src/host/credentials";
import { parseDaemonJson, readDaemonJson } from "../../src/host/daemon-config";
import { CONFIG_FILE, decodeAuth, goBase64Decode, loadDockerConfig, parseConfigBytes } from "../../src/host/docker-config";
import { decodeFirstValue, MAX_NESTING_DEPTH } from "../../src/host/go-json";
import type { Facts } from "../../src/model/facts";
import { parseReference } from "../../src/registry/reference";
import { configStage } from "../../src/stages/config";
import { tempDir, testContext, testDeps } from "../helpers/context";

/**
 * config.json, daemon.json and DOCKER_AUTH_CONFIG as hostile local input: whatever the
 * bytes, the loaders return a value (a problem Docker would print, or a config) and the
 * config stage turns every problem into a finding; nothing throws, nothing is written.
 * Seeds are random; fast-check prints the seed and the shrunk counterexample on failure.
 */

const t = tempDir("pd-prop-config-");
afterAll(() => t.cleanup());

const enc = new TextEncoder();
const KNOWN = Object.keys((CONFIG_FILE as { fields: Record<string, unknown> }).fields);
const PROBLEM_KINDS = ["read", "syntax", "type", "auth"];

/** Every value the decoder can meet, nested a little. */
const jsonValue = fc.jsonValue({ maxDepth: 3 });

/** Names with the characters a terminal acts on (ESC, BEL, CSI, NUL) among ordinary ones. */
const controlish = fc.string({
  unit: fc.constantFrom("a", "b", ".", ":", "/", "-", "\x1b", "\x07", "\x9b", "\x00", "[", "]"),
  maxLength: 12,
});

/** A config.json-shaped object whose known fields (any case, as Go matches them) hold anything. */
const configish = fc
  .dictionary(
    fc.oneof(
      fc.constantFrom(...KNOWN),
      fc.constantFrom(...KNOWN).map((k) => k.toUpperCase()),
      fc.string({ maxLength: 8 }),
    ),
    fc.oneof(
      jsonValue,
      controlish,
      fc.dictionary(
        fc.oneof(fc.string({ maxLength: 12 }), controlish),
        fc.oneof(
          jsonValue,
          controlish,
          fc.record(
            { auth: fc.oneof(fc.string(), fc.base64String(), jsonValue), username: jsonValue, password: jsonValue },
            { requiredKeys: [] },
          ),
        ),
      ),
    ),
    { maxKeys: 6 },
  )
  .map((o) => JSON.stringify(o));

/** Insert, delete or replace a few bytes of a text: near-JSON that is usually broken. */
const mutated = (base: fc.Arbitrary<string>) =>
  fc
    .tuple(
      base,
      fc.array(fc.tuple(fc.nat(), fc.constantFrom("ins", "del", "rep"), fc.string({ unit: "binary", minLength: 1, maxLength: 3 })), {
        maxLength: 4,
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

/** The same key twice or more (Go: the last one wins for strings, maps merge). */
const duplicated = fc
  .array(fc.tuple(fc.constantFrom("auths", "credsStore", "credHelpers", "AUTHS", "currentContext"), jsonValue), {
    minLength: 2,
    maxLength: 5,
  })
  .map((pairs) => `{${pairs.map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")}}`);

/** Nesting around Go's limit (10,000), under a known field or at the top. */
const deep = fc
  .tuple(
    fc.integer({ min: MAX_NESTING_DEPTH - 3, max: MAX_NESTING_DEPTH + 3000 }),
    fc.constantFrom("[", '{"a":'),
    fc.boolean(),
    fc.constantFrom(...KNOWN),
  )
  .map(([d, open, closed, field]) => {
    const close = open === "[" ? "]" : "}";
    return `{"${field}":${open.repeat(d)}${closed ? `1${close.repeat(d)}` : ""}}`;
  });

/** Every string (keys too) in a JSON-like value. */
const allStrings = (v: unknown): string[] =>
  typeof v === "string"
    ? [v]
    : Array.isArray(v)
      ? v.flatMap(allStrings)
      : v && typeof v === "object"
        ? Object.entries(v).flatMap(([k, x]) => [k, ...allStrings(x)])
        : [];

const withBom = (a: fc.Arbitrary<string>) => a.map((s) => `\ufeff${s}`);

/** Any text a user's config.json may hold, as bytes (invalid UTF-8 included). */
const configBytes: fc.Arbitrary<Uint8Array> = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 200 }).map((s) => enc.encode(s)),
  fc.json({ maxDepth: 4 }).map((s) => enc.encode(s)),
  configish.map((s) => enc.encode(s)),
  mutated(configish).map((s) => enc.encode(s)),
  duplicated.map((s) => enc.encode(s)),
  withBom(configish).map((s) => enc.encode(s)),
);

function expectConfigShape(r: ReturnType<typeof parseConfigBytes>): void {
  expect(r.file.auths).toBeInstanceOf(Map);
  for (const [k, a] of r.file.auths) {
    expect(typeof k).toBe("string");
    for (const v of Object.values(a)) expect(v === undefined || typeof v === "string").toBe(true);
  }
  expect(typeof r.file.credsStore).toBe("string");
  expect(typeof r.file.currentContext).toBe("string");
  for (const [k, h] of r.file.credHelpers) expect([typeof k, typeof h]).toEqual(["string", "string"]);
  if (r.problem !== null) {
    expect(PROBLEM_KINDS).toContain(r.problem.kind);
    expect(r.problem.message.length).toBeGreaterThan(0);
  }
}

describe("config.json parsing (parseConfigBytes)", () => {
  test("any bytes: a config and at most one problem, never an exception", () => {
    fc.assert(
      fc.property(configBytes, (bytes) => {
        expectConfigShape(parseConfigBytes(bytes));
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("a wrong JSON type in any known field is a type problem naming that field", () => {
    const wrongFor = (field: string): fc.Arbitrary<unknown> => {
      const type = (CONFIG_FILE as { fields: Record<string, { k: string }> }).fields[field]!.k;
      // Anything but null (which Go ignores) and the field's own JSON kind.
      const all = {
        string: fc.string(),
        number: fc.double({ noNaN: true, noDefaultInfinity: true }),
        bool: fc.boolean(),
        array: fc.array(fc.integer(), { maxLength: 2 }),
        object: fc.dictionary(fc.string({ maxLength: 3 }), fc.integer(), { maxKeys: 2 }),
      };
      const own = type === "string" ? "string" : type === "slice" ? "array" : "object";
      return fc.oneof(
        ...Object.entries(all)
          .filter(([k]) => k !== own)
          .map(([, a]) => a as fc.Arbitrary<unknown>),
      );
    };
    const arb = fc.constantFrom(...KNOWN).chain((field) => fc.tuple(fc.constant(field), wrongFor(field)));
    fc.assert(
      fc.property(arb, ([field, value]) => {
        const r = parseConfigBytes(JSON.stringify({ [field]: value }));
        expect(r.problem?.kind).toBe("type");
        expect(r.problem?.message).toContain(`ConfigFile.${field} of type`);
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("nesting past Go's 10,000 levels is Go's syntax error, below it a type error; never a stack overflow", () => {
    fc.assert(
      fc.property(deep, (text) => {
        const r = parseConfigBytes(text);
        expectConfigShape(r);
        const depth = /^invalid character '[[{]' exceeded max depth$/.test(decodeFirstValue(text).error?.message ?? "");
        const levels = 1 + Math.max(text.split("[").length - 1, text.split("{").length - 2);
        expect(depth).toBe(levels > MAX_NESTING_DEPTH);
      }),
      // Each case is a 10-60 KB document parsed twice (~5 ms): 150 runs, under a second.
      { numRuns: 150 },
    );
  }, 20_000);

  test("strings decode to what was encoded, escaped or not (\\n, \\u00e9, surrogate pairs as two escapes)", () => {
    /** Every non-ASCII, control, quote or backslash character as \uXXXX (two escapes for a surrogate pair). */
    const escapeAll = (v: string) => {
      const plain = (ch: string) => ch >= " " && ch < "\x7f" && ch !== '"' && ch !== "\\";
      const units = (ch: string) => ch.split("").map((u) => `\\u${u.charCodeAt(0).toString(16).padStart(4, "0")}`);
      return `"${[...v].map((ch) => (plain(ch) ? ch : units(ch).join(""))).join("")}"`;
    };
    fc.assert(
      fc.property(fc.string({ unit: "binary", maxLength: 40 }), (v) => {
        for (const text of [JSON.stringify(v), escapeAll(v)]) expect(decodeFirstValue(text).value).toMatchObject({ t: "string", v });
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("Go's base64 decoder agrees with Node's on every canonical encoding", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 64 }), (bytes) => {
        const r = goBase64Decode(Buffer.from(bytes).toString("base64"));
        expect("bytes" in r && Buffer.from(r.bytes).equals(Buffer.from(bytes))).toBe(true);
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("decodeAuth, convertToHostname, DOCKER_AUTH_CONFIG: any string, no exception", () => {
    fc.assert(
      fc.property(fc.oneof(fc.string({ unit: "binary", maxLength: 100 }), fc.base64String(), configish, mutated(configish)), (s) => {
        const a = decodeAuth(s);
        expect("error" in a ? typeof a.error : typeof a.username + typeof a.password).toBe("error" in a ? "string" : "stringstring");
        expect(typeof convertToHostname(s)).toBe("string");
        const env = parseEnvAuthConfig(s);
        if (env !== null && !env.ok) expect(env.message).toStartWith("Failed to create credential store from DOCKER_AUTH_CONFIG:");
      }),
      { numRuns: 2000 },
    );
  }, 20_000);
});

describe("daemon.json parsing (parseDaemonJson)", () => {
  const daemonish = fc
    .dictionary(
      fc.constantFrom("registry-mirrors", "insecure-registries", "proxies", "debug", "REGISTRY-MIRRORS"),
      fc.oneof(
        jsonValue,
        fc.array(fc.oneof(fc.string(), jsonValue), { maxLength: 3 }),
        fc.dictionary(fc.constantFrom("http-proxy", "https-proxy", "no-proxy", "x"), jsonValue),
      ),
      { maxKeys: 4 },
    )
    .map((o) => JSON.stringify(o));
  const daemonText = fc.oneof(
    fc.string({ unit: "binary", maxLength: 200 }),
    fc.json({ maxDepth: 4 }),
    daemonish,
    mutated(daemonish),
    withBom(daemonish),
    duplicated,
  );

  test("any text: lists of strings and at most one problem, never an exception", () => {
    fc.assert(
      fc.property(daemonText, (text) => {
        const r = parseDaemonJson(text);
        for (const list of [r.mirrors, r.insecureRegistries, r.keys]) for (const x of list) expect(typeof x).toBe("string");
        if (r.problem) {
          expect(["syntax", "type"]).toContain(r.problem.kind);
          expect(r.problem.message.length).toBeGreaterThan(0);
        }
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("proxies: only http-proxy, https-proxy and no-proxy are read; any other key is ignored", () => {
    const proxyKey = fc.oneof(
      fc.constantFrom("http-proxy", "https-proxy", "no-proxy", "constructor", "__proto__", "toString", "hasOwnProperty"),
      fc.string({ maxLength: 10 }),
    );
    fc.assert(
      fc.property(proxyKey, fc.oneof(fc.string(), fc.integer(), fc.boolean()), (k, v) => {
        const known = ["http-proxy", "https-proxy", "no-proxy"].includes(k);
        const r = parseDaemonJson(`{"proxies": {${JSON.stringify(k)}: ${JSON.stringify(v)}}}`);
        expect(r.problem === null).toBe(!known || typeof v === "string");
        expect(Object.keys(r.proxies ?? {}).length).toBe(known && typeof v === "string" ? 1 : 0);
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("deep nesting is dockerd's max-depth error, not a crash", () => {
    fc.assert(
      fc.property(deep, (text) => {
        const r = parseDaemonJson(text);
        if (r.problem?.message.endsWith("exceeded max depth")) expect(r.problem.kind).toBe("syntax");
      }),
      // As above: expensive cases, 150 runs.
      { numRuns: 150 },
    );
  }, 20_000);
});

/**
 * Through the files and the whole stage: the doctor reads the user's real files. Each run
 * writes two files, runs the stage (Engine socket absent, no helper on PATH) and stats the
 * files again: 2 ms a case (more on a loaded machine), so 500 runs; the pure properties
 * above carry the volume.
 */
describe("the config stage on hostile config.json, daemon.json and DOCKER_AUTH_CONFIG", () => {
  let n = 0;
  const stageBytes = fc.oneof({ arbitrary: configBytes, weight: 20 }, { arbitrary: deep.map((s) => enc.encode(s)), weight: 1 });
  test("every problem is a finding, no terminal control reaches the report; the files are byte-for-byte and mtime unchanged", async () => {
    const image = parseReference("registry.example.com:5000/team/app:1");
    await fc.assert(
      fc.asyncProperty(
        stageBytes,
        stageBytes,
        fc.option(fc.oneof(configish, mutated(configish), fc.string({ maxLength: 30 })), { nil: undefined }),
        async (cfg, daemonBytes, envAuth) => {
          const dir = path.join(t.dir, `s${n++}`);
          mkdirSync(path.join(dir, ".docker"), { recursive: true });
          const configPath = path.join(dir, ".docker", "config.json");
          const daemonPath = path.join(dir, "daemon.json");
          writeFileSync(configPath, cfg);
          writeFileSync(daemonPath, daemonBytes);
          const before = [statSync(configPath).mtimeMs, statSync(daemonPath).mtimeMs];
          const deps = testDeps({
            dir,
            env: { PATH: path.join(dir, "bin"), ...(envAuth !== undefined ? { DOCKER_AUTH_CONFIG: envAuth } : {}) },
          });
          const ctx = testContext({
            options: { daemonConfig: daemonPath, certsDir: path.join(dir, "certs.d"), timeoutMs: 500 },
            facts: { ref: image } as Facts,
          });
          const out = await configStage.run({ ...ctx, deps });
          const loaded = loadDockerConfig(null, deps);
          const daemon = readDaemonJson(daemonPath);
          const codes = out.findings.map((f) => f.code);
          expect(out.findings.some((f) => f.code === "CONFIG_UNREADABLE" && f.evidence.path === loaded.path)).toBe(loaded.problem !== null);
          if (daemon.problem) expect(codes).toContain("DAEMON_CONFIG_UNREADABLE");
          // Nothing a terminal acts on reaches the report (keys and values from the files are shown as \xNN).
          for (const text of allStrings([out.summary, out.evidence, out.findings]))
            expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
          const env = parseEnvAuthConfig(envAuth);
          if (env !== null && !env.ok)
            expect(out.findings.some((f) => f.code === "CONFIG_UNREADABLE" && f.evidence.path === "DOCKER_AUTH_CONFIG")).toBe(true);
          expect(readFileSync(configPath).equals(Buffer.from(cfg))).toBe(true);
          expect(readFileSync(daemonPath).equals(Buffer.from(daemonBytes))).toBe(true);
          expect([statSync(configPath).mtimeMs, statSync(daemonPath).mtimeMs]).toEqual(before);
        },
      ),
      { numRuns: 500 },
    );
  }, 30_000);
});
