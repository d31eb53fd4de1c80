import type { FlowEvent } from "../doctor/flow";
import type { Options } from "../model/options";
import type { Trace, TraceEvent } from "../model/trace";
import type { Glyphs } from "./glyphs";
import type { Io } from "./io";
import { findingBlock, stageLine, traceLines } from "./plain";
import { liveLine, PullProgress } from "./progress";
import type { PromptStreams } from "./prompts";
import type { Style } from "./style";

export interface Ui {
  io: Io;
  st: Style;
  g: Glyphs;
  unicode: boolean;
  /** Where the prompts read keys and draw (default: the terminal); tests pass their own. */
  streams?: PromptStreams;
}

/**
 * How the interactive doctor shows a flow: a spinner for the running stage, each result with
 * its findings, (--verbose) each exchange above the spinner, and the pull's progress bar.
 */
export interface InteractiveView {
  onEvent(e: FlowEvent): void;
  trace: Trace;
  /** Stop the spinner whatever happened (a step that threw leaves it running otherwise). */
  stop(): void;
}

export function interactiveView(options: Options, ui: Ui): InteractiveView {
  const live = liveLine(ui.io.stdout, ui.st, ui.unicode);
  let several = false;
  let current = "";
  // The pull's own exchanges are not printed, even with --verbose: the progress bar is its view.
  let pulling = false;
  let pull: { output: string; progress: PullProgress; last: number } | null = null;
  const trace: Trace = {
    record(e: TraceEvent) {
      if (!options.verbose || pulling) return;
      live.stop();
      ui.io.stdout(
        traceLines(e, ui.st, ui.g)
          .map((l) => `      ${ui.st.dim(l)}\n`)
          .join(""),
      );
      if (current) live.start(current);
    },
  };
  const onEvent = (e: FlowEvent) => {
    if (e.type === "plan") several = e.endpoints.length > 1;
    else if (e.type === "start") {
      current = `${e.title}${several && e.endpoint ? ui.st.dim(` @${new URL(e.endpoint).host}`) : ""}…`;
      live.start(current);
    } else if (e.type === "pull-start") {
      pulling = true;
      pull = { output: e.output, progress: new PullProgress(ui.g), last: 0 };
      live.start(`pulling to ${e.output}`);
    } else if (e.type === "pull-progress" && pull) {
      const p = e.event;
      if (p.type === "plan") pull.progress.plan(p.blobs);
      else if (p.type === "progress") pull.progress.progress(p.digest, p.bytes);
      else if (p.type === "done") pull.progress.markDone(p.digest, p.bytes);
      else if (p.type === "retry")
        ui.io.stdout(`\r\u001b[2K${ui.st.yellow(ui.g.status.warn)} retry ${p.attempt} for ${p.digest.slice(0, 19)}: ${p.error}\n`);
      const now = Date.now();
      if (now - pull.last > 80 || p.type === "done") {
        pull.last = now;
        live.update(`pulling to ${pull.output}  ${pull.progress.line()}`);
      }
    } else if (e.type === "result" && e.result.id === "pull") {
      live.stop();
      ui.io.stdout(`${stageLine(e.result, false, ui.st, ui.g)}\n`);
      for (const f of e.findings) ui.io.stdout(findingBlock(f, options.verbose, ui.st, ui.g));
    } else if (e.type === "result") {
      current = "";
      live.stop(stageLine(e.result, several, ui.st, ui.g));
      for (const f of e.findings) ui.io.stdout(findingBlock(f, options.verbose, ui.st, ui.g, true));
    }
  };
  return { onEvent, trace, stop: () => live.stop() };
}
