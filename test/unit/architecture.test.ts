import { expect, test } from "bun:test";
import { readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";

/**
 * The layer rule of docs/architecture.md, checked on every import in src: a folder imports
 * only from folders in a lower layer (or from itself). `import type` counts too: a type that
 * points up couples the layers as surely as a value does.
 */
const SRC = path.resolve(import.meta.dir, "../../src");

/** Lower layers first. Folders of one layer do not import each other. */
export const LAYERS: readonly (readonly string[])[] = [
  ["version.ts"],
  ["model"],
  ["net"],
  ["host"],
  ["registry"],
  ["pull", "clients", "inputs", "fleet", "egress"],
  ["stages", "lab"],
  ["doctor"],
  ["ui"],
  ["cli"],
  ["main.ts"],
];

/** Imports against the rule that are there on purpose, each with its reason. Keep it short. */
export const EXCEPTIONS: readonly { from: string; to: string; why: string }[] = [];

/** npm packages only one place may import (STYLE.md: one module owns each trap). */
const OWNERS: Record<string, RegExp> = {
  chalk: /^ui\/style\.ts$/,
  "@clack/core": /^ui\//,
  "@clack/prompts": /^ui\//,
  "undici-npm": /^registry\/http-undici\.ts$/,
};

function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    return statSync(p).isDirectory() ? filesUnder(p) : p.endsWith(".ts") ? [p] : [];
  });
}

/** Every module specifier: static imports and re-exports (type-only too), and dynamic import(). */
export function specifiers(source: string): string[] {
  const out: string[] = [];
  const stat = /^\s*(?:import|export)\s+(?:type\s+)?(?:[^"'`;]*?\s+from\s+)?["']([^"']+)["']/gm;
  const dyn = /\bimport\(\s*["']([^"']+)["']\s*\)/g;
  for (const re of [stat, dyn]) for (const m of source.matchAll(re)) out.push(m[1]!);
  return out;
}

/** The layer a path under src belongs to: its top folder, or the file itself at the top. */
const unitOf = (rel: string) => rel.split("/")[0]!;
const layerOf = (unit: string) => LAYERS.findIndex((l) => l.includes(unit));

interface Edge {
  from: string;
  to: string;
}

function edges(): { local: Edge[]; npm: Edge[] } {
  const local: Edge[] = [];
  const npm: Edge[] = [];
  for (const file of filesUnder(SRC)) {
    const from = path.relative(SRC, file);
    for (const spec of specifiers(readFileSync(file, "utf8"))) {
      if (spec.startsWith(".")) {
        const target = path.relative(SRC, path.resolve(path.dirname(file), spec));
        local.push({ from, to: target.endsWith(".ts") ? target : `${target}.ts` });
      } else if (!spec.startsWith("node:") && !spec.startsWith("bun")) npm.push({ from, to: spec });
    }
  }
  return { local, npm };
}

test("every folder and top-level file of src has a layer", () => {
  const units = readdirSync(SRC);
  expect(units.filter((u) => layerOf(u) < 0)).toEqual([]);
});

test("docs/architecture.md has a paragraph for every folder and top-level file of src", () => {
  const doc = readFileSync(path.resolve(SRC, "../docs/architecture.md"), "utf8");
  const units = readdirSync(SRC).map((u) => (u.endsWith(".ts") ? u : `${u}/`));
  expect(units.filter((u) => !doc.includes(`**\`${u}\`**`))).toEqual([]);
});

test("the import parser sees every form src uses", () => {
  expect(
    specifiers(
      'import { a } from "../x";\nimport type { B } from "./y";\nexport { c } from "../z";\nimport "./side";\nconst m = await import("./cli/commands/check");\nimport {\n  d,\n} from "../w";',
    ),
  ).toEqual(["../x", "./y", "../z", "./side", "../w", "./cli/commands/check"]);
});

test("imports point down the layers; the exceptions are listed with their reasons", () => {
  const { local } = edges();
  expect(local.length).toBeGreaterThan(300);
  const against = local.filter(({ from, to }) => {
    const a = unitOf(from);
    const b = unitOf(to);
    return a !== b && layerOf(b) >= layerOf(a);
  });
  const unlisted = against.filter((e) => !EXCEPTIONS.some((x) => x.from === e.from && x.to === e.to)).map((e) => `${e.from} → ${e.to}`);
  expect(unlisted).toEqual([]);
  // An exception that no longer happens is removed from the list.
  const stale = EXCEPTIONS.filter((x) => !against.some((e) => e.from === x.from && e.to === x.to)).map((x) => `${x.from} → ${x.to}`);
  expect(stale).toEqual([]);
});

test("no src/ui file imports src/cli", () => {
  expect(edges().local.filter((e) => unitOf(e.from) === "ui" && unitOf(e.to) === "cli")).toEqual([]);
});

test("chalk, clack and undici are imported only by the module that owns them", () => {
  const wrong = edges()
    .npm.filter((e) => OWNERS[e.to] !== undefined && !OWNERS[e.to]!.test(e.from))
    .map((e) => `${e.from} → ${e.to}`);
  expect(wrong).toEqual([]);
});
