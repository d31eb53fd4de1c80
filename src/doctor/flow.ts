import type { Deps } from "../model/deps";
import type { Options } from "../model/options";
import type { Report } from "../model/report";
import type { StageId, StageResult } from "../model/stage";
import { MemoryTrace, type Trace, type TraceEvent } from "../model/trace";
// The pull engine (its Workers, store, outputs and node:http) is loaded when a pull starts, not
// by every `check` (docs/performance.md, "A lean HTTP client, and a check that loads less").
import type { PullEvent, PullInput, PullOutcome } from "../pull/engine";
import { STAGES } from "../stages/index";
import { finalReport } from "./final-report";
import { type RunResult, runDoctor, type StageEvent } from "./run";

/**
 * What a flow tells its renderer, in order: the diagnosis's stage events, then (when it pulls)
 * the output it chose by default, the pull's start and progress, and the pull's own stage
 * result (a `result` event with `result.id === "pull"`, rendered like any stage).
 */
export type FlowEvent =
  | StageEvent
  | { type: "default-output"; output: string; reason: string }
  | { type: "pull-start"; output: string }
  | { type: "pull-progress"; event: PullEvent };

/** A remedy's answer: check again with these options, reusing the stages before `from`. */
export interface Rerun {
  options: Options;
  from: StageId | null;
}

export interface FlowInput {
  options: Options;
  deps: Deps;
  trace: Trace;
  onEvent?: (e: FlowEvent) => void;
  /**
   * Asked after each diagnosis: a re-run to try (a remedy the user accepted), null to go on,
   * or "cancel". Without it there are no remedies.
   */
  remedy?: (run: RunResult, options: Options) => Promise<Rerun | null | "cancel">;
  /**
   * Asked once the diagnosis is final, with its report: where to pull, null for no pull, or
   * "cancel". Without it, `pull` pulls to --output (else the default output) and `check` does not.
   */
  pullTo?: (run: RunResult, report: Report, options: Options) => Promise<string | null | "cancel">;
}

/** `options` are those of the last diagnosis (a remedy changes them); `pull` is null when nothing was pulled. */
export type FlowOutcome =
  | { cancelled: true }
  | { cancelled: false; options: Options; run: RunResult; report: Report; pull: PullOutcome | null };

/** Remedies offered in a row before the flow stops asking (each one re-runs the diagnosis). */
export const MAX_REMEDY_ROUNDS = 6;

/**
 * diagnose → (remedy → diagnose again)… → (pull) → report: what `check`, `pull`, the
 * interactive doctor and the demo's tour share. It renders nothing: renderers listen to
 * the events, prompts answer through the hooks.
 */
export async function runFlow(input: FlowInput): Promise<FlowOutcome> {
  // `pull` without a prompt pulls whenever the diagnosis passes: its blob Workers start now, beside the diagnosis.
  const warm = input.options.command === "pull" && !input.pullTo ? await import("../pull/fetch-all") : null;
  const stopWarm = warm ? warm.prewarmBlobWorkers(input.deps.env.PULLDOCTOR_PULL_WORKERS) : null;
  try {
    return await flow(input);
  } finally {
    stopWarm?.();
  }
}

async function flow(input: FlowInput): Promise<FlowOutcome> {
  const { deps } = input;
  // Every exchange is kept as well as passed on: the report's egress list is derived from them.
  const memory = new MemoryTrace();
  const trace: Trace = {
    record: (e: TraceEvent) => {
      memory.record(e);
      input.trace.record(e);
    },
  };
  const emit = input.onEvent ?? (() => {});
  let options = input.options;
  let run = await runDoctor({ stages: STAGES, options, deps, trace, onEvent: emit });
  if (input.remedy) {
    const remedied = await remedyRounds(input, run, trace, emit);
    if (remedied === "cancel") return { cancelled: true };
    ({ run, options } = remedied);
  }
  // The diagnosis's own report, built only when it is asked for or returned: a `pull` that goes on builds its final one instead.
  let diagnosed: Report | null = null;
  const report = (): Report => {
    diagnosed ??= finalReport(options, run, [], [], null, memory.events);
    return diagnosed;
  };
  const output = input.pullTo ? await input.pullTo(run, report(), options) : await defaultPullTo(options, run, deps, emit);
  if (output === "cancel") return { cancelled: true };
  // `check`, or a person who declined: no pull was asked for.
  if (output === null && (options.command !== "pull" || input.pullTo))
    return { cancelled: false, options, run, report: report(), pull: null };
  return pullOrSkip(options, run, output, memory, trace, emit, deps);
}

/** The interactive doctor's remedies: each accepted one re-runs the doctor (from the stage it changes). */
async function remedyRounds(
  input: FlowInput,
  first: RunResult,
  trace: Trace,
  emit: (e: FlowEvent) => void,
): Promise<{ run: RunResult; options: Options } | "cancel"> {
  let options = input.options;
  let run = first;
  for (let round = 0; input.remedy && round < MAX_REMEDY_ROUNDS; round++) {
    const rerun = await input.remedy(run, options);
    if (rerun === "cancel") return "cancel";
    if (rerun === null) break;
    options = rerun.options;
    run = await runDoctor({
      stages: STAGES,
      options,
      deps: input.deps,
      trace,
      onEvent: emit,
      previous: rerun.from ? run : undefined,
      from: rerun.from ?? undefined,
    });
  }
  return { run, options };
}

/** `pull` after the diagnosis: the pull, or (nothing to fetch) its stage reported as skipped. */
async function pullOrSkip(
  options: Options,
  run: RunResult,
  output: string | null,
  memory: MemoryTrace,
  trace: Trace,
  emit: (e: FlowEvent) => void,
  deps: Deps,
): Promise<FlowOutcome> {
  if (output === null) {
    const skipped = skippedPull(run);
    emit({ type: "result", result: skipped, findings: [] });
    return { cancelled: false, options, run, report: finalReport(options, run, [skipped], [], null, memory.events), pull: null };
  }
  const pullOptions: Options = { ...options, command: "pull", output };
  const pull = await pullAfterDiagnosis(run, pullOptions, deps, trace, output, emit);
  return {
    cancelled: false,
    options,
    run,
    report: finalReport(pullOptions, run, [pull.result], pull.findings, pull.summary, memory.events),
    pull,
  };
}

/** Whether the diagnosis found an endpoint a pull could fetch the image from. */
export function pullable(run: RunResult): boolean {
  return Boolean(run.chosen?.facts.manifest && run.localFacts.ref);
}

/** `pull` without a hook: --output, else the Engine or an OCI layout under the working directory. */
async function defaultPullTo(options: Options, run: RunResult, deps: Deps, emit: (e: FlowEvent) => void): Promise<string | null> {
  if (options.command !== "pull" || !pullable(run)) return null;
  if (options.output) return options.output;
  const d = await (await import("../pull/engine")).defaultOutput(deps, run.localFacts.ref!);
  emit({ type: "default-output", output: d.output, reason: d.reason });
  return d.output;
}

function skippedPull(run: RunResult): StageResult {
  return {
    id: "pull",
    endpoint: null,
    status: "skip",
    durationMs: 0,
    summary: "skipped: no endpoint passed every stage, so there is nothing a pull could fetch",
    evidence: { skippedBecause: run.verdict.code ?? "no endpoint passed" },
  };
}

/**
 * The pull from the endpoint the diagnosis chose, falling back to the later endpoints that
 * passed, as Docker does. `write` gathers the image for an output shared with other images
 * (`pull -f`, `--all-tags`) instead of writing it alone.
 */
export async function pullAfterDiagnosis(
  run: RunResult,
  options: Options,
  deps: Deps,
  trace: Trace,
  output: string,
  emit: (e: FlowEvent) => void,
  write?: PullInput["write"],
): Promise<PullOutcome> {
  const chosen = run.chosen!;
  const later = run.endpoints.slice(run.endpoints.indexOf(chosen) + 1).filter((r) => r.ok);
  emit({ type: "pull-start", output });
  // The diagnosis's garbage (its clients, traces, parsed bodies) collected before the blob
  // Workers start, so the pull's peak does not stack on it (docs/performance.md, "Diagnosis:
  // connections, start-up and the catalogue": 117 → 110 MiB for 600 MiB, same wall and CPU).
  const { runPull } = await import("../pull/engine");
  Bun.gc(true);
  const outcome = await runPull({
    options,
    deps,
    trace,
    endpoint: chosen.endpoint,
    facts: chosen.facts,
    fallbacks: later.map((r) => ({ endpoint: r.endpoint, facts: r.facts })),
    output,
    onProgress: (event) => emit({ type: "pull-progress", event }),
    write,
  });
  emit({ type: "result", result: outcome.result, findings: outcome.findings });
  return outcome;
}
