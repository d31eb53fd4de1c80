import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import Ajv2020 from "ajv/dist/2020";
import { expectFindingsMatchEvidence } from "./finding-claims";

const schema = JSON.parse(readFileSync(path.join(import.meta.dir, "../../docs/report.schema.json"), "utf8"));
const ajv = new Ajv2020({ allErrors: true, strict: false });
ajv.addFormat("date-time", (s: string) => !Number.isNaN(Date.parse(s)) && /T/.test(s));
const validate = ajv.compile(schema);

/** Every report a test produces goes through here: docs/report.schema.json is the contract. */
export function expectValidReport(report: unknown): void {
  const ok = validate(report);
  if (!ok) throw new Error(`report does not match docs/report.schema.json:\n${ajv.errorsText(validate.errors, { separator: "\n" })}`);
  expect(ok).toBe(true);
  // …and no finding in it says credentials were sent or rejected unless its evidence shows they were
  // (a batch holds one report per image).
  type Single = { findings: { code: string; title: string; detail: string; evidence: Record<string, unknown> }[] };
  const r = report as Single & { kind?: string; images?: { report: Single }[] };
  for (const one of r.kind === "batch" ? r.images!.map((i) => i.report) : [r]) expectFindingsMatchEvidence(one.findings);
}

/** Assert no secret value appears anywhere in a serialized report or output. */
export function expectNoSecrets(text: string, secrets: readonly string[]): void {
  for (const s of secrets) expect(text.includes(s)).toBe(false);
}
