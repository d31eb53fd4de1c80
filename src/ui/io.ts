import { scrubText } from "../model/redact";

/** Where a command writes. Injected so renderers are tested without a terminal. */
export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
  /** stdout is a terminal (interactive prompts, progress bars). */
  isTTY: boolean;
  /** Colour allowed: a TTY, no NO_COLOR, no --no-color. */
  color: boolean;
}

/** Internal error (a bug): sysexits EX_SOFTWARE; defined once, in model/exit-codes. */
export { EXIT_INTERNAL } from "../model/exit-codes";

/** The exit status of a program killed by SIGPIPE (128 + 13), as `yes | head` gives. */
export const EXIT_PIPE_CLOSED = 141;

/** Per stream, settles when the latest write through writeOrStop has been handed to the reader. */
const lastWrite = new Map<NodeJS.WriteStream, Promise<void>>();

/**
 * A reader that goes away (`pulldoctor check … | head`, quitting `less`) is not an internal
 * error: stop quietly, as a Unix program stopped by SIGPIPE does. Bun throws EPIPE from the
 * write itself; Node emits it on the stream.
 */
function writeOrStop(stream: NodeJS.WriteStream, s: string): void {
  try {
    // Writes are delivered in order, so the callback of the latest one says all went out.
    // (Bun calls back an empty write at once, and its writableLength stays 0 while a pipe is full.)
    let done = () => {};
    const flushed = new Promise<void>((resolve) => (done = resolve));
    // The final scrub of everything printed: known secrets (and JWTs) echoed by a peer into a header or body.
    stream.write(scrubText(s), () => done());
    lastWrite.set(stream, flushed);
  } catch (e) {
    if ((e as { code?: string }).code === "EPIPE") process.exit(EXIT_PIPE_CLOSED);
    throw e;
  }
}

let pipeGuard = false;
function guardPipes(): void {
  if (pipeGuard) return;
  pipeGuard = true;
  for (const stream of [process.stdout, process.stderr]) {
    stream.on("error", (e: NodeJS.ErrnoException) => {
      if (e.code === "EPIPE") process.exit(EXIT_PIPE_CLOSED);
      throw e;
    });
  }
}

/**
 * Resolves once everything written through an Io has been taken by the reader. On a pipe
 * whose reader is late (`| jq`, a CI log collector) Bun queues the write, and
 * process.exit() drops the queue: a report cut at 64 KiB with exit 0. Every exit waits here.
 */
export async function flushOutput(): Promise<void> {
  await Promise.all([...lastWrite].map(([stream, flushed]) => (stream.destroyed ? null : flushed)));
}

export function processIo(colorWanted: boolean): Io {
  const isTTY = Boolean(process.stdout.isTTY);
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  guardPipes();
  return {
    stdout: (s) => writeOrStop(process.stdout, s),
    stderr: (s) => writeOrStop(process.stderr, s),
    isTTY,
    color: colorWanted && isTTY && !noColorEnv,
  };
}

/** Collects output in memory (tests). */
export function memoryIo(over: Partial<Io> = {}): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), isTTY: false, color: false, out, err, ...over };
}
