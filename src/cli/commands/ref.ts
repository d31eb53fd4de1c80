import { importSections } from "../../model/catalogue/index";
import type { ImageRef } from "../../model/facts";
import type { Finding } from "../../model/finding";
import type { Options } from "../../model/options";
import type { Report } from "../../model/report";
import type { StageResult } from "../../model/stage";
import { referenceOutcome } from "../../stages/reference-outcome";
import type { Io } from "../../ui/io";

/**
 * `pulldoctor ref IMAGE`: how Docker normalizes IMAGE. Exit 0 when it parses, 1 when
 * Docker would refuse it (with --json: the full report, same shape as `check`),
 * 2 when IMAGE is missing.
 */
export async function refCommand(options: Options, io: Io): Promise<number> {
  if (options.image === null) {
    io.stderr("pulldoctor ref: missing IMAGE\nUsage: pulldoctor ref IMAGE [--json]\n");
    return 2;
  }
  const input = options.image;
  // The words of the findings this stage can make, imported rather than required when the first is made.
  await importSections(["reference"]);
  const started = performance.now();
  const out = referenceOutcome(input);
  const errors = out.findings.filter((f) => f.severity === "error");
  const result: StageResult = {
    id: "reference",
    endpoint: null,
    status: errors.length > 0 ? "fail" : "pass",
    durationMs: Math.round(performance.now() - started),
    summary: out.summary,
    evidence: out.evidence,
  };
  const ref = out.provides?.ref ?? null;
  // The report (node:os, the verdict) only when one is written: the table and the error need
  // neither, and the file writer brings node:crypto, ≈ 4 ms of this command's start.
  const report = async (): Promise<Report> => {
    const [{ buildReport }, { verdictOf }] = await Promise.all([import("../../model/report"), import("../../doctor/verdict")]);
    const verdict = verdictOf(out.findings, null, [], false);
    return buildReport({
      command: "ref",
      image: input,
      platform: options.platform,
      ref,
      stages: [result],
      findings: out.findings,
      verdict,
    });
  };
  if (options.reportFile) (await import("../../ui/report-file")).writeReportFile(options.reportFile, await report());

  if (ref === null) {
    if (options.json) io.stdout(`${JSON.stringify(await report(), null, 2)}\n`);
    else io.stderr(renderError(errors));
    return 1;
  }
  if (options.json) {
    const { input: i, registry, repository, tag, digest, canonical, familiar } = ref;
    io.stdout(`${JSON.stringify({ input: i, registry, repository, tag, digest, canonical, familiar }, null, 2)}\n`);
  } else {
    io.stdout(renderTable(ref, out.findings));
  }
  return 0;
}

function renderTable(ref: ImageRef, findings: Finding[]): string {
  const rows: [string, string][] = [
    ["input", ref.input],
    ["registry", ref.registry + (ref.registry === "docker.io" ? "  (Docker Hub, API host registry-1.docker.io)" : "")],
    ["repository", ref.repository],
    ["tag", ref.tag ?? "(none: pinned by digest)"],
    ["digest", ref.digest ?? "(none)"],
    ["canonical", ref.canonical],
    ["familiar", ref.familiar],
  ];
  const w = Math.max(...rows.map(([k]) => k.length));
  let s = rows.map(([k, v]) => `${k.padEnd(w)}  ${v}\n`).join("");
  for (const f of findings) {
    s += `\n${f.severity === "info" ? "note" : f.severity}: ${f.title}. ${f.detail}\n`;
    for (const fix of f.fixes) s += `  - ${fix}\n`;
  }
  return s;
}

function renderError(findings: Finding[]): string {
  let s = "";
  for (const f of findings) {
    s += `error [${f.code}] ${f.title}: ${f.detail}\n`;
    for (const fix of f.fixes) s += `  - ${fix}\n`;
  }
  return s;
}
