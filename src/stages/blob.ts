import { SLOW_BYTES_PER_SECOND } from "../model/catalogue/blob";
import { endpointSettings, registryTarget } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { Descriptor } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { Secret } from "../model/secret";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { LOW_SPEED_BYTES } from "../pull/watchdog";
import {
  blobUrl,
  ClientPool,
  checkRange,
  type FollowResult,
  followBlob,
  MAX_MEASURE_BYTES,
  MIN_MEASURE_BYTES,
  parseRetryAfter,
  RANGE_PROBE_BYTES,
  RETRY_STATUS,
  readBody,
} from "../registry/blob";
import { parseRegistryErrors } from "../registry/errors";
import { digestOf } from "../registry/manifest";
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

interface Probe {
  what: "config" | "layer";
  desc: Descriptor;
  /** Bytes to ask for (Range 0..length-1). */
  length: number;
  /** Time the transfer (only for a probe large enough to mean something). */
  measure: boolean;
}

async function diagnose(ctx: StageContext, pool: ClientPool): Promise<StageOutcome> {
  const m = ctx.facts.manifest!;
  const evidence: Evidence = {};
  const findings: Finding[] = [];
  const authorization = await authorizeOrError(ctx.facts.session!);
  if (authorization instanceof Error) {
    const url = blobUrl(ctx.facts.link!.baseUrl, ctx.facts.ref!.repository, m.image.config.digest);
    findings.push(
      finding("BLOB_FETCH_FAILED", { url, host: new URL(url).host, status: null, error: `token: ${authorization.message}` }, evidence),
    );
    return { summary: `no token for the blob request: ${authorization.message}`, evidence, findings };
  }
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
  const lines: string[] = [];
  for (const p of probes) {
    const line = await probe(ctx, pool, p, authorization, evidence, findings);
    lines.push(line);
    if (findings.some((f) => f.severity === "error")) break;
  }
  return { summary: lines.join("; "), evidence, findings };
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
  const range = `bytes=0-${Math.max(p.length - 1, 0)}`;
  const url = blobUrl(link.baseUrl, ref.repository, desc.digest);
  const ev: Evidence = { digest: desc.digest, size: desc.size, mediaType: desc.mediaType, range };
  evidence[p.what] = ev;
  if (desc.size <= 0) {
    // No byte to ask for: a Range on an empty blob can only be refused (416).
    ev.skipped = "empty blob";
    return `${p.what}: empty blob, not probed`;
  }
  const { r, retries, refused } = await followWithRetries(ctx, pool, url, range, authorization);
  ev.hops = r.hops;
  if (retries.length) ev.retries = retries;
  const image = ref.familiar;
  const downgrade = r.hops.findIndex((h) => h.downgraded === true);
  if (downgrade > 0 && !findings.some((f) => f.code === "BLOB_REDIRECT_INSECURE")) {
    const from = r.hops[downgrade - 1]!;
    const to = r.hops[downgrade]!;
    findings.push(
      finding(
        "BLOB_REDIRECT_INSECURE",
        {
          registry: ref.registry,
          from: String(from.host),
          to: String(to.host),
          url: String(to.url),
          authorization: to.authorization === true,
        },
        evidence,
      ),
    );
  }
  if (r.kind === "loop") {
    findings.push(
      finding("BLOB_REDIRECT_LOOP", { image, registry: ref.registry, hops: r.hops.map((h) => String(h.url)), reason: r.reason }, evidence),
    );
    return `${p.what}: redirect ${r.reason}`;
  }
  if (r.kind === "unreachable") {
    findings.push(
      finding(
        "BLOB_REDIRECT_UNREACHABLE",
        {
          image,
          registry: ref.registry,
          blobHost: r.host,
          hostname: r.hostname,
          port: r.port,
          url: r.url,
          failedAt: r.failedAt,
          error: r.error,
          addresses: r.addresses,
          proxy: r.proxy,
        },
        evidence,
      ),
    );
    return `${p.what}: redirected to ${r.host}, unreachable (${r.failedAt})`;
  }
  if (r.kind === "bad-redirect") {
    findings.push(
      finding(
        "BLOB_FETCH_FAILED",
        { url: r.url, host: r.host, status: Number(r.hops[r.hops.length - 1]?.status ?? 0) || null, error: r.message },
        evidence,
      ),
    );
    return `${p.what}: ${r.message}`;
  }
  if (r.kind === "failed") {
    findings.push(finding("BLOB_FETCH_FAILED", { url: r.url, host: r.host, status: null, error: r.error.message }, evidence));
    return `${p.what}: ${r.error.message}`;
  }
  const res = r.res;
  ev.status = res.status;
  ev.contentRange = res.headers["content-range"] ?? null;
  ev.contentLength = res.headers["content-length"] !== undefined ? Number(res.headers["content-length"]) : null;
  ev.acceptRanges = res.headers["accept-ranges"] ?? null;
  ev.servedBy = r.host;
  if (res.status !== 200 && res.status !== 206) {
    const body = await readBody(res.body, 64 * 1024, ctx.options.timeoutMs, true);
    const diagnostics = parseRegistryErrors(body.bytes ?? new Uint8Array(), res.headers["content-type"]);
    if (diagnostics.length) ev.errors = diagnostics.map((d) => ({ code: d.code, message: d.message }));
    if (res.status === 404 || diagnostics.some((d) => d.code === "BLOB_UNKNOWN")) {
      // A 404 from the registry's redirect target (its storage or CDN) is not the registry losing the blob.
      const redirected =
        r.host !== ref.registry && r.host !== ctx.facts.link?.baseUrl.replace(/^https?:\/\//, "")
          ? { redirectedTo: r.host, url: String(r.hops[r.hops.length - 1]?.url ?? "") }
          : {};
      findings.push(
        finding(
          "BLOB_UNKNOWN",
          {
            image,
            registry: ref.registry,
            repository: ref.repository,
            digest: desc.digest,
            what: p.what,
            mirror: ctx.endpoint?.role === "mirror",
            ...redirected,
          },
          evidence,
        ),
      );
      return `${p.what} ${desc.digest.slice(0, 19)}…: 404 blob unknown`;
    }
    const ra = res.headers["retry-after"];
    const msg =
      (diagnostics.map((d) => `${d.code}: ${d.message}`).join("; ") || `${res.status} ${res.statusText}`.trim()) +
      (ra !== undefined && !refused?.includes("Retry-After") ? ` (Retry-After: ${ra.slice(0, 40)})` : "") +
      (refused ? `; ${refused}` : retries.length ? `; still ${res.status} after ${retries.length} retries` : "");
    findings.push(
      finding("BLOB_FETCH_FAILED", { url: String(r.hops[r.hops.length - 1]!.url), host: r.host, status: res.status, error: msg }, evidence),
    );
    return `${p.what}: HTTP ${res.status}`;
  }
  // Range honoured? A 200 is the whole blob: read it only as far as the probe needs.
  const rangeCheck = checkRange(res.status, res.headers["content-range"], 0, p.length - 1, desc.size);
  const wantBytes = res.status === 200 ? Math.min(desc.size, Math.max(p.length, 64 * 1024)) : p.length;
  const deadline = Math.min(ctx.options.timeoutMs, 10_000);
  const read = await readBody(res.body, wantBytes, deadline, wantBytes >= desc.size);
  ev.bytesRead = read.count;
  ev.transferMs = Math.round(read.transferMs);
  if (read.error) ev.readError = read.error.toEvidence();
  if (!rangeCheck.ok) {
    ev.rangeProblem = rangeCheck.problem;
    if (!findings.some((f) => f.code === "BLOB_RANGE_UNSUPPORTED")) {
      findings.push(
        finding(
          "BLOB_RANGE_UNSUPPORTED",
          {
            host: r.host,
            status: res.status,
            contentRange: res.headers["content-range"] ?? null,
            requested: range,
            url: String(r.hops[r.hops.length - 1]!.url),
            authorized: r.hops[r.hops.length - 1]!.authorization === true,
          },
          evidence,
        ),
      );
    }
  }
  // Whole blob in hand (small config, small layer, or a 200): it must hash to its digest.
  if (read.bytes && read.count === desc.size) {
    const actual = digestOf(read.bytes, desc.digest);
    ev.verified = actual === desc.digest;
    if (actual !== null && actual !== desc.digest) {
      findings.push(finding("BLOB_DIGEST_MISMATCH", { host: r.host, digest: desc.digest, actual, bytes: read.count }, evidence));
      return `${p.what}: digest mismatch`;
    }
  }
  // The deadline ended the read and the body had not moved: a stall (headers, then nothing, or a
  // drip below the pull's low-speed floor), not a slow link. A timed probe that moved is judged below.
  if (read.cutByDeadline && read.count < wantBytes && (!p.measure || read.count < LOW_SPEED_BYTES)) {
    const last = String(r.hops[r.hops.length - 1]!.url);
    findings.push(
      finding(
        "BLOB_FETCH_FAILED",
        {
          url: last,
          host: r.host,
          status: res.status,
          error: `the body stalled: ${read.count} of ${Math.min(wantBytes, desc.size)} bytes within ${deadline} ms`,
        },
        evidence,
      ),
    );
    return `${p.what}: body stalled after ${read.count} bytes`;
  }
  if (read.error && !read.cutByDeadline) {
    // The connection broke mid-body (Docker: "unexpected EOF"; containerd: "short read"): not a rate problem.
    const last = String(r.hops[r.hops.length - 1]!.url);
    findings.push(
      finding(
        "BLOB_FETCH_FAILED",
        {
          url: last,
          host: r.host,
          status: res.status,
          error: `the body broke after ${read.count} of ${Math.min(wantBytes, desc.size)} bytes: ${read.error.message}`,
        },
        evidence,
      ),
    );
    return `${p.what}: body broke after ${read.count} bytes`;
  }
  let rate = "";
  if (p.measure && (read.count >= MIN_MEASURE_BYTES || read.cutByDeadline)) {
    const seconds = Math.max(read.transferMs, 1) / 1000;
    const bps = Math.round(read.count / seconds);
    ev.throughput = {
      bytes: read.count,
      seconds: Math.round(seconds * 1000) / 1000,
      bytesPerSecond: bps,
      thresholdBytesPerSecond: SLOW_BYTES_PER_SECOND,
      cutByDeadline: read.cutByDeadline,
    };
    rate = `, ${(bps / 1024 / 1024).toFixed(1)} MiB/s`;
    if (bps < SLOW_BYTES_PER_SECOND) {
      const imageBytes = ctx.facts.manifest!.image.layers.reduce((s, l) => s + l.size, 0);
      findings.push(
        finding(
          "BLOB_SLOW",
          {
            host: r.host,
            bytes: read.count,
            seconds,
            bytesPerSecond: bps,
            imageBytes,
            image: ctx.facts.ref!.familiar,
            plainHttp: ctx.facts.link!.scheme === "http",
          },
          evidence,
        ),
      );
    }
  } else if (p.measure === false && p.what === "layer") {
    ev.throughput = { skipped: `no layer of at least ${MIN_MEASURE_BYTES} bytes to time` };
  }
  if (retries.length && !findings.some((f) => f.code === "BLOB_FETCH_FAILED")) {
    // Docker retries these too, so the pull should work: said as a warning, with every answer seen.
    const seen = retries.map((x) => `${x.status}${x.retryAfter !== null ? ` (Retry-After: ${x.retryAfter})` : ""}`).join(", ");
    const last = String(r.hops[r.hops.length - 1]!.url);
    findings.push(
      finding(
        "BLOB_FETCH_FAILED",
        { url: last, host: r.host, status: retries[retries.length - 1]!.status, error: `answered ${seen} before serving the ${p.what}` },
        evidence,
        {
          severity: "warning",
          note: `It recovered after ${retries.length} ${retries.length === 1 ? "retry" : "retries"}; Docker retries as well, so pulls work, slowly, while the registry's storage or rate limit keeps failing requests.`,
        },
      ),
    );
  }
  const via = r.hops.length > 1 ? ` via ${r.host}` : "";
  return `${p.what} ${desc.digest.slice(7, 19)}: ${res.status}${via}, ${read.count} bytes${rate}`;
}

/** Attempts of one probe on a retryable status (Docker: max-download-attempts 5); backoff from PROBE_BACKOFF_MS, doubling. */
const PROBE_ATTEMPTS = 5;
const PROBE_BACKOFF_MS = 200;

/**
 * followBlob, retried as Docker retries a blob download on 408/429/5xx: with backoff, waiting
 * a Retry-After up to --timeout, and never more than --timeout in all. A longer wait is not
 * made: the last answer stands, and `refused` says why.
 */
async function followWithRetries(
  ctx: StageContext,
  pool: ClientPool,
  url: string,
  range: string,
  authorization: Secret | null,
): Promise<{ r: FollowResult; retries: { status: number; retryAfter: string | null; waitMs: number }[]; refused: string | null }> {
  const retries: { status: number; retryAfter: string | null; waitMs: number }[] = [];
  let waited = 0;
  let r = await followBlob(pool, url, range, authorization);
  for (let attempt = 1; attempt < PROBE_ATTEMPTS && r.kind === "response" && RETRY_STATUS.has(r.res.status); attempt++) {
    const retryAfter = r.res.headers["retry-after"] ?? null;
    const askedMs = parseRetryAfter(retryAfter);
    if (askedMs !== null && askedMs > ctx.options.timeoutMs) {
      return {
        r,
        retries,
        refused: `Retry-After ${retryAfter!.slice(0, 40)} is beyond the --timeout of ${ctx.options.timeoutMs / 1000} s pulldoctor waits`,
      };
    }
    const waitMs = Math.max(PROBE_BACKOFF_MS * 2 ** (attempt - 1), askedMs ?? 0);
    // All the waiting of one probe fits in one --timeout: the diagnosis stays bounded however often the host says "later".
    if (waited + waitMs > ctx.options.timeoutMs) {
      return {
        r,
        retries,
        refused: retries.length
          ? `still ${r.res.status} after ${retries.length} ${retries.length === 1 ? "retry" : "retries"} (pulldoctor waits at most --timeout, ${ctx.options.timeoutMs / 1000} s, in all)`
          : null,
      };
    }
    waited += waitMs;
    retries.push({ status: r.res.status, retryAfter: retryAfter === null ? null : retryAfter.slice(0, 40), waitMs });
    await r.res.body.cancel().catch(() => undefined);
    const slept = await new Promise<boolean>((resolve) => {
      const signal = ctx.deps.signal;
      if (signal.aborted) return resolve(false);
      const t = setTimeout(() => resolve(true), waitMs);
      signal.addEventListener("abort", () => (clearTimeout(t), resolve(false)), { once: true });
    });
    if (!slept) break;
    r = await followBlob(pool, url, range, authorization);
  }
  return { r, retries, refused: null };
}
