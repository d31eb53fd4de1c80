/**
 * Lookups in a parsed JSON report. Each fails by naming what is missing and what the report
 * holds instead, never with a TypeError on `undefined`.
 */

export interface Stage {
  id: string;
  status: string;
  summary: string;
  endpoint: string | null;
  evidence: any;
}
export interface Finding {
  code: string;
  severity: string;
  stage: string;
  endpoint: string | null;
  title: string;
  detail: string;
  fixes: string[];
  evidence: any;
}

export function stageOf(report: any, id: string): Stage {
  const s = (report.stages as Stage[]).find((x) => x.id === id);
  if (!s) throw new Error(`no stage ${id} in the report; it has: ${(report.stages as Stage[]).map((x) => x.id).join(", ")}`);
  return s;
}

export function findingOf(report: any, code: string): Finding {
  const f = (report.findings as Finding[]).find((x) => x.code === code);
  if (!f)
    throw new Error(
      `no ${code} finding; the report has: ${(report.findings as Finding[]).map((x) => `${x.code}:${x.severity}`).join(", ") || "no findings"}`,
    );
  return f;
}

/** "CODE:severity" of every finding, or of one stage's. */
export function codesOf(report: any, stage?: string): string[] {
  return (report.findings as Finding[]).filter((f) => stage === undefined || f.stage === stage).map((f) => `${f.code}:${f.severity}`);
}
