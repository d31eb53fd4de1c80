import type { Severity } from "../model/catalogue/entry";
import type { StageStatus } from "../model/stage";

/**
 * Status symbols with an ASCII fallback in one place (clack's unicodeOr idea): the Linux
 * console, old Windows consoles and C/POSIX locales get plain ASCII.
 */
export interface Glyphs {
  status: Record<StageStatus, string>;
  severity: Record<Severity, string>;
  arrow: string;
  bullet: string;
  dash: string;
}

const UNICODE: Glyphs = {
  status: { pass: "✔", warn: "▲", fail: "✖", skip: "○" },
  severity: { error: "✖", warning: "▲", info: "ℹ" },
  arrow: "→",
  bullet: "•",
  dash: "—",
};

const ASCII: Glyphs = {
  status: { pass: "[ok]", warn: "[!!]", fail: "[XX]", skip: "[--]" },
  severity: { error: "[XX]", warning: "[!!]", info: "[i]" },
  arrow: "->",
  bullet: "*",
  dash: "-",
};

/** The prompts' rail symbols, as clack draws them, with their ASCII fallbacks. */
export function rail(unicode: boolean) {
  return unicode
    ? { start: "┌", bar: "│", end: "└", active: "◆", done: "◇", cancel: "■", error: "▲" }
    : { start: "T", bar: "|", end: "—", active: "*", done: "o", cancel: "x", error: "x" };
}

export function glyphs(unicode: boolean): Glyphs {
  return unicode ? UNICODE : ASCII;
}

/** Whether the terminal can be trusted with Unicode symbols (same rules as is-unicode-supported). */
export function unicodeSupported(env: Readonly<Record<string, string | undefined>>, platform: string = process.platform): boolean {
  if (env.PULLDOCTOR_ASCII) return false;
  if (platform === "win32")
    return Boolean(env.WT_SESSION || env.TERMINUS_SUBLIME || env.ConEmuTask === "{cmd::Cmder}" || env.TERM_PROGRAM === "vscode");
  if (env.TERM === "linux") return false;
  const locale = env.LC_ALL || env.LC_CTYPE || env.LANG || "";
  if (locale === "C" || locale === "POSIX") return false;
  return true;
}
