import { existsSync } from "node:fs";
import path from "node:path";
import { requireBinary } from "./require";

/** The compiled binary the terminal tests drive (`bun scripts/build.ts` makes it); PULLDOCTOR_BIN overrides. */
export const BINARY = process.env.PULLDOCTOR_BIN ?? path.resolve(import.meta.dir, "../../dist/pulldoctor");

export function requireBuiltBinary(): string {
  if (!existsSync(BINARY)) throw new Error(`${BINARY} is missing: build it first with 'bun scripts/build.ts' (npm test does)`);
  return BINARY;
}

const sh = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;

/**
 * A real terminal: a tmux session on a private socket running one command. Tests type
 * with send-keys and read the screen with capture-pane, as a person would.
 */
export class Terminal {
  private constructor(
    private readonly tmux: string,
    private readonly socket: string,
    readonly name: string,
  ) {}

  static start(argv: string[], opts: { env: Record<string, string>; cwd: string; width?: number; height?: number }): Terminal {
    const tmux = requireBinary("tmux", "tmux");
    const socket = `pd-tty-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
    const env = Object.entries(opts.env)
      .map(([k, v]) => `${k}=${sh(v)}`)
      .join(" ");
    // The exit status is printed after the program ends, and the pane stays for reading.
    // The shell traps SIGINT (a caught signal is reset to default in the child), so Ctrl-C
    // reaches the program and the shell lives on to print the exit status.
    const script = `trap 'true' INT; cd ${sh(opts.cwd)} && env -i ${env} ${argv.map(sh).join(" ")}; echo "__EXIT=$?"; sleep 600`;
    const t = new Terminal(tmux, socket, "t");
    const r = Bun.spawnSync([
      tmux,
      "-L",
      socket,
      "-f",
      "/dev/null",
      "new-session",
      "-d",
      "-s",
      "t",
      "-x",
      String(opts.width ?? 160),
      "-y",
      String(opts.height ?? 50),
      "sh",
      "-c",
      script,
    ]);
    if (r.exitCode !== 0) throw new Error(`tmux new-session failed: ${r.stderr.toString()}`);
    return t;
  }

  private run(args: string[]): string {
    const r = Bun.spawnSync([this.tmux, "-L", this.socket, ...args], { stdout: "pipe", stderr: "pipe" });
    if (r.exitCode !== 0) throw new Error(`tmux ${args[0]} failed: ${r.stderr.toString()}`);
    return r.stdout.toString();
  }

  /** Named keys (Enter, Down, Right, C-c). */
  keys(...keys: string[]): void {
    this.run(["send-keys", "-t", this.name, ...keys]);
  }

  /** Literal text. */
  type(text: string): void {
    this.run(["send-keys", "-t", this.name, "-l", text]);
  }

  /** The screen and scrollback as text; `escapes` keeps colour/attribute sequences. */
  screen(escapes = false): string {
    return this.run(["capture-pane", "-p", "-J", "-S", "-500", "-t", this.name, ...(escapes ? ["-e"] : [])]);
  }

  /** Waits until the screen matches (asynchronously, so an in-process lab keeps serving). */
  async waitFor(what: string | RegExp, timeoutMs = 15_000, after = 0): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const s = this.screen();
      const hay = s.slice(after);
      if (typeof what === "string" ? hay.includes(what) : what.test(hay)) return s;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(what)}; the screen:\n${s}`);
      await Bun.sleep(100);
    }
  }

  async exitCode(timeoutMs = 15_000): Promise<number> {
    const s = await this.waitFor(/__EXIT=\d+/, timeoutMs);
    return Number(/__EXIT=(\d+)/.exec(s)![1]);
  }

  kill(): void {
    Bun.spawnSync([this.tmux, "-L", this.socket, "kill-server"]);
  }
}
