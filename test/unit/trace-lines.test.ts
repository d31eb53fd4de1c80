import { expect, test } from "bun:test";
import { glyphs } from "../../src/ui/glyphs";
import { traceLines } from "../../src/ui/plain";
import { makeStyle } from "../../src/ui/style";

// --verbose DNS lines: an empty answer said "NOERROR  (4 ms)" (two spaces, nothing between).
test('a DNS answer without records reads "(no answer)"', () => {
  const g = glyphs(false);
  const st = makeStyle(false);
  const base = { kind: "dns" as const, server: "127.0.0.1:53", name: "registry.pd.test.", durationMs: 4 };
  expect(traceLines({ ...base, type: "AAAA", rcode: "NOERROR", answers: [] }, st, g)).toEqual([
    `dns AAAA registry.pd.test. @127.0.0.1:53 ${g.arrow} NOERROR (no answer) (4 ms)`,
  ]);
  expect(traceLines({ ...base, type: "A", rcode: "NOERROR", answers: ["10.0.0.1"] }, st, g)).toEqual([
    `dns A registry.pd.test. @127.0.0.1:53 ${g.arrow} NOERROR 10.0.0.1 (4 ms)`,
  ]);
  expect(traceLines({ ...base, type: "A", rcode: "NXDOMAIN", answers: [] }, st, g)).toEqual([
    `dns A registry.pd.test. @127.0.0.1:53 ${g.arrow} NXDOMAIN (4 ms)`,
  ]);
});
