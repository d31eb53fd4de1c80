import path from "node:path";
import type { Deps } from "../model/deps";
import type { Evidence } from "../model/evidence";
import type { Descriptor, Facts, ImageRef } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { Options } from "../model/options";
import type { PullSummary } from "../model/report";
import { withRunFlags } from "../model/rerun-flags";
import type { Endpoint, StageResult } from "../model/stage";
import type { Trace } from "../model/trace";
import { formatBytes } from "../model/units";
import { blobFailureFinding, spaceFinding } from "./findings";
import { Lanes } from "./lanes";
import { checkSpace, outputProblem, parseOutput as parseOutputSpec, type SpaceNeed, sameDevice } from "./outputs/destination";
import { type EngineAddress, engineAddress, pingEngine } from "./outputs/docker-engine";
import { type ImageContent, parsePlatformString } from "./outputs/image-content";
import { writeOutput } from "./outputs/write";
import { BlobFailure, type BlobRecord, pullBlob } from "./pull-blob";
import { DEFAULT_CONCURRENCY, DEFAULT_RETRY, type RetryTuning, runPool } from "./schedule";
import { sourceFrom } from "./source";
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
  /** Tests and benchmarks: retry pacing, stall timeout (default options.timeoutMs), store location. */
  tuning?: { retry?: Partial<RetryTuning>; idleTimeoutMs?: number; storeDir?: string; workers?: number };
}

export type PullEvent =
  | { type: "plan"; blobs: { digest: string; size: number; mediaType: string; reused: boolean }[] }
  | { type: "progress"; digest: string; bytes: number; total: number }
  | { type: "done"; digest: string; bytes: number; durationMs: number; resumedFrom: number; retries: number; host: string }
  | { type: "retry"; digest: string; attempt: number; error: string };

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
  const t0 = performance.now();
  const { facts, deps, options } = input;
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
  const spec = parseOutputSpec(input.output);
  if ("error" in spec) return done("fail", `--output ${input.output}: ${spec.error}`, { output: input.output, error: spec.error });
  if (!facts.ref || !facts.manifest) return done("skip", "no resolved manifest to pull", { output: input.output });
  const problem = outputProblem(spec);
  if (problem) return done("fail", problem, { output: input.output, error: problem });
  const ref = facts.ref;
  const image = ref.familiar ?? ref.canonical;
  const m = facts.manifest.image;
  const blobs = dedupe([m.config, ...m.layers]);
  const bad = blobs.find((b) => !parseDigest(b.digest) || !Number.isSafeInteger(b.size) || b.size < 0);
  if (bad)
    return done(
      "fail",
      `the manifest names a blob pulldoctor cannot verify: ${JSON.stringify(bad.digest)} (${bad.size} bytes); only sha256 and sha512 digests are defined`,
      { output: input.output, blob: { digest: String(bad.digest), size: bad.size } },
    );
  const total = blobs.reduce((n, b) => n + b.size, 0);
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
  const emit = input.onProgress ?? (() => {});
  const archiveFile = `./${path.basename(ref.repository)}${ref.tag ? `-${ref.tag}` : ""}.tar`;

  // The Engine is asked first: nothing is downloaded for an output that cannot be written.
  let engine: EngineAddress | null = null;
  if (spec.kind === "docker") {
    const addr = engineAddress(deps);
    const ping =
      "error" in addr
        ? { ok: false as const, error: addr.error, code: null, durationMs: 0 }
        : await pingEngine(addr, Math.min(options.timeoutMs, 5000), deps.signal);
    evidence.engine = { address: "error" in addr ? null : addr.display, source: addr.source, ping: { ...ping } };
    if (!ping.ok) {
      const f = finding(
        "PULL_DAEMON_UNAVAILABLE",
        {
          image,
          address: "error" in addr ? (deps.env.DOCKER_HOST ?? "") : addr.display,
          source: addr.source,
          error: ping.error,
          archiveFile,
        },
        { ...(evidence.engine as Evidence) },
      );
      return done("fail", `no Docker Engine answers at ${"error" in addr ? addr.source : addr.display}`, evidence, [f]);
    }
    if (!("error" in addr)) engine = addr;
  }

  try {
    store.ensure();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "ENOSPC") {
      const why = `cannot create the blob store at ${store.root}: ${(e as Error).message}; set PULLDOCTOR_STORE to a writable directory`;
      return done("fail", why, { ...evidence, error: why, code: code ?? null });
    }
  }
  const plan = blobs.map((b) => ({ digest: b.digest, size: b.size, mediaType: b.mediaType, reused: store.has(b) }));
  emit({ type: "plan", blobs: plan });

  // Space: bytes still to come into the store, plus the output (hard links cost nothing on the store's filesystem).
  const storeNeed = plan.reduce((n, b, i) => n + (b.reused ? 0 : b.size - Math.min(b.size, store.partialSize(blobs[i].digest))), 0);
  const missing = plan.filter((b) => !b.reused).length;
  const needs: SpaceNeed[] = [{ what: "blob store", path: store.root, bytes: storeNeed, files: missing }];
  // oci: a layout is blobs + index.json + oci-layout + directories; hard links need no inode.
  if (spec.kind === "oci")
    needs.push({
      what: "output",
      path: spec.dir,
      bytes: m.size + 4096 + (sameDevice(spec.dir, store.root) ? 0 : total),
      files: 6 + (sameDevice(spec.dir, store.root) ? 1 : blobs.length + 1),
    });
  if (spec.kind === "docker-archive")
    needs.push({
      what: "output",
      path: path.dirname(path.resolve(spec.file)),
      bytes: total + m.size + 1024 * (blobs.length + 12),
      files: 1,
    });
  let space: ReturnType<typeof checkSpace> = [];
  try {
    space = checkSpace(needs);
  } catch (e) {
    // statfs refused (a path we may not stat): no preflight; an ENOSPC while writing is still reported.
    evidence.spaceError = (e as Error).message;
  }
  evidence.space = space.map((c) => ({ ...c }));
  const short = space.find((c) => !c.ok);
  if (short) return done("fail", `not enough space at ${short.path}`, evidence, [spaceFinding(short, image)]);

  const records: BlobRecord[] = [];
  const failures: BlobFailure[] = [];
  const retry = { ...DEFAULT_RETRY, ...input.tuning?.retry };
  const lanes = blobWorkers(input.tuning?.workers, deps.env.PULLDOCTOR_PULL_WORKERS);
  const results = await runPool(
    blobs,
    concurrency,
    (b) => b.size,
    async (d) => {
      let lastEmit = 0;
      const rec = await pullBlob(d, store, sources, {
        signal: deps.signal,
        idleTimeoutMs: input.tuning?.idleTimeoutMs ?? options.timeoutMs,
        retry,
        trace: input.trace,
        onProgress: (bytes) => {
          const now = performance.now();
          if (now - lastEmit >= 100 || bytes === d.size) {
            lastEmit = now;
            emit({ type: "progress", digest: d.digest, bytes, total: d.size });
          }
        },
        onRetry: (attempt, error) => emit({ type: "retry", digest: d.digest, attempt, error }),
        lanes: lanes ?? undefined,
      });
      emit({
        type: "done",
        digest: d.digest,
        bytes: rec.downloadedBytes,
        durationMs: rec.durationMs,
        resumedFrom: rec.resumedFrom,
        retries: rec.retries,
        host: rec.host ?? "store",
      });
      return rec;
    },
  ).finally(() => lanes?.close());
  for (const r of results) {
    if (r.status === "fulfilled") records.push(r.value);
    else if (r.reason instanceof BlobFailure) {
      failures.push(r.reason);
      records.push(r.reason.record);
    } else throw r.reason;
  }
  evidence.blobs = records.map((r) => ({ ...r }));
  const downloadedBytes = records.reduce((n, r) => n + r.downloadedBytes, 0);
  const reusedBytes = records.reduce((n, r) => n + r.reusedBytes, 0);
  if (failures.length > 0) {
    const recheck = () => {
      try {
        const now = checkSpace(needs);
        return now.find((c) => !c.ok) ?? now[0] ?? null;
      } catch {
        return null;
      }
    };
    // One Ctrl-C is one finding, not one per blob that was in flight or queued.
    const firstAbort = failures.find((f) => f.kind === "aborted");
    const shown = failures.filter((f) => f.kind !== "aborted" || f === firstAbort);
    const findings = shown.map((f) => blobFailureFinding(f, image, store.root, sources, recheck));
    return done(
      "fail",
      `${failures.length} of ${blobs.length} blobs failed (${formatBytes(downloadedBytes)} downloaded, kept for the next run)`,
      evidence,
      findings,
    );
  }

  const content: ImageContent = {
    manifest: { digest: m.digest, mediaType: m.mediaType, size: m.raw.length, raw: m.raw },
    config: m.config,
    layers: m.layers,
    platform: parsePlatformString(facts.manifest.platform),
    store,
    repoTag: repoTagOf(ref),
  };
  const written = await writeOutput(spec, content, { ref, engine, timeoutMs: options.timeoutMs, signal: deps.signal, image, archiveFile });
  evidence.written = written.evidence;
  const durationMs = Math.round(performance.now() - t0);
  const summary: PullSummary = {
    digest: m.digest,
    mediaType: m.mediaType,
    platform: facts.manifest.platform,
    layers: m.layers.length,
    bytes: total,
    downloadedBytes,
    reusedBytes,
    durationMs,
    output: written.output,
  };
  if (written.finding || written.error) {
    return done(
      "fail",
      written.error ?? written.finding?.detail ?? "output not written",
      evidence,
      written.finding ? [written.finding] : [],
    );
  }
  const line = `${blobs.length} blobs, ${formatBytes(total)} (${formatBytes(downloadedBytes)} downloaded, ${formatBytes(reusedBytes)} reused) in ${(durationMs / 1000).toFixed(1)} s → ${written.output}`;
  return done("pass", line, evidence, [], summary);
}

/**
 * Two blob Workers by default: through the binary on 2 cores they measured 4–9 % faster
 * than fetching and hashing every blob on the main thread, with ~30 MiB less peak RSS
 * (docs/performance.md, run 4). PULLDOCTOR_PULL_WORKERS=0 (or tuning.workers) keeps
 * everything on the main thread, for comparison.
 */
const DEFAULT_WORKERS = 2;
function blobWorkers(tuned: number | undefined, env: string | undefined): Lanes | null {
  const n = tuned ?? (env !== undefined && /^\d+$/.test(env) ? Number(env) : DEFAULT_WORKERS);
  return n > 0 ? new Lanes(n) : null;
}

function dedupe(ds: Descriptor[]): Descriptor[] {
  const seen = new Set<string>();
  return ds.filter((d) => (seen.has(d.digest) ? false : (seen.add(d.digest), true)));
}
