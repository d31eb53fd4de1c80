import { printedTableJson } from "../clients/error-texts/printed-table" with { type: "macro" };
import type { PrintedLine } from "../clients/error-texts/printed-table";
import type { CatalogueSection } from "../model/catalogue/entry";
import type { FindingCode } from "../model/catalogue/index";
import type { Glyphs } from "./glyphs";
import type { Style } from "./style";

/** What each client prints per code, as JSON, computed when the code is bundled (a macro: see printed-table.ts). */
const PRINTED = printedTableJson();

/** One catalogue entry as `pulldoctor explain CODE` prints it. */
export function explainEntry(code: string, e: CatalogueSection[string], st: Style, g: Glyphs): string {
  const lines: string[] = [];
  lines.push(`${st.severity(e.severity, `${g.severity[e.severity]} ${code}`)}  ${st.bold(e.title)}`);
  lines.push(st.dim(`stage: ${e.stage}  severity: ${e.severity}`));
  lines.push("");
  lines.push(e.explain);
  const list = (head: string, items: string[]) => {
    if (items.length === 0) return;
    lines.push("", st.bold(head));
    for (const i of items) lines.push(`  ${g.bullet} ${i}`);
  };
  list("What users see", e.seen);
  // A loop, not map(): map is compiled from source on its first call, a share of `explain`'s start.
  const printed: string[] = [];
  const rows: PrintedLine[] = JSON.parse(PRINTED[code as FindingCode] ?? "[]");
  for (const r of rows) printed.push(`${r.client}: ${r.example}${r.versions ? st.dim(`  [${r.versions}]`) : ""}`);
  list("What each client prints (pulldoctor explain --error recognises these)", printed);
  list("Causes (most common first)", e.causes);
  lines.push("", st.bold("How pulldoctor knows"), `  ${e.howKnown}`);
  list("Fixes", e.genericFixes);
  lines.push("", st.dim(`Run \`pulldoctor check IMAGE\` to get these fixes with your host, repository and paths filled in.`));
  return `${lines.join("\n")}\n`;
}

/** Every code, grouped by stage in pull order (the catalogue's SECTIONS, passed in: `explain CODE` does not load them). */
export function codeIndex(sections: Record<string, CatalogueSection>, st: Style, g: Glyphs): string {
  const lines: string[] = [];
  for (const [stage, section] of Object.entries(sections)) {
    const codes = Object.entries(section as CatalogueSection);
    if (codes.length === 0) continue;
    lines.push(st.bold(stage));
    const width = Math.max(...codes.map(([c]) => c.length));
    for (const [code, e] of codes) lines.push(`  ${st.severity(e.severity, g.severity[e.severity])} ${code.padEnd(width)}  ${e.title}`);
    lines.push("");
  }
  lines.push(st.dim("pulldoctor explain CODE prints what a code means, what users see, its causes and fixes."));
  return `${lines.join("\n")}\n`;
}
