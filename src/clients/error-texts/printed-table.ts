import { CODES } from "../../model/catalogue/codes";
import type { FindingCode } from "../../model/catalogue/index";
import { type PrintedRow, printedFor } from "./index";

/** What `explain CODE` shows of a row: the client, its words, the versions that print them. */
export type PrintedLine = Pick<PrintedRow, "client" | "example" | "versions">;

/**
 * What each client prints, for every code that has a row: `printedFor` over the whole
 * catalogue. `explain CODE` imports it as a Bun macro (`with { type: "macro" }`), so the build
 * (and Bun's runtime transpiler, for a source run) puts this table in its chunk as a literal,
 * and `explain` no longer evaluates every client's error texts (≈ 45 KB of patterns, built at
 * load) for the rows of one code (docs/performance.md, "Start-up of ref and explain").
 * test/unit/printed-table.test.ts keeps it equal to printedFor.
 */
export function printedTable(): Partial<Record<FindingCode, PrintedLine[]>> {
  const table: Partial<Record<FindingCode, PrintedLine[]>> = {};
  for (const code of Object.values(CODES).flat()) {
    const rows = printedFor(code);
    if (rows.length > 0) table[code] = rows.map(({ client, example, versions }) => ({ client, example, versions }));
  }
  return table;
}

/**
 * The same table with each code's rows as JSON text, the form `explain` embeds: a literal of
 * ≈ 60 strings is built at load in a fraction of the time of ≈ 300 nested objects, and `explain
 * CODE` parses only its own code's rows (docs/performance.md, "Start-up of ref and explain").
 */
export function printedTableJson(): Partial<Record<FindingCode, string>> {
  const out: Partial<Record<FindingCode, string>> = {};
  for (const [code, rows] of Object.entries(printedTable())) out[code as FindingCode] = JSON.stringify(rows);
  return out;
}
