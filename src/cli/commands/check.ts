import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { type RunResult, runDoctor } from "../../doctor/run";
import { deriveEgress } from "../../egress/derive";
import type { FindingCode } from "../../model/catalogue/index";
import { type Deps, realDeps } from "../../model/deps";
import type { Finding } from "../../model/finding";
import type { Options } from "../../model/options";
import { buildReport, exitCodeFor, type PullSummary, type Report } from "../../model/report";
import type { StageResult } from "../../model/stage";
import { MemoryTrace, type Trace, type TraceEvent } from "../../model/trace";
import { defaultOutput, parseOutput, runPull } from "../../pull/engine";
import { escapeControls } from "../../registry/http-util";
import { STAGES } from "../../stages/index";
import { formatBytes, formatDuration } from "../../ui/format";
import { plainRenderer } from "../../ui/plain";
import type { Io } from "../io";
import { reportFileProblem, writeReportFile } from "../report-file";

export const EXIT_INTERNAL = 70;

/** What `check` and `pull` share: run every stage, (pull) fetch the image, report, exit code. */
export async function checkCommand(options: Options, io: Io, deps: Deps = realDeps()): Promise<number> {
  // docker login refuses an empty password too; sending one only produced a confusing 401.
  if (options.username !== null && options.password !== null && options.password.reveal() === "") {
    io.stderr(
      `pulldoctor: --password-stdin read an empty password for ${options.username}: pipe the password or token in, e.g. echo "$TOKEN" | pulldoctor … --password-stdin\n`,
    );
    return 2;
  }
  if (options.reportFile) {
    const problem = reportFileProblem(options.reportFile);
    if (problem) {
      io.stderr(`pulldoctor: --report ${options.reportFile}: ${problem}\n`);
      return 2;
    }
  }
  if (options.command === "pull" && options.output) {
    // A destination that cannot be written is misuse, said before any network step.
    const out = parseOutput(options.output);
    const problem = "error" in out ? out.error : outputPathProblem(out);
    if (problem) {
      io.stderr(`pulldoctor: --output ${escapeControls(options.output)}: ${escapeControls(problem)}\n`);
      return 2;
    }
  }
  const renderer = options.json ? null : plainRenderer({ write: io.stdout, color: io.color, verbose: options.verbose });
  // Every exchange is kept (the report's egress list is derived from them) and, with --verbose, shown as it happens.
  const memory = new MemoryTrace();
  const trace: Trace =
    options.verbose && renderer?.onTrace
      ? {
          record: (e: TraceEvent) => {
            memory.record(e);
            renderer.onTrace!(e);
          },
        }
      : memory;
  const run = await runDoctor({ stages: STAGES, options, deps, trace, onEvent: (e) => renderer?.onEvent(e) });

  let pull: PullSummary | null = null;
  const extraStages: StageResult[] = [];
  const extraFindings: Finding[] = [];
  if (options.command === "pull") {
    const outcome = await pullAfterDiagnosis(run, options, deps, trace, io, renderer !== null);
    pull = outcome.summary;
    extraStages.push(outcome.result);
    extraFindings.push(...outcome.findings);
    renderer?.onEvent({ type: "result", result: outcome.result, findings: outcome.findings });
  }

  const report = finalReport(options, run, extraStages, extraFindings, pull, memory.events);
  renderer?.finish(report);
  let reportFailed = false;
  if (options.reportFile) {
    try {
      writeReportFile(options.reportFile, report);
    } catch (e) {
      // Checked before the run; a disk that fills or a directory removed meanwhile is said, not a crash.
      reportFailed = true;
      io.stderr(`pulldoctor: could not write the report to ${options.reportFile}: ${e instanceof Error ? e.message : String(e)}\n`);
    }
  }
  // Fleet pods set PULLDOCTOR_JSON_LINES=1: one line per report, so `kubectl logs --prefix` prefixes all of it.
  if (options.json) io.stdout(`${deps.env.PULLDOCTOR_JSON_LINES === "1" ? JSON.stringify(report) : JSON.stringify(report, null, 2)}\n`);
  if (run.crashed) {
    io.stderr(
      "pulldoctor hit an internal error (a bug). Please report it with the JSON report attached (--report FILE); the stage marked fail shows where.\n",
    );
    return EXIT_INTERNAL;
  }
  return reportFailed ? Math.max(exitCodeFor(report), 1) : exitCodeFor(report);
}

/** A path that can never take this kind of output: an archive onto a directory, a layout onto a file. */
function outputPathProblem(out: ReturnType<typeof parseOutput>): string | null {
  const p = "file" in out ? out.file : "dir" in out ? out.dir : null;
  if (p === null || !existsSync(p)) return null;
  const dir = statSync(p).isDirectory();
  if ("file" in out && dir) return `${p} is a directory; docker-archive: needs a file path (e.g. ${path.join(p, "image.tar")})`;
  if ("dir" in out && !dir) return `${p} is a file; oci: needs a directory for the image layout`;
  return null;
}

export function finalReport(
  options: Options,
  run: RunResult,
  extraStages: StageResult[] = [],
  extraFindings: Finding[] = [],
  pull: PullSummary | null = null,
  /** The run's trace: the egress list is derived from it (none kept: no egress list). */
  events: readonly TraceEvent[] | null = null,
): Report {
  const findings = [...run.findings, ...extraFindings];
  const firstError = findings.find((f) => f.severity === "error");
  const pullStage = extraStages.find((s) => s.id === "pull");
  const endpoint = run.verdict.endpoint ?? null;
  const warnings = findings.filter((f) => f.severity === "warning").length;
  const warned = warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : "";
  // The doctor's verdict is a forecast ("should succeed"); once `pull` has run, the verdict
  // says what happened: a pull stage that failed without a finding (an unwritable --output)
  // printed "✖ pull …" followed by "✔ The pull should succeed".
  const verdict =
    extraFindings.length > 0 && firstError
      ? { ok: false, code: firstError.code, summary: `${firstError.title}: ${firstError.detail}`, endpoint }
      : pullStage?.status === "fail" && run.verdict.ok
        ? { ok: false, code: null, summary: `Every stage of the diagnosis passed, but the pull failed: ${pullStage.summary}`, endpoint }
        : pull && run.verdict.ok
          ? { ...run.verdict, summary: `Pulled and verified ${pull.output}${endpoint ? ` from ${endpoint}` : ""}${warned}.` }
          : run.verdict;
  return buildReport({
    ...clientParts(run, verdict),
    command: options.command,
    image: options.image,
    platform: options.platform,
    ref: run.localFacts.ref ?? null,
    stages: [...run.stages, ...extraStages],
    findings,
    verdict,
    pull,
    egress: events
      ? deriveEgress({
          events,
          endpoints: run.endpoints.map((r) => ({ url: r.endpoint.url, role: r.endpoint.role })),
          registry: run.localFacts.ref?.registry ?? null,
        })
      : [],
  });
}

/** The judged client, and with --client all one verdict per client: its own config's error, else the wire's verdict. */
function clientParts(run: RunResult, verdict: Report["verdict"]): Pick<Parameters<typeof buildReport>[0], "client" | "clients"> {
  const c = run.localFacts.client;
  if (!c) return {};
  const client = { name: c.name, store: c.store, basedOn: c.basedOn };
  if (!c.all) return { client };
  const own = new Set(c.all.map((x) => x.code).filter((x) => x !== null));
  const wire = run.findings.find((f) => f.severity === "error" && !own.has(f.code));
  const clients = c.all.map((x) => {
    const f = x.code ? run.findings.find((g) => g.code === x.code && g.detail.startsWith(`[${x.label}]`)) : wire;
    const code = (x.code ?? wire?.code ?? null) as FindingCode | null;
    return {
      name: x.name,
      store: x.store,
      verdict: f
        ? { ok: false, code, summary: `${f.title}: ${f.detail}` }
        : {
            ok: verdict.ok || code === null,
            code: null,
            summary: verdict.ok ? verdict.summary : `nothing in ${x.label}'s config stops it`,
          },
    };
  });
  return { client, clients };
}

async function pullAfterDiagnosis(run: RunResult, options: Options, deps: Deps, trace: Trace, io: Io, showProgress: boolean) {
  const chosen = run.chosen;
  if (!chosen?.facts.manifest || !run.localFacts.ref) {
    const result: StageResult = {
      id: "pull",
      endpoint: null,
      status: "skip",
      durationMs: 0,
      summary: "skipped: no endpoint passed every stage, so there is nothing a pull could fetch",
      evidence: { skippedBecause: run.verdict.code ?? "no endpoint passed" },
    };
    return { result, findings: [] as Finding[], summary: null };
  }
  let output = options.output;
  if (!output) {
    const d = await defaultOutput(deps, run.localFacts.ref);
    output = d.output;
    if (!options.json) io.stdout(`No --output given: ${d.reason}\n`);
  }
  const later = run.endpoints.slice(run.endpoints.indexOf(chosen) + 1).filter((r) => r.ok);
  return runPull({
    options,
    deps,
    trace,
    endpoint: chosen.endpoint,
    facts: chosen.facts,
    fallbacks: later.map((r) => ({ endpoint: r.endpoint, facts: r.facts })),
    output,
    onProgress: showProgress ? (e) => progressLine(e, io) : undefined,
  });
}

function progressLine(e: Parameters<NonNullable<Parameters<typeof runPull>[0]["onProgress"]>>[0], io: Io): void {
  if (e.type === "done") {
    // A blob already in the store is not "pulled 0.0 MiB from store"; small blobs are not "0.0 MiB".
    if (e.bytes === 0 && e.host === "store") {
      io.stdout(`  reused ${e.digest.slice(0, 19)}  (already in the local store)\n`);
      return;
    }
    const resumed = e.resumedFrom > 0 ? `, resumed from ${formatBytes(e.resumedFrom)}` : "";
    io.stdout(`  pulled ${e.digest.slice(0, 19)}  ${formatBytes(e.bytes)} in ${formatDuration(e.durationMs)} from ${e.host}${resumed}\n`);
  } else if (e.type === "retry") {
    io.stdout(`  retry ${e.attempt} for ${e.digest.slice(0, 19)}: ${e.error}\n`);
  }
}
