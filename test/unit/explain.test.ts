import { expect, test } from "bun:test";
import { explainCommand } from "../../src/cli/commands/explain";
import type { CatalogueEntry } from "../../src/model/catalogue/entry";
import { CATALOGUE, SECTIONS } from "../../src/model/catalogue/index";
import { defaultOptions } from "../../src/model/options";
import { memoryIo } from "../../src/ui/io";

const run = async (code: string | null, color = false) => {
  const io = memoryIo({ color });
  const exit = await explainCommand(defaultOptions({ command: "explain", code }), io);
  return { exit, out: io.out.join(""), err: io.err.join("") };
};

test("explain CODE prints every part of the catalogue entry, for every code", async () => {
  expect(Object.keys(CATALOGUE).length).toBeGreaterThan(0);
  for (const [code, e] of Object.entries(CATALOGUE) as [string, CatalogueEntry<any>][]) {
    const { exit, out, err } = await run(code);
    expect(exit).toBe(0);
    expect(err).toBe("");
    expect(out).toContain(code);
    expect(out).toContain(e.title);
    expect(out).toContain(`stage: ${e.stage}  severity: ${e.severity}`);
    expect(out).toContain(e.explain);
    for (const s of e.seen) expect(out).toContain(s);
    for (const c of e.causes) expect(out).toContain(c);
    expect(out).toContain(e.howKnown);
    for (const f of e.genericFixes) expect(out).toContain(f);
    expect(out).not.toContain("\u001b[");
  }
});

test("codes are matched case-insensitively", async () => {
  const code = Object.keys(CATALOGUE)[0]!;
  const { exit, out } = await run(code.toLowerCase());
  expect(exit).toBe(0);
  expect(out).toContain(code);
});

test("an unknown code is misuse: exit 2 and the list of codes on stderr", async () => {
  const { exit, out, err } = await run("NO_SUCH_CODE");
  expect(exit).toBe(2);
  expect(out).toBe("");
  expect(err).toContain('unknown finding code "NO_SUCH_CODE"');
  for (const code of Object.keys(CATALOGUE)) expect(err).toContain(code);
});

test("explain with no code lists every code under its stage, in pull order", async () => {
  const { exit, out } = await run(null);
  expect(exit).toBe(0);
  const lines = out.split("\n");
  let last = -1;
  for (const [stage, section] of Object.entries(SECTIONS)) {
    const codes = Object.keys(section);
    if (codes.length === 0) continue;
    const at = lines.indexOf(stage); // the stage's heading line
    expect(at).toBeGreaterThan(last);
    last = at;
    // Its codes follow, one per line, before the next heading (a blank line).
    const block = lines.slice(at + 1, lines.indexOf("", at));
    expect(block.map((l) => l.trim().split(/\s+/)[1])).toEqual(codes);
  }
});

test("colour only when the Io allows it", async () => {
  const code = Object.keys(CATALOGUE)[0]!;
  expect((await run(code, true)).out).toContain("\u001b[");
});
