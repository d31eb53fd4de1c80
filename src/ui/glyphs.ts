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

/** Each symbol as [Unicode, ASCII], side by side so that no symbol lacks its fallback. */
type Pair = readonly [string, string];
const STATUS: Record<StageStatus, Pair> = { pass: ["✔", "[ok]"], warn: ["▲", "[!!]"], fail: ["✖", "[XX]"], skip: ["○", "[--]"] };
const SEVERITY: Record<Severity, Pair> = { error: ["✖", "[XX]"], warning: ["▲", "[!!]"], info: ["ℹ", "[i]"] };
const MARKS = { arrow: ["→", "->"], bullet: ["•", "*"], dash: ["—", "-"] } satisfies Record<string, Pair>;
/** The prompts' rail, as clack draws it. */
const RAIL = {
  start: ["┌", "T"],
  bar: ["│", "|"],
  end: ["└", "—"],
  active: ["◆", "*"],
  done: ["◇", "o"],
  cancel: ["■", "x"],
  error: ["▲", "x"],
} satisfies Record<string, Pair>;

/**
 * A loop rather than fromEntries(entries().map()): this runs as the module loads, and those
 * builtins are compiled from source on first use, a share of `explain`'s start
 * (docs/performance.md, "Start-up of ref and explain").
 */
function pick<K extends string>(table: Record<K, Pair>, unicode: boolean): Record<K, string> {
  const out = {} as Record<K, string>;
  for (const k in table) out[k] = table[k][unicode ? 0 : 1];
  return out;
}

const UNICODE: Glyphs = { status: pick(STATUS, true), severity: pick(SEVERITY, true), ...pick(MARKS, true) };
const ASCII: Glyphs = { status: pick(STATUS, false), severity: pick(SEVERITY, false), ...pick(MARKS, false) };

/** The prompts' rail symbols with their ASCII fallbacks. */
export function rail(unicode: boolean): Record<keyof typeof RAIL, string> {
  return pick(RAIL, unicode);
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
