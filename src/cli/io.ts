/** Where a command writes. Injected so renderers are tested without a terminal. */
export interface Io {
  stdout(s: string): void;
  stderr(s: string): void;
  /** stdout is a terminal (interactive prompts, progress bars). */
  isTTY: boolean;
  /** Colour allowed: a TTY, no NO_COLOR, no --no-color. */
  color: boolean;
}

export function processIo(colorWanted: boolean): Io {
  const isTTY = Boolean(process.stdout.isTTY);
  const noColorEnv = process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== "";
  return {
    stdout: (s) => void process.stdout.write(s),
    stderr: (s) => void process.stderr.write(s),
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
