import { endpointSettings, registryTarget } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { Descriptor, FetchedBlob } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { Secret } from "../model/secret";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { blobUrl, ClientPool, checkRange, MAX_MEASURE_BYTES, MIN_MEASURE_BYTES, RANGE_PROBE_BYTES } from "../registry/blob";
import {
  followFailure,
  noteDowngrade,
  type Probe,
  type ProbeRun,
  rangeUnsupported,
  readProbe,
  retriedWarning,
  statusFailure,
  throughput,
} from "./blob-probe";
import { followWithRetries } from "./blob-retry";
import { authorizeOrError } from "./manifest";

/**
 * The blob stage: what `docker pull` does after the manifest. A ranged GET of the config
 * blob (Docker fetches it first), then of a layer large enough to time, following redirects
 * by hand so that the CDN host a registry sends blobs to gets its own DNS/connect evidence.
 */
export const blobStage: Stage = {
  id: "blob",
  title: "blob",
  scope: "endpoint",
  needs: ["ref", "link", "session", "manifest"],
  async run(ctx) {
    const pool = new ClientPool({ settings: endpointSettings(ctx), registry: registryTarget(ctx) });
    try {
      return await diagnose(ctx, pool);
    } finally {
      await pool.close();
    }
  },
};

/** The layer to time: the smallest of at least MIN_MEASURE_BYTES, else the smallest of all. */
export function pickLayer(layers: readonly Descriptor[]): Descriptor | null {
  const bySize = [...layers].sort((a, b) => a.size - b.size);
  return bySize.find((l) => l.size >= MIN_MEASURE_BYTES) ?? bySize[0] ?? null;
}

async function diagnose(ctx: StageContext, pool: ClientPool): Promise<StageOutcome> {
  const m = ctx.facts.manifest!;
  const evidence: Evidence = {};
  const findings: Finding[] = [];
  const authorization = await authorizeOrError(ctx.facts.session!);
  if (authorization instanceof Error) return noToken(ctx, authorization, evidence, findings);
  const probes: Probe[] = [
    { what: "config", desc: m.image.config, length: Math.min(RANGE_PROBE_BYTES, m.image.config.size), measure: false },
  ];
  const layer = pickLayer(m.image.layers);
  if (layer) {
    const measure = layer.size >= MIN_MEASURE_BYTES;
    probes.push({
      what: "layer",
      desc: layer,
      length: measure ? Math.min(layer.size, MAX_MEASURE_BYTES) : Math.min(RANGE_PROBE_BYTES, layer.size),
      measure,
    });
  }
  // Asked for at once, as moby's pullSchema2Layers fetches the config beside the layers: a round
  // trip (a redirect chain, with a CDN) less. Each probe keeps its own findings, merged in order
  // as if one had followed the other, so the report does not depend on which answered first.
  const done = await Promise.all(
    probes.map(async (p) => {
      const own: Finding[] = [];
      return { p, own, line: await probe(ctx, pool, p, authorization, evidence, own) };
    }),
  );
  const lines: string[] = [];
  for (const [i, { own, line }] of done.entries()) {
    lines.push(line);
    for (const f of own) if (!saidAlready(f, findings)) findings.push(f);
    if (findings.some((f) => f.severity === "error")) {
      // The config failed: what the layer showed is not reported, as when it was asked for after.
      for (const later of done.slice(i + 1)) delete evidence[later.p.what];
      break;
    }
  }
  return { summary: lines.join("; "), evidence, findings };
}

/**
 * Said once per stage however many probes saw it: the Range ignored, a downgrade on the way, and
 * "recovered after retries" (a warning) when the stage already has a BLOB_FETCH_FAILED.
 */
function saidAlready(f: Finding, findings: readonly Finding[]): boolean {
  const once =
    f.code === "BLOB_RANGE_UNSUPPORTED" ||
    f.code === "BLOB_REDIRECT_INSECURE" ||
    (f.code === "BLOB_FETCH_FAILED" && f.severity === "warning");
  return once && findings.some((g) => g.code === f.code);
}

/** The token refresh failed: no blob can be asked for (apart from diagnose: a healthy check never compiles it). */
function noToken(ctx: StageContext, error: Error, evidence: Evidence, findings: Finding[]): StageOutcome {
  const url = blobUrl(ctx.facts.link!.baseUrl, ctx.facts.ref!.repository, ctx.facts.manifest!.image.config.digest);
  findings.push(finding("BLOB_FETCH_FAILED", { url, host: new URL(url).host, status: null, error: `token: ${error.message}` }, evidence));
  return { summary: `no token for the blob request: ${error.message}`, evidence, findings };
}

async function probe(
  ctx: StageContext,
  pool: ClientPool,
  p: Probe,
  authorization: Secret | null,
  evidence: Evidence,
  findings: Finding[],
): Promise<string> {
  const ref = ctx.facts.ref!;
  const link = ctx.facts.link!;
  const { desc } = p;
  // The manifest stage's read of the config may still be under way (this stage started beside it).
  const fetched = p.what === "config" ? await ctx.facts.manifest!.configRead : undefined;
  const reuse = fetched?.digest === desc.digest ? fetched : undefined;
  const range = reuse?.range ?? `bytes=0-${Math.max(p.length - 1, 0)}`;
  const url = blobUrl(link.baseUrl, ref.repository, desc.digest);
  const ev: Evidence = { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, range };
  evidence[p.what] = ev;
  if (desc.size <= 0) {
    // No byte to ask for: a Range on an empty blob can only be refused (416).
    ev.skipped = "empty blob";
    return `${p.what}: empty blob, not probed`;
  }
  const x: ProbeRun = { ctx, p, ev, evidence, findings, range };
  if (reuse) return judgeFetched(x, reuse);
  // 1. The GET and its redirects, retried as Docker retries.
  const { r, retries, refused } = await followWithRetries(ctx, pool, url, range, authorization);
  ev.hops = r.hops;
  if (retries.length) ev.retries = retries;
  noteDowngrade(x, r.hops);
  if (r.kind !== "response") return followFailure(x, r);
  // 2. The answer: an error status, or the body read as far as the probe needs and judged.
  const res = r.res;
  ev.status = res.status;
  ev.contentRange = res.headers["content-range"] ?? null;
  ev.contentLength = res.headers["content-length"] !== undefined ? Number(res.headers["content-length"]) : null;
  ev.acceptRanges = res.headers["accept-ranges"] ?? null;
  ev.servedBy = r.host;
  if (res.status !== 200 && res.status !== 206) return await statusFailure(x, r, retries.length, refused);
  const read = await readProbe(x, r);
  if (typeof read === "string") return read;
  // 3. How fast, and whether it took retries to get here.
  const rate = throughput(x, r, read);
  if (retries.length && !findings.some((f) => f.code === "BLOB_FETCH_FAILED")) retriedWarning(x, r, retries);
  const via = r.hops.length > 1 ? ` via ${r.host}` : "";
  return `${p.what} ${desc.digest.slice(7, 19)}: ${res.status}${via}, ${read.count} bytes${rate}`;
}

/**
 * The manifest stage read the config whole, verified it, through the same redirects and with the
 * same Authorization: Docker fetches the config once, so that exchange is judged as this probe's
 * (its Range answered, its hops) instead of asking again.
 */
function judgeFetched(x: ProbeRun, f: FetchedBlob): string {
  const { p, ev } = x;
  ev.readBy = "manifest stage";
  ev.hops = f.hops;
  noteDowngrade(x, f.hops);
  ev.status = f.status;
  ev.contentRange = f.headers["content-range"] ?? null;
  ev.contentLength = f.headers["content-length"] !== undefined ? Number(f.headers["content-length"]) : null;
  ev.acceptRanges = f.headers["accept-ranges"] ?? null;
  ev.servedBy = f.host;
  ev.bytesRead = f.bytes;
  ev.transferMs = Math.round(f.transferMs);
  ev.verified = true;
  const rangeCheck = checkRange(f.status, f.headers["content-range"], 0, f.bytes - 1, p.desc.size);
  if (!rangeCheck.ok)
    rangeUnsupported(x, { host: f.host, hops: f.hops, status: f.status, contentRange: ev.contentRange }, rangeCheck.problem);
  const via = f.hops.length > 1 ? ` via ${f.host}` : "";
  return `${p.what} ${p.desc.digest.slice(7, 19)}: ${f.status}${via}, ${f.bytes} bytes (read by the manifest stage)`;
}
