import { expect, test } from "bun:test";
import { timedTrace } from "../../src/doctor/timing";
import type { StageResult } from "../../src/model/stage";
import { MemoryTrace } from "../../src/model/trace";
import { plainRenderer } from "../../src/ui/plain";

const http = (url: string, status: number | null, durationMs: number, error?: string) =>
  ({ kind: "http", method: "GET", url, status, requestHeaders: {}, responseHeaders: {}, durationMs, ...(error ? { error } : {}) }) as const;

test("timedTrace: passes every event on and keeps each request's time for the stage's evidence", () => {
  const outer = new MemoryTrace();
  const t = timedTrace(outer);
  expect(t.evidence()).toEqual({});
  t.trace.record(http("http://r/v2/", 200, 4.4));
  t.trace.record({ kind: "dns", server: "10.0.0.2:53", name: "r", type: "A", rcode: "NOERROR", answers: ["10.0.0.9"], durationMs: 1.2 });
  t.trace.record({ kind: "note", text: "not a request" });
  t.trace.record(http("http://r/v2/x/manifests/1", null, 30, "connect ECONNREFUSED"));
  expect(outer.events).toHaveLength(4);
  expect(t.evidence()).toEqual({
    timing: {
      requests: [
        { request: "GET http://r/v2/", result: "200", ms: 4 },
        { request: "dns A r @10.0.0.2:53", result: "NOERROR", ms: 1 },
        { request: "GET http://r/v2/x/manifests/1", result: "error: connect ECONNREFUSED", ms: 30 },
      ],
      requestMs: 35,
    },
  });
});

test("--verbose prints one line per request under the stage's line; without it, none", () => {
  const result: StageResult = {
    id: "v2",
    endpoint: "http://r",
    status: "pass",
    durationMs: 12,
    summary: "open",
    evidence: { timing: { requests: [{ request: "GET http://r/v2/", result: "200", ms: 11 }], requestMs: 11 } },
  };
  for (const verbose of [true, false]) {
    const out: string[] = [];
    plainRenderer({ write: (s) => void out.push(s), color: false, verbose, unicode: false }).onEvent({
      type: "result",
      result,
      findings: [],
    });
    const text = out.join("");
    expect(text.includes("GET http://r/v2/")).toBe(verbose);
    if (verbose) expect(text).toMatch(/11 ms\s+GET http:\/\/r\/v2\/ .* 200/);
  }
});
