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
export function flushOutput(): Promise<unknown> {
  // Only when a stream was written: map and the spread compile their builtins from source on
  // first use, a share of a one-shot command's start; and not async, which compiles to twice the
  // code (docs/performance.md, "Start-up of ref and explain").
  if (lastWrite.size === 0) return Promise.all(directChains.values());
  return Promise.all([...lastWrite].map(([stream, flushed]) => (stream.destroyed ? null : flushed))).then(() =>
    Promise.all(directChains.values()),
  );
}

/**
 * `direct`: write with Bun.write to fds 1 and 2 instead of through process.stdout and
 * process.stderr. Creating those Node streams costs ≈ 8 ms at start-up, twice a bare runtime's
 * whole start, so the one-shot commands (`--version`, `--help`, `ref`, `explain`) write
 * directly (docs/performance.md, "Start-up, diagnosis and small blobs"). Commands that also write through the streams
 * (prompts, the cursor) keep the streams, so their output stays in order.
 */
export function processIo(colorWanted: boolean, direct = false): Io {
  const isTTY = stdoutIsTTY();
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  if (!direct) guardPipes();
  return {
    stdout: direct ? (s) => writeDirect(1, s) : (s) => writeOrStop(process.stdout, s),
    stderr: direct ? (s) => writeDirect(2, s) : (s) => writeOrStop(process.stderr, s),
    isTTY,
    color: colorWanted && isTTY && !noColorEnv,
  };
}

/** Per fd, the writer of the direct writes and the flush of the latest (settles when its bytes were handed to the reader). */
const directSinks = new Map<1 | 2, Bun.FileSink>();
const directChains = new Map<1 | 2, Promise<void>>();

/**
 * An incremental writer (a FileSink), not Bun.write: Bun.write gives a regular file exactly
 * the bytes written (it truncates to them), so `pulldoctor --help >> log` left a hole of NULs.
 */
function writeDirect(fd: 1 | 2, s: string): void {
  const stop = (e: NodeJS.ErrnoException) => {
    if (e.code === "EPIPE") process.exit(EXIT_PIPE_CLOSED);
    throw e;
  };
  let sink = directSinks.get(fd);
  if (!sink) {
    sink = (fd === 1 ? Bun.stdout : Bun.stderr).writer();
    directSinks.set(fd, sink);
  }
  try {
    sink.write(scrubText(s));
    directChains.set(
      fd,
      Promise.resolve(sink.flush()).then(() => {}, stop),
    );
  } catch (e) {
    stop(e as NodeJS.ErrnoException);
  }
}

/** isatty(1) without creating process.stdout (see processIo); the stream's answer where Bun lacks the binding. */
function stdoutIsTTY(): boolean {
  try {
    const tty = (process as unknown as { binding(name: string): { isTTY(fd: number): boolean } }).binding("tty_wrap");
    return Boolean(tty.isTTY(1));
  } catch {
    return Boolean(process.stdout.isTTY);
  }
}

/** Collects output in memory (tests). */
export function memoryIo(over: Partial<Io> = {}): Io & { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  return { stdout: (s) => void out.push(s), stderr: (s) => void err.push(s), isTTY: false, color: false, out, err, ...over };
}
