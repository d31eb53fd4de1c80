import { expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * Issue 4's bar (and issue 2's for reference/config): every code of these catalogue sections is
 * produced by the compiled binary in an end-to-end test. A code added to one of them without
 * such a test fails here. A test counts when its title names the code.
 */
const SECTIONS = ["reference", "config", "v2", "auth", "manifest", "blob"];
const ROOT = path.resolve(import.meta.dir, "../..");

function codesOf(section: string): string[] {
  const text = readFileSync(path.join(ROOT, "src/model/catalogue", `${section}.ts`), "utf8");
  return [...text.matchAll(/^\s{2}([A-Z][A-Z0-9_]+): entry</gm)].map((m) => m[1]!);
}

function e2eTitles(): string {
  const dir = import.meta.dir;
  const files = readdirSync(dir).filter((f) => /^(protocol-|mirror|local-).*\.test\.ts$/.test(f) && f !== path.basename(import.meta.path));
  return files.flatMap((f) => [...readFileSync(path.join(dir, f), "utf8").matchAll(/\btest\(\s*"([^"]+)"/g)].map((m) => m[1]!)).join("\n");
}

test.each(SECTIONS)("every %s code is produced by the binary in an e2e test", (section) => {
  const codes = codesOf(section);
  expect(codes.length).toBeGreaterThan(2);
  const titles = e2eTitles();
  const missing = codes.filter((c) => !new RegExp(`\\b${c}\\b`).test(titles));
  expect(missing).toEqual([]);
});
