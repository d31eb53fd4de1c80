import { expect } from "bun:test";
import path from "node:path";
import type { CheckCli } from "../helpers/check-cli";
import { type Finding, findingOf, stageOf } from "../helpers/report";
import type { NsRun } from "../helpers/run-in-ns";
import { expectValidReport } from "../helpers/schema";

export { codesOf, type Finding, findingOf, type Stage, stageOf } from "../helpers/report";

/** Shared by the network e2e files: hermetic flags, report lookups, the common assertions. */

/** Flags that keep a run away from this machine's Docker setup: no daemon.json, our certs.d. */
export function hermetic(dir: string, o: { timeout?: number; certsDir?: string; daemonConfig?: string } = {}): string[] {
  return [
    "--daemon-config",
    o.daemonConfig ?? path.join(dir, "no-daemon.json"),
    "--certs-dir",
    o.certsDir ?? path.join(dir, "no-certs.d"),
    "--timeout",
    String(o.timeout ?? 3),
  ];
}

/**
 * The assertions every network e2e makes: a schema-valid report; the finding with its
 * severity, in its stage, whose status follows (error ⇒ fail, warning ⇒ warn); exit 1 exactly
 * when the report holds an error finding; the verdict names the first error.
 */
export function expectFinding(
  run: CheckCli | NsRun,
  code: string,
  severity: "error" | "warning" | "info",
  stage: string,
  stageStatus?: string,
): Finding {
  // checkCli's result keeps the process output in `r`; runInNs's is the output itself.
  const r = { report: run.report, code: "r" in run ? run.r.code : run.code };
  expectValidReport(r.report);
  const f = findingOf(r.report, code);
  expect([f.code, f.severity, f.stage]).toEqual([code, severity, stage]);
  const s = stageOf(r.report, stage);
  expect(s.status).toBe(stageStatus ?? (severity === "error" ? "fail" : severity === "warning" ? "warn" : s.status));
  const errors = (r.report.findings as Finding[]).filter((x) => x.severity === "error");
  expect(r.code).toBe(errors.length > 0 ? 1 : 0);
  expect(r.report.verdict.ok).toBe(errors.length === 0);
  if (severity === "error") {
    expect(r.code).toBe(1);
    expect(r.report.verdict.code).toBe(errors[0]!.code);
  }
  return f;
}
