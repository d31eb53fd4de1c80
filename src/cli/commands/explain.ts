import { CODES } from "../../model/catalogue/codes";
import { importSection, sectionOf } from "../../model/catalogue/load";
import { escapeControls } from "../../model/escape";
import type { Options } from "../../model/options";
import { codeIndex, explainEntry } from "../../ui/explain-text";
import { type Glyphs, glyphs, unicodeSupported } from "../../ui/glyphs";
import type { Io } from "../../ui/io";
import { makeStyle, type Style } from "../../ui/style";

/**
 * `pulldoctor explain [CODE]`: the catalogue entry, offline. No code lists every code by
 * stage; an unknown code is misuse (exit 2) and prints the list so the next try succeeds.
 */
export async function explainCommand(options: Options, io: Io): Promise<number> {
  if (options.errorText !== null) return await (await import("./explain-error")).explainErrorCommand(options, io);
  const st = makeStyle(io.color);
  const g = glyphs(unicodeSupported(process.env));
  const code = options.code ? options.code.trim().toUpperCase().replace(/-/g, "_") : null;
  const section = code === null ? null : sectionOf(code);
  if (code === null || section === null) return await codeList(options, io, code, st, g);
  io.stdout(explainEntry(code, (await importSection(section))[code]!, st, g));
  return 0;
}

/**
 * No code: every code by stage (exit 0). An unknown code: misuse, with the list (exit 2). Apart
 * from explainCommand, whose one-code path is then all that `explain CODE` compiles at start
 * (docs/performance.md, "Start-up of ref and explain").
 */
async function codeList(options: Options, io: Io, code: string | null, st: Style, g: Glyphs): Promise<number> {
  // Every section for the list of codes; for one code, its section alone.
  const all = async () => (await import("../../model/catalogue/index")).SECTIONS;
  if (code === null) {
    io.stdout(codeIndex(await all(), st, g));
    return 0;
  }
  const near = Object.values(CODES)
    .flat()
    .filter((c) => c.includes(code) || code.includes(c));
  io.stderr(
    `pulldoctor: unknown finding code ${escapeControls(JSON.stringify(options.code))}${near.length ? ` (did you mean ${near.join(", ")}?)` : ""}\n\nKnown codes:\n\n`,
  );
  io.stderr(codeIndex(await all(), makeStyle(false), g));
  return 2;
}
