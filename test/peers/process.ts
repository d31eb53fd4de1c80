import { type ChildProcess, spawn } from "node:child_process";

export interface PeerProcess {
  child: ChildProcess;
  /** Everything the peer printed on stdout and stderr so far. */
  logs(): string;
  /** SIGTERM, wait up to `graceMs` for the exit, then SIGKILL. Safe to call twice. */
  terminate(graceMs: number): Promise<void>;
}

/** A peer's process with its output collected, as every launcher in test/peers needs it. */
export function spawnPeer(bin: string, args: string[]): PeerProcess {
  let out = "";
  const child = spawn(bin, args, { stdio: ["ignore", "pipe", "pipe"] });
  child.stdout?.on("data", (d) => (out += d));
  child.stderr?.on("data", (d) => (out += d));
  const alive = () => child.exitCode === null && child.signalCode === null;
  return {
    child,
    logs: () => out,
    terminate: async (graceMs) => {
      if (!alive()) return;
      const exited = new Promise((r) => child.once("exit", r));
      child.kill("SIGTERM");
      await Promise.race([exited, Bun.sleep(graceMs)]);
      if (alive()) child.kill("SIGKILL");
    },
  };
}
