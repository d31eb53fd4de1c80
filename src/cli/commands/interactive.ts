import { realDeps } from "../../model/deps";
import type { Options } from "../../model/options";
import { runInteractive } from "../../ui/interactive";
import type { Io } from "../../ui/io";
import { reportFileProblem } from "../../ui/report-file";

/** `pulldoctor [IMAGE]` on a terminal: the interactive doctor (src/ui/interactive.ts). */
export async function interactiveCommand(options: Options, io: Io): Promise<number> {
  if (options.reportFile) {
    const problem = reportFileProblem(options.reportFile);
    if (problem) {
      io.stderr(`pulldoctor: --report ${options.reportFile}: ${problem}\n`);
      return 2;
    }
  }
  // Ctrl-C cancels every network step in flight; main's SIGINT handler then exits 130.
  const ac = new AbortController();
  const abort = () => ac.abort(new Error("interrupted"));
  process.once("SIGINT", abort);
  try {
    const deps = realDeps(ac.signal);
    // -f FILE: the batch table, then an offer to pull them all (interactive-many.ts).
    if (options.files?.length) return await (await import("./interactive-many")).interactiveManyCommand(options, io, deps);
    return await runInteractive(options, io, deps);
  } finally {
    process.off("SIGINT", abort);
  }
}
