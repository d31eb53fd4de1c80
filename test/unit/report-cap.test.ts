import { expect, test } from "bun:test";
import { capLongStrings, MAX_EVIDENCE_STRING } from "../../src/model/evidence";
import { buildReport } from "../../src/model/report";
import { Secret } from "../../src/model/secret";
import type { StageResult } from "../../src/model/stage";

test("strings longer than 8 KiB are cut and counted; shorter ones, numbers and structure are kept", () => {
  const long = "x".repeat(MAX_EVIDENCE_STRING + 100);
  expect(capLongStrings({ a: long, b: [long, 3, null], c: { d: "short" } })).toEqual({
    a: `${"x".repeat(MAX_EVIDENCE_STRING)}…[100 more characters]`,
    b: [`${"x".repeat(MAX_EVIDENCE_STRING)}…[100 more characters]`, 3, null],
    c: { d: "short" },
  });
});

test("the report cuts evidence only after the secret scrub: a secret across the cut leaves no piece behind", () => {
  const secret = new Secret("hunter2-very-long-password-abc");
  const value = `${"a".repeat(MAX_EVIDENCE_STRING - 10)}${secret.reveal()}${"b".repeat(50)}`;
  const stage: StageResult = {
    id: "auth",
    title: "Auth",
    endpoint: null,
    status: "fail",
    durationMs: 1,
    summary: "s",
    evidence: { challenge: value },
  } as unknown as StageResult;
  const report = buildReport({
    command: "check",
    image: "x",
    platform: "linux/amd64",
    ref: null,
    stages: [stage],
    findings: [],
    verdict: { ok: false, code: null, summary: "s" } as never,
  });
  const text = JSON.stringify(report);
  expect(text).not.toContain("hunter2");
  expect(text.length).toBeLessThan(MAX_EVIDENCE_STRING + 1000);
});
