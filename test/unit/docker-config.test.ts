import { afterAll, describe, expect, test } from "bun:test";
import { spawn } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { decodeAuth, goBase64Decode, loadDockerConfig, locateConfig, parseConfigBytes } from "../../src/host/docker-config";
import { decodeFirstValue, hasMore, MAX_NESTING_DEPTH } from "../../src/host/go-json";
import type { Facts } from "../../src/model/facts";
import { parseReference } from "../../src/registry/reference";
import { configStage } from "../../src/stages/config";
import { tempDir, testContext, testDeps } from "../helpers/context";
import { requireBinary } from "../peers/require";

/** Go's encoding/json Decoder messages (scanner.go), as Docker quotes them. */
const SYNTAX: [input: string, message: string | null, line?: number, column?: number][] = [
  ["{", "unexpected EOF", 1, 2],
  ['{"auths": {', "unexpected EOF"],
  ['{"a": "x', "unexpected EOF"],
  ["", null], // io.EOF: Docker treats an empty file as an empty config
  ["  \n ", null],
  ["\ufeff{}", "invalid character 'ï' looking for beginning of value", 1, 1],
  ["// c\n{}", "invalid character '/' looking for beginning of value"],
  ["user:pass", "invalid character 'u' looking for beginning of value"],
  ['{"auths": {},}', "invalid character '}' looking for beginning of object key string", 1, 14],
  ['{\n  "auths": {\n    "a": {}\n  }\n  "credsStore": "x"\n}', "invalid character '\"' after object key:value pair", 5, 3],
  ['{"a" 1}', "invalid character '1' after object key"],
  ["{'a': 1}", "invalid character '\\'' looking for beginning of object key string"],
  ["[1,]", "invalid character ']' looking for beginning of value"],
  ["[1 2]", "invalid character '2' after array element"],
  ['{"a": tru}', "invalid character '}' in literal true (expecting 'e')"],
  ['{"a": nul}', "invalid character '}' in literal null (expecting 'l')"],
  ['{"a": fals}', "invalid character '}' in literal false (expecting 'e')"],
  ['{"a": -x}', "invalid character 'x' in numeric literal"],
  ['{"a": 1.}', "invalid character '}' after decimal point in numeric literal"],
  ['{"a": 1e}', "invalid character '}' in exponent of numeric literal"],
  ['{"a": "\\q"}', "invalid character 'q' in string escape code"],
  ['{"a": "\\u12G4"}', "invalid character 'G' in \\u hexadecimal character escape"],
  ['{"a": "x\ty"}', "invalid character '\\t' in string literal"],
  ['{"a": 01}', "invalid character '1' after object key:value pair"],
  ["<html>", "invalid character '<' looking for beginning of value"],
  ['{"auths": {}} xyz', null], // a Decoder reads the first value only
];

describe("Go JSON decoder messages", () => {
  for (const [input, message, line, column] of SYNTAX) {
    test(JSON.stringify(input), () => {
      const r = decodeFirstValue(input);
      expect(r.error?.message ?? null).toBe(message);
      if (line !== undefined) expect([r.error!.line, r.error!.column]).toEqual([line, column!]);
    });
  }
  test("hasMore finds a second object", () => {
    const s = '{"a":1} {}';
    expect(hasMore(s, decodeFirstValue(s).end)).toBe(true);
    expect(hasMore('{"a":1}  \n', 7)).toBe(false);
  });
  test("surrogate pairs join, lone surrogates become U+FFFD", () => {
    expect(decodeFirstValue('"\\ud83d\\ude00"').value).toMatchObject({ t: "string", v: "😀" });
    expect(decodeFirstValue('"\\ud83dx"').value).toMatchObject({ t: "string", v: "\uFFFDx" });
  });
  test("nesting: Go allows 10,000 levels and refuses the 10,001st; a million levels are refused, not a stack overflow", () => {
    // Before: 100,000 nested '[' in config.json threw RangeError (maximum call stack size) out of the config stage.
    const nest = (d: number) => "[".repeat(d) + "]".repeat(d);
    expect(decodeFirstValue(nest(MAX_NESTING_DEPTH)).error).toBeNull();
    const over = decodeFirstValue(nest(MAX_NESTING_DEPTH + 1));
    expect([over.error?.message, over.error?.offset]).toEqual(["invalid character '[' exceeded max depth", MAX_NESTING_DEPTH]);
    expect(decodeFirstValue('{"a":'.repeat(1_000_000)).error?.message).toBe("invalid character '{' exceeded max depth");
    expect(parseConfigBytes(`{"auths":${nest(100_000)}}`).problem).toEqual({
      kind: "syntax",
      message: "invalid character '[' exceeded max depth",
      line: 1,
      column: 10009,
    });
  });
  test("a 4 MiB config.json (the read limit) of escapes or base64 decodes fast", () => {
    // Before: a per-byte JS array for strings and base64 made 16 MiB cost ~5 s and ~3 GB.
    const n = 4 * 1024 * 1024;
    const t0 = performance.now();
    expect(decodeFirstValue(`{"x":"${"\\n".repeat(n / 2 - 6)}"}`).error).toBeNull();
    expect(parseConfigBytes(`{"auths":{"a":{"auth":"${"QUFB".repeat(n / 4 - 10)}"}}}`).problem?.message).toBe(
      "invalid auth configuration file",
    );
    expect(performance.now() - t0).toBeLessThan(3000);
  });
  test("escapes decode", () => {
    const r = decodeFirstValue('{"k":"a\\u00e9\\n\\"b"}');
    expect(r.value).toMatchObject({ t: "object", entries: [["k", { t: "string", v: 'aé\n"b' }]] });
  });
});

describe("Go base64 (StdEncoding) and decodeAuth", () => {
  const cases: [string, string | { error: string }][] = [
    ["dXNlcjpwYXNz", "user:pass"],
    ["dXNlcjpwYXNzMQ==", "user:pass1"],
    ["dXNlcjpwYXNzMTI=", "user:pass12"],
    ["dXNlcjpw\nYXNz", "user:pass"], // CR/LF are skipped
    ["not base64!", { error: "illegal base64 data at input byte 3" }],
    ["dXNlcjpwYXNzMQ", { error: "illegal base64 data at input byte 12" }],
    ["dXM-P3I6cGE_P3Nz", { error: "illegal base64 data at input byte 3" }],
    ["@@@", { error: "illegal base64 data at input byte 0" }],
    ["dXNlcjpwYXNzMQ=", { error: "illegal base64 data at input byte 15" }],
    ["dXNlcjpwYXNz====", { error: "illegal base64 data at input byte 12" }],
    ["dXNlcjpwYXNzMQ==x", { error: "illegal base64 data at input byte 16" }],
  ];
  for (const [input, want] of cases) {
    test(JSON.stringify(input), () => {
      const r = goBase64Decode(input);
      if (typeof want === "string") expect(new TextDecoder().decode((r as { bytes: Uint8Array }).bytes)).toBe(want);
      else expect(r).toEqual(want);
    });
  }
  test("decodeAuth rules", () => {
    expect(decodeAuth("dXNlcjpwYTpzcw==")).toEqual({ username: "user", password: "pa:ss" });
    expect(decodeAuth("dXNlcnBhc3M=")).toEqual({ error: "invalid auth configuration file" });
    expect(decodeAuth("OnBhc3M=")).toEqual({ error: "invalid auth configuration file" });
    expect(decodeAuth("")).toEqual({ username: "", password: "" });
  });
});

describe("config.json decoding as docker/cli", () => {
  test("a wrong type is reported Go's way and the rest is still read", () => {
    const r = parseConfigBytes('{"credHelpers": {"ghcr.io": "gh"},\n "features": {"buildkit": true}}');
    expect(r.problem).toMatchObject({
      kind: "type",
      message: "json: cannot unmarshal bool into Go struct field ConfigFile.features of type string",
      line: 2,
    });
    expect(r.file.credHelpers.get("ghcr.io")).toBe("gh");
  });
  test("nested type errors name the inner struct", () => {
    expect(parseConfigBytes('{"auths": {"x": {"username": 5}}}').problem?.message).toBe(
      "json: cannot unmarshal number into Go struct field AuthConfig.auths.username of type string",
    );
    expect(parseConfigBytes('{"credHelpers": {"x": 5}}').problem?.message).toBe(
      "json: cannot unmarshal number into Go struct field ConfigFile.credHelpers of type string",
    );
    expect(parseConfigBytes("[]").problem?.message).toBe("json: cannot unmarshal array into Go value of type configfile.ConfigFile");
  });
  test("field names match case-insensitively, as Go does", () => {
    const r = parseConfigBytes('{"CredsStore": "pass", "AUTHS": {"h": {"Auth": "dTpw"}}}');
    expect(r.file.credsStore).toBe("pass");
    expect(r.file.auths.get("h")).toEqual({ username: "u", password: "p", serveraddress: "h" });
  });
  test("a type error stops before auths are decoded (Docker returns at once)", () => {
    const r = parseConfigBytes('{"auths": {"h": {"auth": "dTpw"}}, "credsStore": 5}');
    expect(r.file.auths.get("h")).toEqual({ auth: "dTpw" });
    expect(r.plaintextKeys).toEqual(["h"]);
  });
});

describe("which config file", () => {
  const t = tempDir();
  afterAll(() => t.cleanup());
  test("--docker-config DIR, FILE, .dockerconfigjson; then DOCKER_CONFIG; then HOME", () => {
    const deps = testDeps({ dir: t.dir, env: {} });
    mkdirSync(path.join(t.dir, "d"), { recursive: true });
    expect(locateConfig(path.join(t.dir, "d"), deps)).toEqual({ path: path.join(t.dir, "d", "config.json"), from: "--docker-config" });
    writeFileSync(path.join(t.dir, "pull-secret.dockerconfigjson"), '{"auths":{"r.example.com":{"auth":"dTpw"}}}');
    const k8s = loadDockerConfig(path.join(t.dir, "pull-secret.dockerconfigjson"), deps);
    expect(k8s).toMatchObject({ found: true, kind: "dockerconfigjson" });
    expect(k8s.file.auths.get("r.example.com")?.username).toBe("u");
    expect(locateConfig(null, testDeps({ dir: t.dir, env: { DOCKER_CONFIG: "/x/y" } }))).toEqual({
      path: "/x/y/config.json",
      from: "DOCKER_CONFIG",
    });
    expect(locateConfig(null, deps)).toEqual({ path: path.join(t.dir, ".docker", "config.json"), from: "home" });
    expect(loadDockerConfig(null, deps)).toMatchObject({ found: false, kind: "none", problem: null, warning: null });
  });
  test("a directory where the file should be is a read problem", () => {
    const d = path.join(t.dir, "isdir");
    mkdirSync(path.join(d, "config.json"), { recursive: true });
    const r = loadDockerConfig(d, testDeps({ dir: t.dir }));
    expect(r.problem?.kind).toBe("read");
    expect(r.warning).toContain("WARNING: Error parsing config file (");
  });
});

/**
 * The real docker CLI as the oracle for the messages above: with each text as config.json,
 * `docker pull` prints "WARNING: Error parsing config file (PATH): ERR" (or nothing) before
 * it tries the (absent) daemon.
 */
describe("the real docker CLI prints the same config.json errors", () => {
  const TYPE_ROWS = [
    '{"credHelpers": {"ghcr.io": "gh"},\n "features": {"buildkit": true}}',
    '{"auths": {"x": {"username": 5}}}',
    '{"credHelpers": {"x": 5}}',
    "[]",
    '{"auths": []}',
    '{"proxies": {"default": {"httpProxy": 1}}}',
    '{"pruneFilters": "x"}',
    // Go's maxNestingDepth: 10,000 levels decode (a type error here), the 10,001st is a syntax error.
    `{"auths":${"[".repeat(9999)}${"]".repeat(9999)}}`,
    `{"auths":${"[".repeat(10000)}${"]".repeat(10000)}}`,
  ];
  test("every syntax and type row", async () => {
    const docker = requireBinary("docker", "docker.io");
    const t = tempDir("pd-cfgcli-");
    try {
      const inputs = [...SYNTAX.map(([i]) => i), ...TYPE_ROWS];
      const problems: string[] = [];
      await Promise.all(
        inputs.map(async (input, i) => {
          const dir = path.join(t.dir, `c${i}`);
          mkdirSync(dir, { recursive: true });
          writeFileSync(path.join(dir, "config.json"), input);
          const ours = parseConfigBytes(input).problem?.message ?? null;
          const out = await new Promise<string>((resolve) => {
            const child = spawn(docker, ["pull", "example.com/app:1"], {
              env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir, DOCKER_CONFIG: dir, DOCKER_HOST: `unix://${dir}/absent.sock` },
            });
            let o = "";
            child.stdout.on("data", (d) => (o += d));
            child.stderr.on("data", (d) => (o += d));
            const timer = setTimeout(() => child.kill("SIGKILL"), 15_000);
            child.on("close", () => {
              clearTimeout(timer);
              resolve(o);
            });
          });
          const line = out.split("\n").find((l) => l.startsWith("WARNING: Error parsing config file")) ?? null;
          const theirs = line === null ? null : line.slice(line.indexOf("): ") + 3);
          if (theirs !== ours) problems.push(`${JSON.stringify(input)}: ours ${JSON.stringify(ours)}, docker ${JSON.stringify(theirs)}`);
        }),
      );
      expect(problems).toEqual([]);
    } finally {
      t.cleanup();
    }
  }, 60_000);
});

describe("the config stage shows terminal controls from config.json escaped", () => {
  const t = tempDir("pd-cfgesc-");
  afterAll(() => t.cleanup());
  test("an auths key and a credsStore with ESC sequences reach the report as \\xNN", async () => {
    // Before: the keys and helper names went into evidence, findings and fixes raw (an ESC sequence reached the terminal).
    const dir = path.join(t.dir, "home");
    mkdirSync(path.join(dir, ".docker"), { recursive: true });
    writeFileSync(
      path.join(dir, ".docker", "config.json"),
      JSON.stringify({ auths: { "evil\u001b]0;x\u0007": {} }, credsStore: "x\u009b2J" }),
    );
    const deps = testDeps({ dir, env: { PATH: path.join(dir, "bin") } });
    const ctx = testContext({
      options: { daemonConfig: path.join(dir, "daemon.json") },
      facts: { ref: parseReference("registry.example.com/app:1") } as Facts,
    });
    const out = await configStage.run({ ...ctx, deps });
    expect((out.evidence.dockerConfig as { authsKeys: string[] }).authsKeys).toEqual(["evil\\x1b]0;x\\x07"]);
    const missing = out.findings.find((f) => f.code === "CREDS_HELPER_MISSING")!;
    expect(missing.detail).toContain("docker-credential-x\\x9b2J");
    expect(JSON.stringify(out.findings) + out.summary).not.toMatch(/\\u001b|\\u0007|\x9b/);
  });
});
