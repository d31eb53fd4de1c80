import { expect, test } from "bun:test";
import type { RunResult } from "../../src/doctor/run";
import type { Report } from "../../src/model/report";
import { evidenceLines, formatBytes, formatDuration } from "../../src/ui/format";
import { glyphs, unicodeSupported } from "../../src/ui/glyphs";
import { normalizedHint } from "../../src/ui/image-prompt";
import { defaultReportName } from "../../src/ui/interactive";
import { PullProgress } from "../../src/ui/progress";
import { findDeep, imageWithTag } from "../../src/ui/remedies";
import { makeStyle, stripAnsi } from "../../src/ui/style";

test("durations and sizes read as people say them", () => {
  expect([formatDuration(4), formatDuration(1234), formatDuration(125_000)]).toEqual(["4 ms", "1.2 s", "2 min 5 s"]);
  expect([formatBytes(512), formatBytes(2048), formatBytes(3 * 1024 * 1024)]).toEqual(["512 B", "2.0 KiB", "3.0 MiB"]);
});

test("evidence lines: proving facts first, arrays joined, one nested level, a cap that points to --verbose", () => {
  expect(
    evidenceLines({ status: 404, tags: ["1.0", "1.1"], head: { status: 404, deeper: { x: 1 } }, none: undefined, empty: [] }, false),
  ).toEqual(["status: 404", "head.status: 404", "tags: 1.0, 1.1"]);
  // The proving facts first; empty values and constant request details only with --verbose.
  expect(evidenceLines({ url: "u", accept: "a, b", head: { method: "HEAD", status: 429, digest: null } }, false)).toEqual([
    "head.status: 429",
    "url: u",
  ]);
  const many = Object.fromEntries(Array.from({ length: 10 }, (_, i) => [`k${i}`, i]));
  const lines = evidenceLines(many, false);
  expect(lines.length).toBe(9);
  expect(lines[8]).toBe("… 2 more (--verbose or the JSON report shows all)");
  expect(evidenceLines({ a: { b: 1 } }, true)).toEqual(["{", '  "a": {', '    "b": 1', "  }", "}"]);
});

test("Unicode glyphs unless the terminal cannot show them", () => {
  expect(unicodeSupported({ LANG: "en_US.UTF-8", TERM: "xterm-256color" }, "linux")).toBe(true);
  expect(unicodeSupported({ TERM: "linux" }, "linux")).toBe(false);
  expect(unicodeSupported({ LC_ALL: "C" }, "linux")).toBe(false);
  expect(unicodeSupported({}, "win32")).toBe(false);
  expect(unicodeSupported({ WT_SESSION: "1" }, "win32")).toBe(true);
  for (const v of Object.values(glyphs(false).status)) expect(v).toMatch(/^[\x20-\x7e]+$/);
});

test("style: identity without colour, escapes with it", () => {
  expect(makeStyle(false).red("x")).toBe("x");
  const red = makeStyle(true).red("x");
  expect(red).not.toBe("x");
  expect(stripAnsi(red)).toBe("x");
});

test("the image prompt shows the normalized name or Docker's refusal as typed", () => {
  expect(normalizedHint("nginx")).toEqual({ ok: true, canonical: "docker.io/library/nginx:latest" });
  expect(normalizedHint("127.0.0.1:5000/demo/app:1.O")).toEqual({ ok: true, canonical: "127.0.0.1:5000/demo/app:1.O" });
  expect(normalizedHint("Nginx").ok).toBe(false);
  expect(normalizedHint("").ok).toBe(false);
});

test("default report name: pulldoctor-report-<image>-<time>.json, safe as a file name", () => {
  const report = { image: { familiar: "127.0.0.1:5000/demo/app:1.O" }, input: { image: "x" } } as unknown as Report;
  expect(defaultReportName(report, new Date("2026-11-23T11:05:09.123Z"))).toBe(
    "pulldoctor-report-127.0.0.1_5000_demo_app_1.O-20261123T110509Z.json",
  );
});

test("remedy helpers: evidence found at any depth; the retagged image as a user types it", () => {
  expect(findDeep({ a: { b: [{ chainPem: ["P"] }] } }, "chainPem")).toEqual(["P"]);
  expect(findDeep({ a: 1 }, "chainPem")).toBeUndefined();
  const run = (registry: string, repository: string) => ({ localFacts: { ref: { registry, repository } } }) as unknown as RunResult;
  expect(imageWithTag(run("docker.io", "library/nginx"), "1.27")).toBe("nginx:1.27");
  expect(imageWithTag(run("127.0.0.1:5000", "demo/app"), "1.0")).toBe("127.0.0.1:5000/demo/app:1.0");
});

test("pull progress: bytes of all blobs, blobs done, a bar", () => {
  const p = new PullProgress(glyphs(false));
  p.plan([
    { digest: "a", size: 1000, reused: true },
    { digest: "b", size: 3000, reused: false },
  ]);
  p.progress("b", 1000);
  expect(p.line(10)).toBe("#####.....  50%  2.0 KiB / 3.9 KiB  1/2 blobs"); // 1000 reused + 1000 fetched
  p.markDone("b", 3000);
  expect(p.line(10)).toBe("########## 100%  3.9 KiB / 3.9 KiB  2/2 blobs");
});
