import { deriveEgress } from "../egress/derive";
import type { Finding } from "../model/finding";
import type { Options } from "../model/options";
import { buildReport, type PullSummary, type Report } from "../model/report";
import type { StageResult } from "../model/stage";
import type { TraceEvent } from "../model/trace";
import { clientParts } from "./client-verdicts";
import type { RunResult } from "./run";

/** The report of a diagnosis, and of the pull after it when there was one. */
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
    ...clientParts(run),
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
