import { expect } from "bun:test";
import path from "node:path";
import type { CheckCli } from "../helpers/check-cli";
import type { Finding } from "../helpers/report";
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
  c: CheckCli,
  code: string,
  severity: "error" | "warning" | "info",
  stage: string,
  stageStatus?: string,
): Finding {
  expectValidReport(c.report);
  const f = c.find(code);
  expect([f.code, f.severity, f.stage]).toEqual([code, severity, stage]);
  const s = c.stage(stage);
  expect(s.status).toBe(stageStatus ?? (severity === "error" ? "fail" : severity === "warning" ? "warn" : s.status));
  const errors = c.findings.filter((x) => x.severity === "error");
  expect(c.r.code).toBe(errors.length > 0 ? 1 : 0);
  expect(c.report.verdict.ok).toBe(errors.length === 0);
  if (severity === "error") {
    expect(c.r.code).toBe(1);
    expect(c.report.verdict.code).toBe(errors[0]!.code);
  }
  return f;
}
