import { isCancel } from "@clack/core";
import { pullable, type Rerun, runFlow } from "../doctor/flow";
import type { RunResult } from "../doctor/run";
import type { Deps } from "../model/deps";
import { worst } from "../model/finding";
import type { Options } from "../model/options";
import { exitCodeFor, type Report } from "../model/report";
import { defaultOutput } from "../pull/engine";
import { VERSION } from "../version";
import { askClient } from "./client-prompt";
import { glyphs, unicodeSupported } from "./glyphs";
import { askImage } from "./image-prompt";
import { interactiveView, type Ui } from "./interactive-view";
import { EXIT_INTERNAL, type Io } from "./io";
import { summaryBlock } from "./plain";
import {
  confirmYes,
  cancelled as drawCancelled,
  intro,
  outro,
  type PromptLook,
  type PromptStreams,
  selectOne,
  showNote,
  typeText,
} from "./prompts";
import { hasRemedy, offerRemedy } from "./remedies";
import { writeReportFile } from "./report-file";
import { makeStyle, stripAnsi } from "./style";

export const EXIT_CANCELLED = 130;

/**
 * The interactive doctor (issue 6): ask the image, walk the stages with a spinner,
 * show each finding with its evidence and fixes, offer the fixes that can be tried now
 * and re-run from the stage they affect, then a summary, "Save report?" and "Pull now?".
 * The steps are the flow's (src/doctor/flow.ts); this file only asks and shows.
 * Ctrl-C at a prompt returns 130; mid-stage, main's SIGINT handler exits 130 (reports
 * and outputs are renamed into place only when complete, so nothing is half-written).
 */
export async function runInteractive(options: Options, io: Io, deps: Deps, streams?: PromptStreams): Promise<number> {
  const unicode = unicodeSupported(deps.env);
  const ui: Ui = { io, st: makeStyle(io.color), g: glyphs(unicode), unicode, streams };
  const cancelled = () => {
    drawCancelled(look(ui), "Cancelled: nothing half-written was left behind.");
    return EXIT_CANCELLED;
  };
  const restoreCursor = () => process.stdout.write("\u001b[?25h");
  process.once("exit", restoreCursor);
  intro(look(ui), `pulldoctor ${VERSION}`);
  io.stdout(`${ui.st.dim(unicode ? "│" : "|")}\n`);
  let opts: Options = { ...options, command: "check" };
  if (!opts.image) {
    const image = await askImage(ui.st, unicode, "", streams);
    if (isCancel(image)) return cancelled();
    opts = { ...opts, image };
  }

  // Ctrl-C aborts deps.signal: whatever the stage or pull made of it, the answer is 130.
  const interrupted = () => deps.signal.aborted;
  const view = interactiveView(opts, ui);
  const flow = await runFlow({
    options: opts,
    deps,
    trace: view.trace,
    onEvent: view.onEvent,
    remedy: (run, current) => (interrupted() ? Promise.resolve("cancel" as const) : remedy(run, current, ui)),
    pullTo: (run, report, current) => (interrupted() ? Promise.resolve("cancel" as const) : pullTo(run, report, current, deps, ui)),
  }).finally(() => view.stop());
  if (flow.cancelled || interrupted()) return cancelled();
  const { run, report, pull } = flow;
  if (pull?.summary && worst(pull.findings) !== "error")
    io.stdout(`${ui.st.green(ui.g.status.pass)} ${ui.st.bold(`pulled ${pull.summary.digest} to ${pull.summary.output}`)}\n`);
  if (options.reportFile) {
    writeReportFile(options.reportFile, report);
    io.stdout(`${ui.st.green(ui.g.status.pass)} report written to ${options.reportFile} (--report)\n`);
  }
  if (run.crashed) {
    outro(look(ui), "A check crashed: a bug in pulldoctor. Please report it with the saved report attached.");
    return EXIT_INTERNAL;
  }
  outro(
    look(ui),
    report.verdict.ok
      ? "Done."
      : `Not fixed yet: ${report.verdict.code ?? "see above"}. \`pulldoctor explain ${report.verdict.code ?? "CODE"}\` tells more.`,
  );
  return exitCodeFor(report);
}

const look = (ui: Ui): PromptLook => ({ st: ui.st, unicode: ui.unicode, streams: ui.streams });

/** The first error's remedy, when it has one the doctor can offer on the spot. */
async function remedy(run: RunResult, options: Options, ui: Ui): Promise<Rerun | null | "cancel"> {
  const client = await askClient(run, options, look(ui));
  if (client === "cancel") return "cancel";
  if (client) return { options: { ...client, command: "check" }, from: "config" };
  const first = run.findings.find((f) => f.severity === "error");
  if (!first || !hasRemedy(first)) return null;
  ui.io.stdout("\n");
  const r = await offerRemedy(first, run, options, {
    st: ui.st,
    unicode: ui.unicode,
    streams: ui.streams,
    say: (s) => ui.io.stdout(`${ui.st.dim(ui.g.bullet)} ${s}\n`),
  });
  if (r.kind !== "rerun") return r.kind === "cancel" ? "cancel" : null;
  ui.io.stdout(`\n${ui.st.bold(`Checking again ${r.what}`)}${r.from ? ui.st.dim(` (from the ${r.from} stage)`) : ""}\n`);
  return { options: { ...r.options, command: "check" }, from: r.from };
}

/** The summary, "Save the report?", then "Pull the image now?" and where to. */
async function pullTo(run: RunResult, report: Report, options: Options, deps: Deps, ui: Ui): Promise<string | null | "cancel"> {
  showNote(look(ui), "Result", (ui.io.color ? summaryBlock(report, ui.st, ui.g) : stripAnsi(summaryBlock(report, ui.st, ui.g))).trimEnd());
  const save = await confirmYes(look(ui), "Save the report (JSON, safe to attach to a ticket)?", !report.verdict.ok);
  if (isCancel(save)) return "cancel";
  if (save) {
    const file = await typeText(look(ui), "Report file", { initialValue: defaultReportName(report, deps.now()) });
    if (isCancel(file)) return "cancel";
    writeReportFile(file, report);
    ui.io.stdout(`${ui.st.green(ui.g.status.pass)} report written to ${file}\n`);
  }
  if (!pullable(run)) return null;
  const pull = await confirmYes(look(ui), "Pull the image now?");
  if (isCancel(pull)) return "cancel";
  return pull ? await chooseOutput(run, options, deps, ui) : null;
}

async function chooseOutput(run: RunResult, options: Options, deps: Deps, ui: Ui): Promise<string | "cancel"> {
  const ref = run.localFacts.ref!;
  const base = ref.repository.split("/").pop() ?? "image";
  const suggested = await defaultOutput(deps, ref);
  const given = options.output;
  const choices = [
    ...(given ? [{ value: given, label: given, hint: "from --output" }] : []),
    ...(suggested.output === "docker" ? [{ value: "docker", label: "docker", hint: "load into the local Docker Engine" }] : []),
    { value: `oci:./${base}${ref.tag ? `:${ref.tag}` : ""}`, label: "OCI image layout", hint: `./${base}` },
    { value: `docker-archive:./${base}.tar`, label: "docker-archive", hint: `./${base}.tar, for docker load` },
    { value: "\u0000other", label: "Another destination", hint: "oci:DIR[:TAG], docker-archive:FILE or docker" },
  ];
  const output = await selectOne<string>(look(ui), "Where to?", choices, choices[0]!.value);
  if (isCancel(output)) return "cancel";
  if (output !== "\u0000other") return output;
  const typed = await typeText(look(ui), "Destination", {
    placeholder: "oci:/srv/images/app:1.0",
    validate: (v) => (/^(oci:.+|docker-archive:.+|docker)$/.test(v.trim()) ? undefined : "oci:DIR[:TAG], docker-archive:FILE or docker"),
  });
  if (isCancel(typed)) return "cancel";
  return typed.trim();
}

export function defaultReportName(report: Report, now: Date): string {
  const image = (report.image?.familiar ?? report.input.image ?? "image").replace(/[^A-Za-z0-9._-]+/g, "_");
  const time = now
    .toISOString()
    .replace(/[-:]/g, "")
    .replace(/\.\d+Z$/, "Z");
  return `pulldoctor-report-${image}-${time}.json`;
}
