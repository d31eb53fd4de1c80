// A builtin loaded at first use: Bun compiles each node: module's source when it is first loaded,
// and a check that never needs it should not pay for it (docs/performance.md, "A lean HTTP client…").
const spawn: typeof import("node:child_process").spawn = ((...a: Parameters<typeof import("node:child_process").spawn>) =>
  (require("node:child_process") as typeof import("node:child_process")).spawn(...a)) as never;

/**
 * One run of an external program the doctor must not wait on for good (a credential helper,
 * a kubelet credential-provider plugin): stdin written once, stdout collected, stderr dropped
 * (programs echo their input there), the whole process group killed on timeout or abort.
 */
export interface BoundedRun {
  code: number | null;
  signal: string | null;
  stdout: string;
  timedOut: boolean;
  spawnError: string | null;
  durationMs: number;
}

export interface BoundedOptions {
  env: Readonly<Record<string, string | undefined>>;
  stdin: string;
  timeoutMs: number;
  signal?: AbortSignal;
}

export async function execBounded(exe: string, args: string[], opts: BoundedOptions): Promise<BoundedRun> {
  const started = performance.now();
  const res = await new Promise<Omit<BoundedRun, "durationMs">>((resolve) => {
    // Its own process group (detached: setsid), so a timeout or abort kills the program's
    // children too: `pass` waiting on pinentry, a wrapper's `sleep`, holding our stdout pipe.
    const child = spawn(exe, args, { env: { ...opts.env } as NodeJS.ProcessEnv, stdio: ["pipe", "pipe", "ignore"], detached: true });
    const chunks: Buffer[] = [];
    let timedOut = false;
    let spawnError: string | null = null;
    let settled = false;
    const finish = (code: number | null, signal: string | null) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      child.stdout.destroy();
      opts.signal?.removeEventListener("abort", onAbort);
      resolve({ code, signal, stdout: Buffer.concat(chunks).toString("utf8"), timedOut, spawnError });
    };
    const killGroup = () => {
      killProcessGroup(child.pid);
      // A grandchild that left the group (a daemonising agent) may still hold the pipe:
      // stop reading once the program itself is gone, rather than wait on the pipe for good.
      child.once("exit", (code, signal) => finish(code, signal));
      if (child.exitCode !== null || child.signalCode !== null) finish(child.exitCode, child.signalCode);
    };
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup();
    }, opts.timeoutMs);
    const onAbort = () => killGroup();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    child.stdout.on("data", (c: Buffer) => chunks.push(c));
    child.stdin.on("error", () => {});
    child.on("error", (e) => {
      spawnError = e.message;
      finish(null, null);
    });
    child.on("close", (code, signal) => finish(code, signal));
    child.stdin.end(opts.stdin);
  });
  return { ...res, durationMs: Math.round(performance.now() - started) };
}

/** SIGKILL to the program's whole process group (its pid, as it leads one); gone already is fine. */
function killProcessGroup(pid: number | undefined): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, "SIGKILL");
  } catch {
    // ESRCH: every process of the group has exited.
  }
}
