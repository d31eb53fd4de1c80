import { expect, test } from "bun:test";
import fc from "fast-check";
import { parse, stringify } from "yaml";
import { InputCollector } from "../../src/inputs/read";
import { Lines, parseDocuments } from "../../src/inputs/tree";

/**
 * -f inputs as hostile text: whatever the bytes, reading gives images and findings, never a
 * throw; and the data read equals what the yaml package itself reads (JSON through the
 * project's line-keeping parser, YAML through the AST walk).
 */

test("any text: the collector returns, every finding names its file, document and line", () => {
  fc.assert(
    fc.property(fc.oneof(fc.string(), fc.string({ unit: "binary" }), fc.constantFrom("{", "[1,", "a: [", "---\n- *x", "\t- a")), (text) => {
      const c = new InputCollector({ all: false, env: {}, cwd: "/" });
      c.add("f.yaml", text);
      const r = c.done();
      for (const f of r.findings) {
        expect(f.evidence.file).toBe("f.yaml");
        expect(typeof f.evidence.line).toBe("number");
        expect(f.stage).toBe("reference");
      }
    }),
    { numRuns: 500 },
  );
});

test("a __proto__ key is a key like any other, in YAML, in JSON and through a merge key (the counterexample fast-check found)", () => {
  for (const text of ['{"": {"__proto__": 0}}', "a:\n  __proto__: {image: evil}\n", "d: &d {__proto__: {x: 1}}\ns:\n  <<: *d\n"]) {
    const docs = parseDocuments(text, new Lines());
    expect(docs[0]!.value).toEqual(parse(text, { merge: true }));
    expect(JSON.stringify(docs[0]!.value)).toContain("__proto__");
  }
});

test("the data read from YAML and from JSON equals what the yaml package reads", () => {
  fc.assert(
    fc.property(fc.jsonValue({ maxDepth: 4 }), (v) => {
      // -0 and a few float forms are printed differently by the two writers; the data is the same.
      const value = JSON.parse(JSON.stringify(v));
      for (const text of [stringify(value), JSON.stringify(value, null, 1)]) {
        const docs = parseDocuments(text, new Lines());
        expect(docs).toHaveLength(1);
        expect(docs[0]!.error).toBeUndefined();
        expect(docs[0]!.value).toEqual(parse(text));
      }
    }),
    { numRuns: 300 },
  );
});
