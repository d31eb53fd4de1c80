import { cancel, confirm, intro, isCancel, note, outro, select, text } from "@clack/prompts";
import { finalReport } from "../cli/commands/check";
import type { Io } from "../cli/io";
import { writeReportFile } from "../cli/report-file";
import { type RunResult, runDoctor, type StageEvent } from "../doctor/run";
import type { Deps } from "../model/deps";
import { worst } from "../model/finding";
import type { Options } from "../model/options";
import { exitCodeFor, type Report } from "../model/report";
import type { StageId } from "../model/stage";
import { MemoryTrace, type Trace, type TraceEvent } from "../model/trace";
import { defaultOutput, runPull } from "../pull/engine";
import { STAGES } from "../stages/index";
import { VERSION } from "../version";
import { type Glyphs, glyphs, unicodeSupported } from "./glyphs";
import { askImage } from "./image-prompt";
import { findingBlock, stageLine, summaryBlock, traceLines } from "./plain";
import { liveLine, PullProgress } from "./progress";
import { hasRemedy, offerRemedy } from "./remedies";
import { makeStyle, type Style, stripAnsi } from "./style";

export const EXIT_CANCELLED = 130;
const MAX_ROUNDS = 6;

interface Ui {
  io: Io;
  st: Style;
  g: Glyphs;
  unicode: boolean;
}

/**
 * The interactive doctor (issue 6): ask the image, walk the stages with a spinner,
 * show each finding with its evidence and fixes, offer the fixes that can be tried now
 * and re-run from the stage they affect, then a summary, "Save report?" and "Pull now?".
 * Ctrl-C at a prompt returns 130; mid-stage, main's SIGINT handler exits 130 (reports
 * and outputs are renamed into place only when complete, so nothing is half-written).
 */
export async function runInteractive(options: Options, io: Io, deps: Deps): Promise<number> {
  const unicode = unicodeSupported(deps.env);
  const ui: Ui = { io, st: makeStyle(io.color), g: glyphs(unicode), unicode };
  const restoreCursor = () => process.stdout.write("\u001b[?25h");
  process.once("exit", restoreCursor);
  intro(`pulldoctor ${VERSION}`);
  io.stdout(`${ui.st.dim(unicode ? "│" : "|")}\n`);
  let opts = { ...options, command: "check" as const };
  if (!opts.image) {
    const image = await askImage(ui.st, unicode);
    if (isCancel(image)) return cancelled();
    opts = { ...opts, image };
  }

  // Ctrl-C aborts deps.signal: whatever the stage or pull made of it, the answer is 130.
  const interrupted = () => deps.signal.aborted;
  let run = await diagnose(opts, deps, ui);
  if (interrupted()) return cancelled();
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const first = run.findings.find((f) => f.severity === "error");
    if (!first || !hasRemedy(first)) break;
    io.stdout("\n");
    const remedy = await offerRemedy(first, run, opts, { st: ui.st, say: (s) => io.stdout(`${ui.st.dim(ui.g.bullet)} ${s}\n`) });
    if (remedy.kind === "cancel") return cancelled();
    if (remedy.kind === "none") break;
    opts = { ...remedy.options, command: "check" };
    io.stdout(`\n${ui.st.bold(`Checking again ${remedy.what}`)}${remedy.from ? ui.st.dim(` (from the ${remedy.from} stage)`) : ""}\n`);
    run = await diagnose(opts, deps, ui, remedy.from ? run : undefined, remedy.from ?? undefined);
    if (interrupted()) return cancelled();
  }

  let report = finalReport(opts, run);
  note(stripAnsiIfPlain(summaryBlock(report, ui.st, ui.g), ui).trimEnd(), "Result");

  const save = await confirm({ message: "Save the report (JSON, safe to attach to a ticket)?", initialValue: !report.verdict.ok });
  if (isCancel(save)) return cancelled();
  if (save) {
    const file = await text({ message: "Report file", initialValue: defaultReportName(report, deps.now()) });
    if (isCancel(file)) return cancelled();
    writeReportFile(file, report);
    io.stdout(`${ui.st.green(ui.g.status.pass)} report written to ${file}\n`);
  }

  if (run.chosen?.facts.manifest && run.localFacts.ref) {
    const pull = await confirm({ message: "Pull the image now?", initialValue: true });
    if (isCancel(pull)) return cancelled();
    if (pull) {
      const pulled = await pullNow(opts, run, deps, ui);
      if (pulled === "cancel" || interrupted()) return cancelled();
      report = pulled;
    }
  }
  if (options.reportFile) {
    writeReportFile(options.reportFile, report);
    io.stdout(`${ui.st.green(ui.g.status.pass)} report written to ${options.reportFile} (--report)\n`);
  }
  if (run.crashed) {
    outro("A check crashed: a bug in pulldoctor. Please report it with the saved report attached.");
    return 70;
  }
  outro(
    report.verdict.ok
      ? "Done."
      : `Not fixed yet: ${report.verdict.code ?? "see above"}. \`pulldoctor explain ${report.verdict.code ?? "CODE"}\` tells more.`,
  );
  return exitCodeFor(report);
}

function cancelled(): number {
  cancel("Cancelled: nothing half-written was left behind.");
  return EXIT_CANCELLED;
}

function stripAnsiIfPlain(s: string, ui: Ui): string {
  return ui.io.color ? s : stripAnsi(s);
}

export function defaultReportName(report: Report, now: Date): string {
  const image = (report.image?.familiar ?? report.input.image ?? "image").replace(/[^A-Za-z0-9._-]+/g, "_");
  const time = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `pulldoctor-report-${image}-${time}.json`;
}

async function diagnose(options: Options, deps: Deps, ui: Ui, previous?: RunResult, from?: StageId): Promise<RunResult> {
  const live = liveLine(ui.io.stdout, ui.st, ui.unicode);
  let several = false;
  let current = "";
  // --verbose: each exchange printed above the spinner as it happens.
  const trace: Trace = options.verbose
    ? {
        record(e: TraceEvent) {
          live.stop();
          ui.io.stdout(
            traceLines(e, ui.st, ui.g)
              .map((l) => `      ${ui.st.dim(l)}\n`)
              .join(""),
          );
          if (current) live.start(current);
        },
      }
    : new MemoryTrace();
  const onEvent = (e: StageEvent) => {
    if (e.type === "plan") several = e.endpoints.length > 1;
    else if (e.type === "start")
      live.start((current = `${e.title}${several && e.endpoint ? ui.st.dim(` @${new URL(e.endpoint).host}`) : ""}…`));
    else {
      current = "";
      live.stop(stageLine(e.result, several, ui.st, ui.g));
      for (const f of e.findings) ui.io.stdout(findingBlock(f, options.verbose, ui.st, ui.g, true));
    }
  };
  try {
    return await runDoctor({ stages: STAGES, options, deps, trace, onEvent, previous, from });
  } finally {
    live.stop();
  }
}

async function pullNow(options: Options, run: RunResult, deps: Deps, ui: Ui): Promise<Report | "cancel"> {
  const ref = run.localFacts.ref!;
  const base = ref.repository.split("/").pop() ?? "image";
  const suggested = await defaultOutput(deps, ref);
  const choices = [
    ...(options.output ? [{ value: options.output, label: options.output, hint: "from --output" }] : []),
    ...(suggested.output === "docker" ? [{ value: "docker", label: "docker", hint: "load into the local Docker Engine" }] : []),
    { value: `oci:./${base}${ref.tag ? `:${ref.tag}` : ""}`, label: "OCI image layout", hint: `./${base}` },
    { value: `docker-archive:./${base}.tar`, label: "docker-archive", hint: `./${base}.tar, for docker load` },
    { value: "\u0000other", label: "Another destination", hint: "oci:DIR[:TAG], docker-archive:FILE or docker" },
  ];
  let output = await select<string>({ message: "Where to?", options: choices, initialValue: choices[0]!.value });
  if (isCancel(output)) return "cancel";
  if (output === "\u0000other") {
    const typed = await text({
      message: "Destination",
      placeholder: "oci:/srv/images/app:1.0",
      validate: (v) => (/^(oci:.+|docker-archive:.+|docker)$/.test(v.trim()) ? undefined : "oci:DIR[:TAG], docker-archive:FILE or docker"),
    });
    if (isCancel(typed)) return "cancel";
    output = typed.trim();
  }
  const progress = new PullProgress(ui.g);
  const live = liveLine(ui.io.stdout, ui.st, ui.unicode);
  live.start(`pulling to ${output}`);
  let last = 0;
  const chosen = run.chosen!;
  const later = run.endpoints.slice(run.endpoints.indexOf(chosen) + 1).filter((r) => r.ok);
  const outcome = await runPull({
    options: { ...options, command: "pull", output },
    deps,
    trace: new MemoryTrace(),
    endpoint: chosen.endpoint,
    facts: chosen.facts,
    fallbacks: later.map((r) => ({ endpoint: r.endpoint, facts: r.facts })),
    output,
    onProgress: (e) => {
      if (e.type === "plan") progress.plan(e.blobs);
      else if (e.type === "progress") progress.progress(e.digest, e.bytes);
      else if (e.type === "done") progress.markDone(e.digest, e.bytes);
      else if (e.type === "retry")
        ui.io.stdout(`\r\u001b[2K${ui.st.yellow(ui.g.status.warn)} retry ${e.attempt} for ${e.digest.slice(0, 19)}: ${e.error}\n`);
      const now = Date.now();
      if (now - last > 80 || e.type === "done") {
        last = now;
        live.update(`pulling to ${output}  ${progress.line()}`);
      }
    },
  }).finally(() => live.stop());
  ui.io.stdout(`${stageLine(outcome.result, false, ui.st, ui.g)}\n`);
  for (const f of outcome.findings) ui.io.stdout(findingBlock(f, options.verbose, ui.st, ui.g));
  const report = finalReport({ ...options, command: "pull", output }, run, [outcome.result], outcome.findings, outcome.summary);
  if (worst(outcome.findings) !== "error" && outcome.summary)
    ui.io.stdout(`${ui.st.green(ui.g.status.pass)} ${ui.st.bold(`pulled ${outcome.summary.digest} to ${outcome.summary.output}`)}\n`);
  return report;
}
