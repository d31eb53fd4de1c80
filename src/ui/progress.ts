import { formatBytes } from "./format";
import type { Glyphs } from "./glyphs";
import type { Style } from "./style";

/**
 * A spinner for the running stage and a progress line for the pull, written in place
 * with \r and erase-line. Ours rather than clack's: clack's spinner installs its own
 * SIGINT handler, and Ctrl-C mid-stage must exit 130 through main's handler.
 */
export interface LiveLine {
  start(msg: string): void;
  update(msg: string): void;
  /** Replace the live line with a final one (or nothing). */
  stop(finalLine?: string): void;
}

const ERASE = "\r\u001b[2K";

export function liveLine(write: (s: string) => void, st: Style, unicode: boolean): LiveLine {
  const frames = unicode ? ["◒", "◐", "◓", "◑"] : ["|", "/", "-", "\\"];
  let timer: ReturnType<typeof setInterval> | null = null;
  let msg = "";
  let i = 0;
  const draw = () => write(`${ERASE}${st.cyan(frames[i++ % frames.length]!)}  ${msg}`);
  return {
    start(m) {
      msg = m;
      if (timer) clearInterval(timer);
      write("\u001b[?25l");
      draw();
      timer = setInterval(draw, 100);
    },
    update(m) {
      msg = m;
      if (!timer) return;
      draw();
    },
    stop(finalLine) {
      if (timer) clearInterval(timer);
      timer = null;
      write(`${ERASE}\u001b[?25h`);
      if (finalLine !== undefined) write(`${finalLine}\n`);
    },
  };
}

/** The pull's aggregate progress: bytes of all blobs, per-layer counts, a bar. */
export class PullProgress {
  private total = 0;
  private readonly done = new Map<string, number>();
  private readonly seen = new Map<string, number>();
  private blobs = 0;
  private finished = 0;

  constructor(private readonly g: Glyphs) {}

  plan(blobs: { digest: string; size: number; reused: boolean }[]): void {
    this.blobs = blobs.length;
    this.total = blobs.reduce((n, b) => n + b.size, 0);
    for (const b of blobs) if (b.reused) this.markDone(b.digest, b.size);
  }

  progress(digest: string, bytes: number): void {
    this.seen.set(digest, bytes);
  }

  markDone(digest: string, bytes: number): void {
    if (!this.done.has(digest)) this.finished++;
    this.done.set(digest, bytes);
    this.seen.set(digest, bytes);
  }

  line(width = 24): string {
    const have = [...this.seen.values()].reduce((n, b) => n + b, 0);
    const frac = this.total > 0 ? Math.min(1, have / this.total) : 0;
    const filled = Math.round(frac * width);
    const bar = this.g.arrow === "→" ? "█".repeat(filled) + "░".repeat(width - filled) : "#".repeat(filled) + ".".repeat(width - filled);
    return `${bar} ${String(Math.round(frac * 100)).padStart(3)}%  ${formatBytes(have)} / ${formatBytes(this.total)}  ${this.finished}/${this.blobs} blobs`;
  }
}
