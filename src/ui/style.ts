import type { Severity } from "../model/catalogue/entry";
import type { StageStatus } from "../model/stage";

/**
 * The only module that imports chalk. With color off every function is the identity,
 * so NO_COLOR, --no-color and piped output carry no escape codes at all.
 */
export interface Style {
  color: boolean;
  bold(s: string): string;
  dim(s: string): string;
  green(s: string): string;
  yellow(s: string): string;
  red(s: string): string;
  cyan(s: string): string;
  status(status: StageStatus, s: string): string;
  severity(sev: Severity, s: string): string;
}

const same = (s: string) => s;
/** Colour off: every function the identity. */
const PLAIN: Style = {
  color: false,
  bold: same,
  dim: same,
  green: same,
  yellow: same,
  red: same,
  cyan: same,
  status: (_st, s) => s,
  severity: (_sev, s) => s,
};

export function makeStyle(color: boolean): Style {
  // chalk only when colour is on: its colour detection loads node:tty and node:os, ≈ 6 ms of
  // a one-shot command's start whose output is piped (docs/performance.md, "Start-up, diagnosis and small blobs").
  if (!color) return PLAIN;
  const { Chalk } = require("chalk") as typeof import("chalk");
  // Level 1 (16 colours): every terminal that takes colour at all shows these alike.
  const c = new Chalk({ level: 1 });
  const byStatus: Record<StageStatus, (s: string) => string> = { pass: c.green, warn: c.yellow, fail: c.red, skip: c.dim };
  const bySeverity: Record<Severity, (s: string) => string> = { error: c.red, warning: c.yellow, info: c.cyan };
  return {
    color,
    bold: (s) => c.bold(s),
    dim: (s) => c.dim(s),
    green: (s) => c.green(s),
    yellow: (s) => c.yellow(s),
    red: (s) => c.red(s),
    cyan: (s) => c.cyan(s),
    status: (st, s) => byStatus[st](s),
    severity: (sev, s) => bySeverity[sev](s),
  };
}

/** Removes ANSI escape sequences (for width computations and tests). */
export function stripAnsi(s: string): string {
  // eslint-disable-next-line no-control-regex
  return s.replace(/\u001b\[[0-9;?]*[ -/]*[@-~]/g, "");
}
