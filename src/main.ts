#!/usr/bin/env bun
import { parseArgs, USAGE } from "./cli/args";
import { escapeControls } from "./model/escape";
import type { Options } from "./model/options";
import { scrubText } from "./model/redact";
import { Secret } from "./model/secret";
import { EXIT_INTERNAL, flushOutput, type Io, processIo } from "./ui/io";
import { VERSION } from "./version";

/**
 * argv → command → exit code; nothing else. Not async: an async function compiles to twice its
 * code, and a one-shot command's await is its command's (docs/performance.md, "Start-up of ref and explain").
 */
function main(argv: string[]): number | Promise<number> {
  // `fleet` reads reports and writes manifests: its own flags, parsed in its own file.
  // indexOf first: fleetArgv is compiled only when "fleet" was typed at all.
  const fleet = argv.indexOf("fleet") < 0 ? null : fleetArgv(argv);
  if (fleet) return runFleet(fleet);
  const parsed = parseArgs(argv, process.env);
  if (!parsed.ok) return misuse(parsed.error);
  const options = parsed.options;
  const io = processIo(options.color, DIRECT_OUTPUT.has(options.command));
  if (parsed.passwordStdin) return withPassword(options, io);
  return RUN[options.command](options, io);
}

async function runFleet(argv: string[]): Promise<number> {
  return (await import("./cli/commands/fleet")).fleetCommand(argv, processIo(false));
}

async function withPassword(options: Options, io: Io): Promise<number> {
  options.password = new Secret(await readPassword());
  return RUN[options.command](options, io);
}

/** Misuse: the message, how to get help, exit 2. */
function misuse(error: string): number {
  // Misuse messages quote what was typed: control characters in it must not reach the terminal.
  process.stderr.write(`pulldoctor: ${escapeControls(error)}\nRun 'pulldoctor --help' for the commands and options.\n`);
  return 2;
}

/**
 * `fleet …`, also after global flags (`pulldoctor --no-color fleet summarize`): the flags before
 * `fleet` go after its subcommand, whose parser accepts or refuses them. null: not fleet.
 */
function fleetArgv(argv: string[]): string[] | null {
  // A loop, not findIndex(): every start runs this, and findIndex is compiled from source on its
  // first call (docs/performance.md, "Start-up of ref and explain").
  let at = 0;
  while (at < argv.length && argv[at]!.startsWith("-") && argv[at] !== "-") at++;
  if (at === argv.length || argv[at] !== "fleet" || argv.slice(0, at).some((a) => a === "--" || a.includes("="))) return null;
  const [sub, ...rest] = argv.slice(at + 1);
  const before = argv.slice(0, at);
  if (sub === undefined) return before.filter((a) => a === "--help" || a === "-h").slice(0, 1);
  return [sub, ...before, ...rest];
}

/**
 * The commands that write nothing but through their Io (ui/io.ts, processIo): the one-shot
 * ones, and `check`, which asks nothing and draws no cursor (pull's progress and the
 * interactive doctor's prompts write to process.stdout too, so they keep the streams).
 */
const DIRECT_OUTPUT = new Set<Options["command"]>(["version", "help", "ref", "explain", "check"]);

type Run = (options: Options, io: Io) => number | Promise<number>;

// Commands are imported when dispatched, so `--version` and `--help` start without
// evaluating the registry client, the UI or the lab. Each command's runner is a function of its
// own: at bytecode depth 0 a function is compiled from source when first called, and one
// switch of every command's imports cost each start ≈ 1 M instructions, an eighth of
// `--version` (docs/performance.md, "Start-up of ref and explain").
const RUN: Record<Options["command"], Run> = {
  version: (_, io) => {
    io.stdout(`pulldoctor ${VERSION}\n`);
    return 0;
  },
  help: (_, io) => {
    io.stdout(USAGE);
    return 0;
  },
  ref: async (options, io) => (await import("./cli/commands/ref")).refCommand(options, io),
  explain: async (options, io) => (await import("./cli/commands/explain")).explainCommand(options, io),
  demo: async (options, io) => (await import("./cli/commands/demo")).demoCommand(options, io),
  check: async (options, io) => {
    if (options.files?.length) return (await import("./cli/commands/batch")).batchCommand(options, io);
    return (await import("./cli/commands/check")).checkCommand(options, io);
  },
  pull: async (options, io) => {
    if (options.files?.length || options.allTags) return (await import("./cli/commands/pull-many")).pullManyCommand(options, io);
    return (await import("./cli/commands/check")).checkCommand(options, io);
  },
  egress: async (options, io) => (await import("./cli/commands/egress")).egressCommand(options, io),
  interactive: async (options, io) => {
    // On a terminal the interactive doctor; otherwise `check` with an offer to pull (SPEC).
    if (io.isTTY && !options.json && !options.yes) return (await import("./cli/commands/interactive")).interactiveCommand(options, io);
    if (options.files?.length) return (await import("./cli/commands/batch")).batchCommand({ ...options, command: "check" }, io);
    if (!options.image) {
      process.stderr.write(`pulldoctor: not a terminal, so there is no one to ask for the IMAGE\n\n${USAGE}`);
      return 2;
    }
    return (await import("./cli/commands/check")).checkCommand({ ...options, command: "check" }, io);
  },
};

/** --password-stdin: the whole of stdin, without the final newline, as docker login reads it. */
async function readPassword(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks)
    .toString("utf8")
    .replace(/\r?\n$/, "");
}

let interrupted = false;
process.on("SIGINT", () => {
  if (interrupted) process.exit(130);
  interrupted = true;
  process.stderr.write("\ninterrupted\n");
  // Outputs and reports are only ever renamed into place when complete, so leaving now
  // leaves nothing half-written; partial blobs stay in the store to be resumed.
  setTimeout(() => process.exit(130), 50);
});

// Top-level code, not functions: the entry's top level is compiled ahead of time (bytecode depth
// 0), a function from source on its first call (docs/performance.md, "Start-up of ref and explain").
let code: number;
try {
  // A step cut short by Ctrl-C may return before the handler's exit: the user interrupted.
  code = await main(process.argv.slice(2));
  if (interrupted) code = 130;
} catch (err) {
  process.stderr.write(
    // Scrubbed like all other output: an exception's text may quote a header or URL with a secret.
    `pulldoctor: internal error (a bug): ${scrubText(err instanceof Error ? (err.stack ?? err.message) : String(err))}\n` +
      "Please report it with the command you ran and, if you can, the output of the same command with --report FILE.\n",
  );
  code = EXIT_INTERNAL;
}
// Exit once the reader has taken all the output (a late reader on a pipe must get every byte).
await flushOutput();
process.exit(code);
