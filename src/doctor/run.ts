import { SharedConnections } from "../model/connections";
import type { Deps } from "../model/deps";
import type { Evidence } from "../model/evidence";
import type { ClientWire, Facts } from "../model/facts";
import { type Finding, worst } from "../model/finding";
import type { Options } from "../model/options";
import type { Verdict } from "../model/report";
import { withRunFlags } from "../model/rerun-flags";
import type { Endpoint, Stage, StageId, StageResult, StageStatus } from "../model/stage";
import type { Trace } from "../model/trace";
import { type ClientRun, judgeEveryClient } from "./all-clients";
import { fallbackFindings } from "./fallback";
import { type Plan, planEndpoints } from "./plan";
import { PRODUCER, type RunOne, runSeries, type Series, type StageHooks, type StageRun } from "./series";
import { timedTrace } from "./timing";
import { listing, verdictOf } from "./verdict";

// Kept here for its importers; it lives in verdict.ts so `ref` can use it without the endpoint plan.
export { verdictOf };

export type StageEvent =
  | { type: "start"; stage: StageId; title: string; endpoint: string | null }
  | { type: "result"; result: StageResult; findings: Finding[] }
  | { type: "plan"; endpoints: Endpoint[]; client?: string };

export interface RunInput {
  stages: readonly Stage[];
  options: Options;
  deps: Deps;
  trace: Trace;
  onEvent?: (e: StageEvent) => void;
  /** Re-run after a remedy: reuse `previous` up to (not including) stage `from`. */
  previous?: RunResult;
  from?: StageId;
  /** The run's kept-alive connections (set by runDoctor for its stages; closed when it ends). */
  connections?: SharedConnections;
}

export interface EndpointRun {
  endpoint: Endpoint;
  facts: Facts;
  results: StageResult[];
  findings: Finding[];
  ok: boolean;
}

export interface RunResult {
  localFacts: Facts;
  localResults: StageResult[];
  localFindings: Finding[];
  endpoints: EndpointRun[];
  stages: StageResult[];
  findings: Finding[];
  verdict: Verdict;
  /** The endpoint a real pull would use: the first whose stages all passed. */
  chosen: EndpointRun | null;
  /** A stage threw: a bug. The run still ends in a report; the exit code is 70. */
  crashed: boolean;
  /** --client all: each client's own walk (doctor/all-clients.ts). */
  clients?: ClientRun[];
}

const STATUS_OF: Record<string, StageStatus> = { error: "fail", warning: "warn", info: "pass" };

/**
 * The runner owns time, crashes, skips and per-endpoint repetition; a stage only answers
 * its question. Local stages run once; endpoint stages run per endpoint (mirrors, then
 * upstream), as Docker tries them.
 */
export async function runDoctor(given: RunInput): Promise<RunResult> {
  // One kept-alive connection per endpoint across its stages, as Docker's transport; closed below.
  const input: RunInput = { ...given, connections: new SharedConnections() };
  try {
    return await runAll(input);
  } finally {
    await input.connections!.close();
  }
}

async function runAll(input: RunInput): Promise<RunResult> {
  let crashed = false;
  const runOne: RunOne = async (stage, endpoint, facts, hooks) => {
    const out = await runStage(input, stage, endpoint, facts, hooks);
    if (out.crashed) crashed = true;
    return out;
  };
  const local = await runLocalStages(input, runOne);
  const localFacts = local.facts;
  // --client all: each client walks its own hosts; the probes they share are made once.
  if (localFacts.client?.all)
    return judgeEveryClient({ localFacts, localResults: local.results, localFindings: local.findings, crashed }, input, runDoctor);
  const wire = localFacts.client?.wire;
  const runs = await runEndpoints(input, localFacts, runOne);

  // Docker falls back from a failing mirror to the next endpoint: a mirror's errors do
  // not stop the pull when a later endpoint works, so they become warnings.
  // Endpoints after the chosen one are only tried when it fails: their errors are a
  // broken fallback path, worth knowing, but not why this pull would fail.
  const chosen = runs.find((r) => r.ok) ?? null;
  if (localFacts.ref) fallbackFindings(runs, chosen, wire, localFacts.ref.registry);
  if (chosen) demoteAroundChosen(runs, chosen, wire);

  const allResults = [...local.results, ...runs.flatMap((r) => r.results)];
  const allFindings = [...local.findings, ...runs.flatMap((r) => r.findings)];
  const verdict = verdictOf(allFindings, chosen, runs, crashed, wire);
  return {
    localFacts,
    localResults: local.results,
    localFindings: local.findings,
    endpoints: runs,
    stages: allResults,
    findings: allFindings,
    verdict,
    chosen,
    crashed,
  };
}

/** One stage: skipped when a fact it needs is missing, timed, and a throw recorded as a crash. */
async function runStage(input: RunInput, stage: Stage, endpoint: Endpoint | null, facts: Facts, hooks: StageHooks = {}): Promise<StageRun> {
  const { options, deps } = input;
  const emit = hooks.held?.emit ?? input.onEvent ?? (() => {});
  const trace = hooks.held?.trace ?? input.trace;
  const epUrl = endpoint?.url ?? null;
  emit({ type: "start", stage: stage.id, title: stage.title, endpoint: epUrl });
  const missing = stage.needs.filter((k) => facts[k] === undefined);
  if (missing.length > 0) return skippedStage(stage, epUrl, missing, emit);
  const started = performance.now();
  // Each request's time goes into the stage's evidence (`timing`) and under its --verbose line.
  const timed = timedTrace(trace);
  try {
    const { handOn } = hooks;
    const out = await stage.run({
      options,
      endpoint,
      facts,
      deps,
      trace: timed.trace,
      connections: input.connections,
      ...(handOn ? { handOn } : {}),
    });
    // A fix that re-runs pulldoctor carries this run's flags (--insecure-registry, --dns…).
    const findings = out.findings.map((f) => ({ ...f, endpoint: epUrl, fixes: withRunFlags(f.fixes, options) }));
    const w = worst(findings);
    const result: StageResult = {
      id: stage.id,
      endpoint: epUrl,
      status: out.skipped !== undefined && findings.length === 0 ? "skip" : w ? STATUS_OF[w]! : "pass",
      durationMs: Math.round(performance.now() - started),
      summary: out.skipped !== undefined && findings.length === 0 ? `skipped: ${out.skipped}` : out.summary,
      evidence: { ...(out.skipped !== undefined ? { ...out.evidence, skippedBecause: out.skipped } : out.evidence), ...timed.evidence() },
    };
    emit({ type: "result", result, findings });
    return { result, findings, provides: out.provides };
  } catch (err) {
    return crashedStage(stage, epUrl, Math.round(performance.now() - started), err, emit);
  }
}

// The skip and the crash apart from runStage, which every stage of a healthy check compiles.
function skippedStage(stage: Stage, epUrl: string | null, missing: (keyof Facts)[], emit: (e: StageEvent) => void): StageRun {
  const from = [...new Set(missing.map((k) => PRODUCER[k]))];
  const result: StageResult = {
    id: stage.id,
    endpoint: epUrl,
    status: "skip",
    durationMs: 0,
    summary: `skipped: the ${listing(from)} stage${from.length > 1 ? "s" : ""} did not establish ${listing(missing)}`,
    evidence: { skippedBecause: from.map((s) => `${s} did not pass`).join("; ") },
  };
  emit({ type: "result", result, findings: [] });
  return { result, findings: [] };
}
function crashedStage(stage: Stage, epUrl: string | null, durationMs: number, err: unknown, emit: (e: StageEvent) => void): StageRun {
  const e = err instanceof Error ? err : new Error(String(err));
  const result: StageResult = {
    id: stage.id,
    endpoint: epUrl,
    status: "fail",
    durationMs,
    summary: `the ${stage.title} check crashed: ${e.message}`,
    evidence: { crash: { message: e.message, stack: (e.stack ?? "").split("\n").slice(0, 8).join("\n") } } as Evidence,
  };
  emit({ type: "result", result, findings: [] });
  return { result, findings: [], crashed: true };
}

/** Local stages, once. */
function runLocalStages(input: RunInput, runOne: RunOne): Promise<Series> {
  const prev = input.previous;
  const previous = prev && { facts: prev.localFacts, results: prev.localResults, findings: prev.localFindings };
  return runSeries(
    input,
    input.stages.filter((s) => s.scope === "local"),
    null,
    {},
    previous,
    runOne,
  );
}

/** Endpoint stages, once per endpoint of the plan. */
async function runEndpoints(input: RunInput, localFacts: Facts, runOne: RunOne): Promise<EndpointRun[]> {
  const { stages, options, trace } = input;
  const emit = input.onEvent ?? (() => {});
  const endpointStages = stages.filter((s) => s.scope === "endpoint");
  const wire = localFacts.client?.wire;
  const plan: Plan = localFacts.ref
    ? planEndpoints(localFacts.ref, localFacts.local, options, wire)
    : { endpoints: [], rejectedMirrors: [], skippedHosts: [] };
  for (const h of plan.skippedHosts) trace.record({ kind: "note", text: `${wire?.label ?? "the client"} skips ${h.url}: ${h.reason}` });
  if (plan.endpoints.length > 0) emit({ type: "plan", endpoints: plan.endpoints, client: wire?.label });
  const runs: EndpointRun[] = [];
  for (const endpoint of plan.endpoints) {
    const prevRun = input.previous?.endpoints.find((r) => r.endpoint.url === endpoint.url);
    // A podman short-name candidate is asked for its own name (REG/name), not Docker's normalisation.
    const own = endpoint.ref && localFacts.client?.candidateCredentials?.[endpoint.ref.canonical];
    const start = endpoint.ref
      ? { ...localFacts, ref: endpoint.ref, ...(own ? { credential: own[0] ?? null, credentials: own } : {}) }
      : { ...localFacts };
    const { facts, results, findings } = await runSeries(input, endpointStages, endpoint, start, prevRun, runOne);
    const ok = results.every((r) => r.status === "pass" || r.status === "warn");
    runs.push({ endpoint, facts, results, findings, ok });
  }
  return runs;
}

/** The other endpoints' errors become warnings, with a note on why they do not stop this pull. */
function demoteAroundChosen(runs: EndpointRun[], chosen: EndpointRun, wire: ClientWire | undefined): void {
  const who = wire && wire.fixesFor !== "docker" ? wire.label : "Docker";
  for (const r of runs) {
    if (r === chosen) continue;
    const note =
      runs.indexOf(r) < runs.indexOf(chosen)
        ? `${who} falls back to ${chosen.endpoint.url}, so the pull still works, more slowly.`
        : `${who} only tries ${r.endpoint.url} when ${chosen.endpoint.url} fails, so this pull is not affected, but that fallback would not work.`;
    r.findings = r.findings.map((f) =>
      f.severity === "error" ? { ...f, severity: "warning" as const, detail: `${f.detail} ${note}` } : f,
    );
    r.results = r.results.map((x) => (x.status === "fail" ? { ...x, status: "warn" as const } : x));
  }
}
