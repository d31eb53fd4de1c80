import type { Command } from "../model/options";
import { defaultOptions } from "../model/options";
import type { ParsedArgs } from "./args";

/**
 * `--version`, `--help`, `ref IMAGE` and `explain [CODE]` without flags: the Options that the
 * whole parser (args.ts, parseAllArgs) gives them, without compiling it at every start: at
 * bytecode depth 0 a function is compiled from source on its first call, and the whole parser
 * was ≈ 0.3 M instructions of `--version`'s 6.5 M (docs/performance.md, "Start-up of ref and
 * explain"); test/unit/args-plain.test.ts keeps the two equal. null: any other shape.
 */
export function plainArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>>): ParsedArgs | null {
  // Indexing, not destructuring (the iterator protocol compiles too).
  const first = argv[0];
  const second = argv[1];
  let command: Command;
  if (argv.length === 1 && first === "--version") command = "version";
  else if (argv.length === 1 && (first === "--help" || first === "-h")) command = "help";
  // "-" is an argument (standard input), not a flag, as readFlags takes it.
  else if (argv.length === 2 && (first === "ref" || first === "explain") && (second === "-" || !second!.startsWith("-"))) command = first;
  else if (argv.length === 1 && first === "explain") command = first;
  else return null;
  const o = defaultOptions();
  o.command = command;
  o.color = env.NO_COLOR === undefined || env.NO_COLOR === "";
  if (command === "ref") o.image = second!;
  else if (command === "explain") o.code = second ?? null;
  return { ok: true, options: o, passwordStdin: false };
}
