import { existsSync, statSync } from "node:fs";
import path from "node:path";
import { type FlowEvent, runFlow } from "../../doctor/flow";
import { type Deps, realDeps } from "../../model/deps";
import type { Options } from "../../model/options";
import { exitCodeFor, type Report } from "../../model/report";
import { MemoryTrace, type Trace, type TraceEvent } from "../../model/trace";
import type { PullEvent } from "../../pull/engine";
import type { parseOutput } from "../../pull/outputs/destination";
import { escapeControls } from "../../registry/http-util";
import { formatBytes, formatDuration } from "../../ui/format";
import { EXIT_INTERNAL, type Io } from "../../ui/io";
import { plainRenderer } from "../../ui/plain";

/** What `check` and `pull` share: refuse misuse, run the flow (src/doctor/flow.ts), print or write the report, exit code. */
export async function checkCommand(options: Options, io: Io, deps: Deps = realDeps()): Promise<number> {
  // The misuse checks compile only when a flag they judge was given (a plain check gives none).
  if (options.password !== null || options.reportFile || (options.command === "pull" && options.output)) {
    const refused = await refuseMisuse(options, io);
    if (refused !== null) return refused;
  }
  const renderer = options.json || options.quiet ? null : plainRenderer({ write: io.stdout, color: io.color, verbose: options.verbose });
  const trace: Trace = options.verbose && renderer?.onTrace ? { record: (e: TraceEvent) => renderer.onTrace!(e) } : new MemoryTrace();
  const onEvent = (e: FlowEvent) => {
    if (e.type === "default-output") {
      if (!options.json && !options.quiet) io.stdout(`No --output given: ${e.reason}\n`);
    } else if (e.type === "pull-progress") {
      if (renderer) progressLine(e.event, io);
    } else renderer?.onEvent(e);
  };
  const flow = await runFlow({ options, deps, trace, onEvent });
  // Only a hook can cancel, and check gives none.
  if (flow.cancelled) throw new Error("the check flow was cancelled without a prompt");
  const { run, report } = flow;
  renderer?.finish(report);
  // ui/report-file (and node:crypto, which its atomic write loads) only when --report was given.
  const reportFailed = !!options.reportFile && !(await import("../../ui/report-file")).writeReportOrSay(io, options.reportFile, report);
  // Fleet pods set PULLDOCTOR_JSON_LINES=1: one line per report, so `kubectl logs --prefix` prefixes all of it.
  if (options.json) io.stdout(`${deps.env.PULLDOCTOR_JSON_LINES === "1" ? JSON.stringify(report) : JSON.stringify(report, null, 2)}\n`);
  if (options.quiet) quietLine(report, io);
  if (run.crashed) {
    io.stderr(
      "pulldoctor hit an internal error (a bug). Please report it with the JSON report attached (--report FILE); the stage marked fail shows where.\n",
    );
    return EXIT_INTERNAL;
  }
  return reportFailed ? Math.max(exitCodeFor(report), 1) : exitCodeFor(report);
}

/** An empty --password-stdin, an unwritable --report or --output: exit 2 before any network step. */
async function refuseMisuse(options: Options, io: Io): Promise<number | null> {
  // docker login refuses an empty password too; sending one only produced a confusing 401.
  if (options.username !== null && options.password !== null && options.password.reveal() === "") {
    io.stderr(
      `pulldoctor: --password-stdin read an empty password for ${options.username}: pipe the password or token in, e.g. echo "$TOKEN" | pulldoctor … --password-stdin\n`,
    );
    return 2;
  }
  if (options.reportFile) {
    const problem = (await import("../../ui/report-file")).reportFileProblem(options.reportFile);
    if (problem) {
      io.stderr(`pulldoctor: --report ${options.reportFile}: ${problem}\n`);
      return 2;
    }
  }
  if (options.command === "pull" && options.output) {
    // A destination that cannot be written is misuse, said before any network step.
    // Imported here: the module loads node:crypto, which nothing else on a check's path needs.
    const { parseOutput, placeProblem } = await import("../../pull/outputs/destination");
    const out = parseOutput(options.output);
    const problem = "error" in out ? out.error : outputPathProblem(out, placeProblem);
    if (problem) {
      io.stderr(`pulldoctor: --output ${escapeControls(options.output)}: ${escapeControls(problem)}\n`);
      return 2;
    }
  }
  return null;
}

/**
 * `pull -q`: as `docker pull -q`, only the pulled reference, here pinned to the digest pulled (the
 * tag's: an index's when the tag named one). A pull that failed says why on stderr instead.
 */
function quietLine(report: Report, io: Io): void {
  const p = report.pull;
  const name = report.image?.canonical;
  if (p && report.verdict.ok && name) io.stdout(`${name.includes("@") ? name : `${name}@${p.index?.digest ?? p.digest}`}\n`);
  else io.stderr(`pulldoctor: ${escapeControls(report.verdict.summary)}\n`);
}

/** A path that can never take this kind of output: an archive onto a directory, a layout onto a file, a place nothing can be created in. */
function outputPathProblem(
  out: Exclude<ReturnType<typeof parseOutput>, { error: string }>,
  placeProblem: (o: typeof out) => string | null,
): string | null {
  const p = "file" in out ? out.file : "dir" in out ? out.dir : null;
  if (p === null) return null;
  if (existsSync(p)) {
    const dir = statSync(p).isDirectory();
    if ("file" in out && dir) return `${p} is a directory; docker-archive: needs a file path (e.g. ${path.join(p, "image.tar")})`;
    if ("dir" in out && !dir) return `${p} is a file; oci: needs a directory for the image layout`;
  }
  // A read-only or unwritable place: refused here, not found out after the download.
  return placeProblem(out);
}

function progressLine(e: PullEvent, io: Io): void {
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
