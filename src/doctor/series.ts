import type { Facts } from "../model/facts";
import type { Finding } from "../model/finding";
import type { Endpoint, Stage, StageId, StageResult } from "../model/stage";
import type { Trace, TraceEvent } from "../model/trace";
import type { RunInput, StageEvent } from "./run";

/** Which stage establishes which fact, for skip reasons. */
export const PRODUCER: Record<keyof Facts, StageId> = {
  ref: "reference",
  local: "config",
  credential: "config",
  credentials: "config",
  resolution: "dns",
  route: "proxy",
  proxyEnv: "proxy",
  link: "connect",
  challenge: "v2",
  session: "auth",
  tagHead: "auth",
  manifest: "manifest",
  client: "config",
};

export type StageRun = { result: StageResult; findings: Finding[]; provides?: Partial<Facts>; crashed?: true };

/**
 * The events and trace records of a stage started early, held until the stage before it has
 * reported (`open`), so that renderers, --verbose and the report see the stages in order; or
 * dropped when that stage did not establish what it handed on.
 */
export interface Held {
  emit(e: StageEvent): void;
  trace: Trace;
  open(): void;
  drop(): void;
}

/** How the runner runs one stage: its events held (started early), and where it may hand facts on. */
export interface StageHooks {
  held?: Held;
  handOn?: (facts: Partial<Facts>) => void;
}

export type RunOne = (stage: Stage, endpoint: Endpoint | null, facts: Facts, hooks?: StageHooks) => Promise<StageRun>;

/** What a series of stages established, and what the previous run's series did (for reuse after a remedy). */
export interface Series {
  facts: Facts;
  results: StageResult[];
  findings: Finding[];
}

interface Early {
  run: Promise<StageRun>;
  held: Held;
  given: Partial<Facts>;
}

/**
 * Stages in order for one endpoint (or none: the local ones), each reading the facts the earlier
 * ones provided. A stage that hands facts on before it ends (StageContext.handOn) has the next
 * stage started with them, beside the rest of it: the manifest stage hands on the manifest while
 * it still reads the config, and the blob requests go out beside that read, as the clients ask
 * for the config and the layers at once.
 */
export async function runSeries(
  input: RunInput,
  series: readonly Stage[],
  endpoint: Endpoint | null,
  facts: Facts,
  previous: Series | undefined,
  runOne: RunOne,
): Promise<Series> {
  const results: StageResult[] = [];
  const findings: Finding[] = [];
  const add = (out: StageRun) => {
    results.push(out.result);
    findings.push(...out.findings);
    if (out.provides) Object.assign(facts, out.provides);
  };
  for (let i = 0; i < series.length; i++) {
    const stage = series[i]!;
    if (previous && reused(input, stage)) {
      const r = previous.results.find((x) => x.id === stage.id);
      if (r) results.push(r);
      findings.push(...previous.findings.filter((f) => f.stage === stage.id));
      Object.assign(facts, pickFacts(previous.facts, stage.id));
      continue;
    }
    const next = series[i + 1];
    // A holder rather than a `let`: the stage's handOn sets it while this function awaits.
    const started: { early?: Early } = {};
    const handOn = (given: Partial<Facts>) => {
      // (A stage after one that runs is never reused from a previous run.)
      if (started.early || !next) return;
      const start: Facts = { ...facts, ...given };
      if (next.needs.some((k) => start[k] === undefined)) return;
      const h = held(input);
      started.early = { run: runOne(next, endpoint, start, { held: h }), held: h, given };
    };
    const out = await runOne(stage, endpoint, facts, { handOn });
    add(out);
    const early = started.early;
    if (!early) continue;
    // What was handed on is established only if the stage provided it when it ended; otherwise
    // (it crashed) the early stage is not reported, and runs again below as it would have.
    if (Object.keys(early.given).some((k) => out.provides?.[k as keyof Facts] === undefined)) {
      early.held.drop();
      await early.run.catch(() => undefined);
      continue;
    }
    early.held.open();
    add(await early.run);
    i++;
  }
  return { facts, results, findings };
}

function held(input: RunInput): Held {
  const queue: (() => void)[] = [];
  let state: "held" | "open" | "dropped" = "held";
  const later = (f: () => void) => {
    if (state === "open") f();
    else if (state === "held") queue.push(f);
  };
  return {
    emit: (e: StageEvent) => later(() => input.onEvent?.(e)),
    trace: { record: (e: TraceEvent) => later(() => input.trace.record(e)) },
    open() {
      state = "open";
      for (const f of queue.splice(0)) f();
    },
    drop() {
      state = "dropped";
      queue.length = 0;
    },
  };
}

/** After a remedy, the stages before `from` are taken from the previous run. */
const reused = (input: RunInput, s: Stage): boolean => {
  const { stages } = input;
  const fromIndex = input.from ? stages.findIndex((x) => x.id === input.from) : -1;
  return input.previous !== undefined && fromIndex >= 0 && stages.indexOf(s) < fromIndex;
};

/**
 * The facts a reused stage established. Not the answers the earlier run got from the registry
 * for a later stage to judge (the auth stage's HEAD of the tag, the config the manifest stage
 * read): the remedy may have changed them (an image pushed again, another route), so the stage
 * that runs again asks again.
 */
function pickFacts(facts: Facts, stage: StageId): Partial<Facts> {
  const out: Partial<Facts> = {};
  for (const [k, s] of Object.entries(PRODUCER)) {
    if (s === stage && facts[k as keyof Facts] !== undefined) (out as Record<string, unknown>)[k] = facts[k as keyof Facts];
  }
  delete out.tagHead;
  if (out.manifest?.configRead) {
    const { configRead: _asked, ...manifest } = out.manifest;
    out.manifest = manifest;
  }
  return out;
}
