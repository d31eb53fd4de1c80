import { referenceSection } from "../../model/catalogue/reference-section";
import { provideSection } from "../../model/catalogue/sections";
import type { ImageRef } from "../../model/facts";
import type { Finding } from "../../model/finding";
import type { Options } from "../../model/options";
import type { Report } from "../../model/report";
import type { StageOutcome, StageResult } from "../../model/stage";
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
  const started = performance.now();
  const out = referenceOutcome(options.image);
  const run = { input: options.image, out, durationMs: Math.round(performance.now() - started) };
  if (options.reportFile) await writeReport(options, options.reportFile, run);
  const ref = out.provides?.ref;
  if (!ref) return refused(options, io, run);
  io.stdout(options.json ? refJson(ref) : renderTable(ref, out.findings));
  return 0;
}

/** Loaded only for --report: the file writer brings node:crypto, ≈ 4 ms of this command's start. */
async function writeReport(options: Options, file: string, run: RefRun): Promise<void> {
  (await import("../../ui/report-file")).writeReportFile(file, await refReport(options, run));
}

// Every finding `ref` makes is in the reference section (the note that Docker pulls `latest`, the
// refusals): imported with the command and provided, where a finding's require() would compile
// Bun's require from source (docs/performance.md, "Start-up of ref and explain").
provideSection("reference", referenceSection);

interface RefRun {
  input: string;
  out: StageOutcome;
  durationMs: number;
}

/**
 * The report, as `check` writes it, for --report and for --json of a refused reference. Its
 * modules (node:os, the verdict) are loaded only then: the table and the error need neither, and
 * the healthy path stays a short function (at bytecode depth 0 each function called at start is
 * compiled from source: docs/performance.md, "Start-up of ref and explain").
 */
async function refReport(options: Options, { input, out, durationMs }: RefRun): Promise<Report> {
  const [{ buildReport }, { verdictOf }] = await Promise.all([import("../../model/report"), import("../../doctor/verdict")]);
  const failed = out.findings.some((f) => f.severity === "error");
  const result: StageResult = {
    id: "reference",
    endpoint: null,
    status: failed ? "fail" : "pass",
    durationMs,
    summary: out.summary,
    evidence: out.evidence,
  };
  const verdict = verdictOf(out.findings, null, [], false);
  return buildReport({
    command: "ref",
    image: input,
    platform: options.platform,
    ref: out.provides?.ref ?? null,
    stages: [result],
    findings: out.findings,
    verdict,
  });
}

/** Exit 1: the report on stdout with --json, else each error and its fixes on stderr. */
async function refused(options: Options, io: Io, run: RefRun): Promise<number> {
  if (options.json) io.stdout(`${JSON.stringify(await refReport(options, run), null, 2)}\n`);
  else io.stderr(renderError(run.out.findings.filter((f) => f.severity === "error")));
  return 1;
}

function refJson(ref: ImageRef): string {
  const { input, registry, repository, tag, digest, canonical, familiar } = ref;
  return `${JSON.stringify({ input, registry, repository, tag, digest, canonical, familiar }, null, 2)}\n`;
}

function renderTable(ref: ImageRef, findings: Finding[]): string {
  // One template, its labels padded to the longest ("repository"): at bytecode depth 0 this is
  // compiled at `ref`'s start, and rows with loops or map() compile to more (docs/performance.md,
  // "Start-up of ref and explain").
  const hub = ref.registry === "docker.io" ? "  (Docker Hub, API host registry-1.docker.io)" : "";
  let s = `input       ${ref.input}
registry    ${ref.registry}${hub}
repository  ${ref.repository}
tag         ${ref.tag ?? "(none: pinned by digest)"}
digest      ${ref.digest ?? "(none)"}
canonical   ${ref.canonical}
familiar    ${ref.familiar}
`;
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
