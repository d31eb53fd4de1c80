import path from "node:path";
import { normalJit } from "../host/jit";
import type { Deps } from "../model/deps";
import type { Evidence } from "../model/evidence";
import type { Descriptor, Facts, ImageRef, ResolvedManifest } from "../model/facts";
import type { Finding } from "../model/finding";
import type { Options } from "../model/options";
import type { PullSummary } from "../model/report";
import { withRunFlags } from "../model/rerun-flags";
import type { Endpoint, StageResult } from "../model/stage";
import type { Trace } from "../model/trace";
import { formatBytes } from "../model/units";
import { type BlobEvent, fetchAll } from "./fetch-all";
import { blobFailureFinding, storeCorruptFindings } from "./findings";
import { type OutputSpec, outputProblem, parseOutput as parseOutputSpec } from "./outputs/destination";
import { type EngineAddress, engineAddress, pingEngine } from "./outputs/docker-engine";
import { type ImageContent, parsePlatformString } from "./outputs/image-content";
import { writeOutput } from "./outputs/write";
import { engineFor, ensureStore, recheckSpace, type Stop, spaceNeeds, spacePreflight } from "./preflight";
import { useRateLimit } from "./rate-limit";
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, type RetryTuning } from "./schedule";
import { type BlobSource, sourceFrom } from "./source";
import { BlobStore, defaultStoreDir } from "./store";
import { parseDigest } from "./verify";

export interface PullInput {
  options: Options;
  deps: Deps;
  trace: Trace;
  endpoint: Endpoint;
  facts: Facts;
  fallbacks?: { endpoint: Endpoint; facts: Facts }[];
  output: string;
  onProgress?: (e: PullEvent) => void;
  /** Where the verified image goes, instead of --output alone: `pull -f` and `--all-tags` gather several images into one output. */
  write?: typeof writeOutput;
  /** Tests and benchmarks: retry pacing, stall timeout (default options.timeoutMs), store location. */
  tuning?: { retry?: Partial<RetryTuning>; idleTimeoutMs?: number; storeDir?: string; workers?: number };
}

export type PullEvent = { type: "plan"; blobs: { digest: string; size: number; mediaType: string; reused: boolean }[] } | BlobEvent;

export interface PullOutcome {
  result: StageResult;
  findings: Finding[];
  summary: PullSummary | null;
}

export function parseOutput(
  s: string,
): { kind: "oci"; dir: string; tag: string | null } | { kind: "docker-archive"; file: string } | { kind: "docker" } | { error: string } {
  return parseOutputSpec(s);
}

/** The Engine when it answers (what `docker pull` would have filled), else an OCI layout under the cwd. */
export async function defaultOutput(deps: Deps, ref: ImageRef): Promise<{ output: string; reason: string }> {
  const addr = engineAddress(deps);
  if (!("error" in addr)) {
    const ping = await pingEngine(addr, 1500, deps.signal);
    if (ping.ok) return { output: "docker", reason: `the Docker Engine at ${addr.display} answered; loading the image into it` };
    const dir = path.join(process.cwd(), path.basename(ref.repository));
    return {
      output: `oci:${dir}${ref.tag ? `:${ref.tag}` : ""}`,
      reason: `no Docker Engine answered at ${addr.display} (${ping.error}); writing an OCI image layout to ${dir}`,
    };
  }
  const dir = path.join(process.cwd(), path.basename(ref.repository));
  return { output: `oci:${dir}${ref.tag ? `:${ref.tag}` : ""}`, reason: `${addr.error}; writing an OCI image layout to ${dir}` };
}

/** docker's name for the image: "nginx:1.27" for Docker Hub, "127.0.0.1:5000/team/app:1.0" otherwise. */
export function repoTagOf(ref: ImageRef): string | null {
  if (!ref.tag) return null;
  const name = ref.registry === "docker.io" ? ref.repository.replace(/^library\//, "") : `${ref.registry}/${ref.repository}`;
  return `${name}:${ref.tag}`;
}

export async function runPull(input: PullInput): Promise<PullOutcome> {
  normalJit();
  const t0 = performance.now();
  const { deps, options } = input;
  const ep = input.endpoint.url;
  const done = (
    status: StageResult["status"],
    summary: string,
    evidence: Evidence,
    findings: Finding[] = [],
    pull: PullSummary | null = null,
  ): PullOutcome => ({
    result: { id: "pull", endpoint: ep, status, durationMs: Math.round(performance.now() - t0), summary, evidence },
    findings: findings.map((f) => ({ ...f, endpoint: ep, fixes: withRunFlags(f.fixes, options) })),
    summary: pull,
  });
  const stop = (s: Stop) => done("fail", s.summary, s.evidence, s.findings);
  // --limit-rate caps every byte this process downloads for the pull, Workers included (rate-limit.ts).
  useRateLimit(options.limitRate ?? null);

  // 1. What to pull, and where to: the output parses and can be written, every blob can be verified.
  const plan = planPull(input);
  if (!plan.ok) return done(plan.status, plan.summary, plan.evidence);
  const { planned } = plan;
  const { image, m, blobs, total, sources, store, concurrency, evidence } = planned;
  const emit = input.onProgress ?? (() => {});

  // 2. Preflight: the Engine answers, the store exists, the space is there.
  const pre = await preflight(input, planned, emit);
  if (!pre.ok) return stop(pre.stop);
  const { engine, needs } = pre;

  // 3. Every blob into the store, verified.
  const { records, failures } = await fetchAll({
    blobs,
    store,
    sources,
    concurrency,
    // --concurrency N is a promise of at most N transfers (a throttled registry); only the default may add small blobs.
    smallBlobs: options.concurrency === null,
    retry: { ...DEFAULT_RETRY, ...input.tuning?.retry },
    idleTimeoutMs: input.tuning?.idleTimeoutMs ?? options.timeoutMs,
    signal: deps.signal,
    trace: input.trace,
    workers: input.tuning?.workers,
    workersEnv: deps.env.PULLDOCTOR_PULL_WORKERS,
    emit,
  });
  evidence.blobs = records.map((r) => ({ ...r }));
  const downloadedBytes = records.reduce((n, r) => n + r.downloadedBytes, 0);
  const reusedBytes = records.reduce((n, r) => n + r.reusedBytes, 0);
  if (failures.length > 0) {
    // One Ctrl-C is one finding, not one per blob that was in flight or queued.
    const firstAbort = failures.find((f) => f.kind === "aborted");
    const shown = failures.filter((f) => f.kind !== "aborted" || f === firstAbort);
    const findings = shown.map((f) => blobFailureFinding(f, image, store.root, sources, () => recheckSpace(needs)));
    const why = `${failures.length} of ${blobs.length} blobs failed (${formatBytes(downloadedBytes)} downloaded, kept for the next run)`;
    return done("fail", why, evidence, findings);
  }

  // 4. The output, written from the store.
  const { content, written } = await writeFromStore(input, planned, engine);
  evidence.written = written.evidence;
  if (written.finding || written.error)
    return done(
      "fail",
      written.error ?? written.finding?.detail ?? "output not written",
      evidence,
      written.finding ? [written.finding] : [],
    );
  const durationMs = Math.round(performance.now() - t0);
  const summary: PullSummary = {
    digest: m.digest,
    mediaType: m.mediaType,
    platform: planned.platform,
    layers: m.layers.length,
    bytes: total,
    downloadedBytes,
    reusedBytes,
    durationMs,
    output: written.output,
    index: content.sourceIndex ?? null,
    ...(written.manifest ? { written: written.manifest } : {}),
  };
  const converted = written.manifest?.converted ? ` (Docker manifest ${m.digest} written as OCI ${written.manifest.digest})` : "";
  const line = `${blobs.length} blobs, ${formatBytes(total)} (${formatBytes(downloadedBytes)} downloaded, ${formatBytes(reusedBytes)} reused) in ${(durationMs / 1000).toFixed(1)} s → ${written.output}${converted}`;
  const warnings = storeCorruptFindings(records, store.root);
  return done(warnings.length > 0 ? "warn" : "pass", line, evidence, warnings, summary);
}

/** Step 2: the Engine answers (for docker), the store exists, the space is there; the plan event goes out once the reused blobs are known. */
async function preflight(
  input: PullInput,
  planned: PullPlan,
  emit: (e: PullEvent) => void,
): Promise<{ ok: true; engine: EngineAddress | null; needs: ReturnType<typeof spaceNeeds> } | { ok: false; stop: Stop }> {
  const { deps, options } = input;
  const { spec, image, m, blobs, store, evidence, archiveFile } = planned;
  let engine: EngineAddress | null = null;
  if (spec.kind === "docker") {
    const e = await engineFor(deps, options.timeoutMs, evidence, { image, archiveFile });
    if ("summary" in e) return { ok: false, stop: e };
    engine = e.engine;
  }
  const noStore = ensureStore(store, evidence);
  if (noStore) return { ok: false, stop: noStore };
  const reused = blobs.map((b) => store.has(b));
  emit({ type: "plan", blobs: blobs.map((b, i) => ({ digest: b.digest, size: b.size, mediaType: b.mediaType, reused: reused[i]! })) });
  const needs = spaceNeeds(spec, store, blobs, reused, m);
  const short = spacePreflight(needs, evidence, image);
  if (short) return { ok: false, stop: short };
  return { ok: true, engine, needs };
}

/** Step 4: the image's content from the store, written to the output. */
async function writeFromStore(
  input: PullInput,
  planned: PullPlan,
  engine: EngineAddress | null,
): Promise<{ content: ImageContent; written: Awaited<ReturnType<typeof writeOutput>> }> {
  const { deps, options } = input;
  const { spec, ref, m, store, image, archiveFile } = planned;
  const content: ImageContent = {
    manifest: { digest: m.digest, mediaType: m.mediaType, size: m.raw.length, raw: m.raw },
    config: m.config,
    layers: m.layers,
    platform: parsePlatformString(planned.platform),
    sourceIndex: input.facts.manifest?.index && {
      digest: input.facts.manifest.index.digest,
      mediaType: input.facts.manifest.index.mediaType,
    },
    store,
    repoTag: repoTagOf(ref),
  };
  const written = await (input.write ?? writeOutput)(spec, content, {
    ref,
    engine,
    timeoutMs: options.timeoutMs,
    signal: deps.signal,
    image,
    archiveFile,
  });
  return { content, written };
}

/** Everything the pull will do, settled before anything is asked of the network or the disk. */
interface PullPlan {
  spec: OutputSpec;
  ref: ImageRef;
  /** The image as the user wrote it (familiar form), for findings. */
  image: string;
  m: ResolvedManifest["image"];
  platform: string;
  blobs: Descriptor[];
  total: number;
  sources: BlobSource[];
  store: BlobStore;
  concurrency: number;
  evidence: Evidence;
  /** What `docker save` would be told to write, for the fixes of an unreachable Engine. */
  archiveFile: string;
}

/** The plan, or why there is none: a failure (an output that cannot be written, a blob that cannot be verified) or nothing to pull. */
type Planned = { ok: true; planned: PullPlan } | { ok: false; status: "fail" | "skip"; summary: string; evidence: Evidence };

function planPull(input: PullInput): Planned {
  const { facts, deps, options } = input;
  const spec = parseOutputSpec(input.output);
  if ("error" in spec)
    return {
      ok: false,
      status: "fail",
      summary: `--output ${input.output}: ${spec.error}`,
      evidence: { output: input.output, error: spec.error },
    };
  if (!facts.ref || !facts.manifest)
    return { ok: false, status: "skip", summary: "no resolved manifest to pull", evidence: { output: input.output } };
  const problem = outputProblem(spec);
  if (problem) return { ok: false, status: "fail", summary: problem, evidence: { output: input.output, error: problem } };
  const ref = facts.ref;
  const m = facts.manifest.image;
  const blobs = dedupe([m.config, ...m.layers]);
  const bad = blobs.find((b) => !parseDigest(b.digest) || !Number.isSafeInteger(b.size) || b.size < 0);
  if (bad)
    return {
      ok: false,
      status: "fail",
      summary: `the manifest names a blob pulldoctor cannot verify: ${JSON.stringify(bad.digest)} (${bad.size} bytes); only sha256 and sha512 digests are defined`,
      evidence: { output: input.output, blob: { digest: String(bad.digest), size: bad.size } },
    };
  const sources = [{ endpoint: input.endpoint, facts }, ...(input.fallbacks ?? [])]
    .map((s) => sourceFrom(s.endpoint, s.facts))
    .filter((s) => s !== null);
  const store = new BlobStore(input.tuning?.storeDir ?? defaultStoreDir(deps));
  const concurrency = Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY);
  const evidence: Evidence = {
    output: input.output,
    store: store.root,
    concurrency,
    endpoints: sources.map((s) => s.baseUrl),
    manifest: { digest: m.digest, mediaType: m.mediaType, size: m.size },
  };
  const planned: PullPlan = {
    spec,
    ref,
    image: ref.familiar ?? ref.canonical,
    m,
    platform: facts.manifest.platform,
    blobs,
    total: blobs.reduce((n, b) => n + b.size, 0),
    sources,
    store,
    concurrency,
    evidence,
    archiveFile: `./${path.basename(ref.repository)}${ref.tag ? `-${ref.tag}` : ""}.tar`,
  };
  return { ok: true, planned };
}

function dedupe(ds: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return ds.filter((d) => !seen.has(d.digest) && seen.add(d.digest) !== undefined);
}
