import { expect, test } from "bun:test";
import { printedFor } from "../../src/clients/error-texts/index";
import { printedTable, printedTableJson } from "../../src/clients/error-texts/printed-table";
import { CODES } from "../../src/model/catalogue/codes";
import type { CatalogueSection } from "../../src/model/catalogue/entry";
import { SECTIONS } from "../../src/model/catalogue/index";
import { explainEntry } from "../../src/ui/explain-text";
import { glyphs } from "../../src/ui/glyphs";
import { makeStyle } from "../../src/ui/style";

// explain CODE reads printedTable() as a macro (evaluated when bundled): it must say what printedFor says.
test("the printed table holds printedFor's client, words and versions for every code, and nothing else", () => {
  const table = printedTable();
  const codes = Object.values(CODES).flat();
  for (const code of codes) {
    const want = printedFor(code).map(({ client, example, versions }) => ({ client, example, versions }));
    expect([code, table[code] ?? []]).toEqual([code, want]);
  }
  expect(Object.keys(table).every((c) => (codes as string[]).includes(c))).toBe(true);
  expect(Object.keys(table).length).toBeGreaterThan(20);
});

test("the JSON form explain embeds holds the same rows, code by code", () => {
  const table = printedTable();
  const json = printedTableJson();
  expect(Object.keys(json)).toEqual(Object.keys(table));
  for (const [code, text] of Object.entries(json)) expect([code, JSON.parse(text!)]).toEqual([code, table[code as keyof typeof table]]);
});

test("explain CODE lists each client's row of printedFor", () => {
  const st = makeStyle(false);
  const g = glyphs(false);
  const rows = printedFor("MANIFEST_UNKNOWN");
  expect(rows.length).toBeGreaterThan(2);
  const out = explainEntry("MANIFEST_UNKNOWN", (SECTIONS.manifest as CatalogueSection).MANIFEST_UNKNOWN!, st, g);
  for (const r of rows) expect(out).toContain(`${r.client}: ${r.example}${r.versions ? `  [${r.versions}]` : ""}`);
});
