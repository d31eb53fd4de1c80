import { describe, expect, test } from "bun:test";
import { parseAllArgs, parseArgs } from "../../src/cli/args";
import { plainArgs } from "../../src/cli/plain-args";

// plainArgs answers the argv shapes of `--version`, `--help`, `ref IMAGE` and `explain [CODE]`
// without the whole parser (start-up, docs/performance.md): it must give what the whole parser gives.
const ENVS: Record<string, string>[] = [{}, { NO_COLOR: "1" }, { NO_COLOR: "" }];
const WORDS = [
  "--version",
  "--help",
  "-h",
  "ref",
  "explain",
  "check",
  "nginx",
  "MANIFEST_UNKNOWN",
  "-",
  "--",
  "",
  "--json",
  "-x",
  "--no-color",
  "fleet",
  "help",
  "version",
  "a b",
  "-v",
];

/** Every argv of up to three of WORDS. */
function* argvs(): Generator<string[]> {
  yield [];
  for (const a of WORDS) {
    yield [a];
    for (const b of WORDS) {
      yield [a, b];
      for (const c of WORDS) yield [a, b, c];
    }
  }
}

describe("plainArgs", () => {
  test("gives what the whole parser gives, or leaves the argv to it", () => {
    let answered = 0;
    for (const env of ENVS)
      for (const argv of argvs()) {
        const plain = plainArgs(argv, env);
        if (plain === null) continue;
        answered++;
        expect({ argv, env, r: plain }).toEqual({ argv, env, r: parseAllArgs(argv, env) });
        expect(Object.keys(plain.ok ? plain.options : {})).toEqual(Object.keys((parseAllArgs(argv, env) as { options: object }).options));
      }
    // --version, --help, -h, explain, and ref/explain with each of the 11 words that are no flag, per env.
    expect(answered).toBe(26 * ENVS.length);
  });

  test("answers the start-up commands", () => {
    for (const argv of [["--version"], ["--help"], ["-h"], ["ref", "nginx"], ["ref", "-"], ["explain"], ["explain", "DNS_NXDOMAIN"]])
      expect(plainArgs(argv, {})).not.toBeNull();
    for (const argv of [
      ["ref"],
      ["ref", "--json"],
      ["ref", "nginx", "--json"],
      ["--version", "--json"],
      ["explain", "--error", "x"],
      ["check", "nginx"],
    ])
      expect(plainArgs(argv, {})).toBeNull();
  });

  test("parseArgs still refuses misuse", () => {
    expect(parseArgs(["ref"], {})).toEqual({ ok: false, error: "ref needs an IMAGE" });
    expect(parseArgs(["--bogus"], {})).toEqual({ ok: false, error: "unknown flag: --bogus" });
  });
});
