import { CODES } from "../../model/catalogue/codes";
import { importSection, sectionOf } from "../../model/catalogue/load";
import { escapeControls } from "../../model/escape";
import type { Options } from "../../model/options";
import { codeIndex, explainEntry } from "../../ui/explain-text";
import { glyphs, unicodeSupported } from "../../ui/glyphs";
import type { Io } from "../../ui/io";
import { makeStyle } from "../../ui/style";

/**
 * `pulldoctor explain [CODE]`: the catalogue entry, offline. No code lists every code by
 * stage; an unknown code is misuse (exit 2) and prints the list so the next try succeeds.
 */
export async function explainCommand(options: Options, io: Io): Promise<number> {
  const st = makeStyle(io.color);
  const g = glyphs(unicodeSupported(process.env));
  if (options.errorText !== null) return await (await import("./explain-error")).explainErrorCommand(options, io);
  // Every section for the list of codes; for one code, its section alone.
  const all = async () => (await import("../../model/catalogue/index")).SECTIONS;
  if (!options.code) {
    io.stdout(codeIndex(await all(), st, g));
    return 0;
  }
  const code = options.code.trim().toUpperCase().replace(/-/g, "_");
  const section = sectionOf(code);
  if (section === null) {
    const near = Object.values(CODES)
      .flat()
      .filter((c) => c.includes(code) || code.includes(c));
    io.stderr(
      `pulldoctor: unknown finding code ${escapeControls(JSON.stringify(options.code))}${near.length ? ` (did you mean ${near.join(", ")}?)` : ""}\n\nKnown codes:\n\n`,
    );
    io.stderr(codeIndex(await all(), makeStyle(false), g));
    return 2;
  }
  io.stdout(explainEntry(code, (await importSection(section))[code]!, st, g));
  return 0;
}
