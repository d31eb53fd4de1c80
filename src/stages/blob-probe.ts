import { SLOW_BYTES_PER_SECOND } from "../model/catalogue/blob";
import type { Evidence } from "../model/evidence";
import type { Descriptor } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { StageContext } from "../model/stage";
import { LOW_SPEED_BYTES } from "../pull/watchdog";
import { checkRange, type FollowResult, type Hop, MIN_MEASURE_BYTES, type ReadResult, readBody } from "../registry/blob";
import { parseRegistryErrors } from "../registry/errors";
import { digestOf } from "../registry/manifest";

/** One ranged GET of the blob stage. */
export interface Probe {
  what: "config" | "layer";
  desc: Descriptor;
  /** Bytes to ask for (Range 0..length-1). */
  length: number;
  /** Time the transfer (only for a probe large enough to mean something). */
  measure: boolean;
}

/** One probe in progress: its evidence (`ev`, inside the stage's `evidence`) and the stage's findings so far. */
export interface ProbeRun {
  ctx: StageContext;
  p: Probe;
  ev: Evidence;
  evidence: Evidence;
  findings: Finding[];
  range: string;
}

type Answer = Extract<FollowResult, { kind: "response" }>;
type Retry = { status: number; retryAfter: string | null; waitMs: number };

const lastUrl = (r: { hops: Hop[] }): string => String(r.hops[r.hops.length - 1]!.url);

/** An https → http hop on the way to the blob: said once per stage. */
export function noteDowngrade(x: ProbeRun, hops: Hop[]): void {
  const downgrade = hops.findIndex((h) => h.downgraded === true);
  if (downgrade <= 0 || x.findings.some((f) => f.code === "BLOB_REDIRECT_INSECURE")) return;
  const from = hops[downgrade - 1]!;
  const to = hops[downgrade]!;
  x.findings.push(
    finding(
      "BLOB_REDIRECT_INSECURE",
      {
        registry: x.ctx.facts.ref!.registry,
        from: String(from.host),
        to: String(to.host),
        url: String(to.url),
        authorization: to.authorization === true,
      },
      x.evidence,
    ),
  );
}

/** The redirects never led to an answer: a loop, an unreachable host, a bad Location, a failed request. */
export function followFailure(x: ProbeRun, r: Exclude<FollowResult, Answer>): string {
  const ref = x.ctx.facts.ref!;
  const { what } = x.p;
  switch (r.kind) {
    case "loop":
      x.findings.push(
        finding(
          "BLOB_REDIRECT_LOOP",
          { image: ref.familiar, registry: ref.registry, hops: r.hops.map((h) => String(h.url)), reason: r.reason },
          x.evidence,
        ),
      );
      return `${what}: redirect ${r.reason}`;
    case "unreachable":
      x.findings.push(
        finding(
          "BLOB_REDIRECT_UNREACHABLE",
          {
            image: ref.familiar,
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
          x.evidence,
        ),
      );
      return `${what}: redirected to ${r.host}, unreachable (${r.failedAt})`;
    case "bad-redirect":
      x.findings.push(
        finding(
          "BLOB_FETCH_FAILED",
          { url: r.url, host: r.host, status: Number(r.hops[r.hops.length - 1]?.status ?? 0) || null, error: r.message },
          x.evidence,
        ),
      );
      return `${what}: ${r.message}`;
    case "failed":
      x.findings.push(finding("BLOB_FETCH_FAILED", { url: r.url, host: r.host, status: null, error: r.error.message }, x.evidence));
      return `${what}: ${r.error.message}`;
  }
}

/** Neither 200 nor 206: the registry lost the blob (BLOB_UNKNOWN), or refused it. */
export async function statusFailure(x: ProbeRun, r: Answer, retries: number, refused: string | null): Promise<string> {
  const { ctx, p, ev } = x;
  const ref = ctx.facts.ref!;
  const res = r.res;
  const body = await readBody(res.body, 64 * 1024, ctx.options.timeoutMs, true);
  const diagnostics = parseRegistryErrors(body.bytes ?? new Uint8Array(), res.headers["content-type"]);
  if (diagnostics.length) ev.errors = diagnostics.map((d) => ({ code: d.code, message: d.message }));
  if (res.status === 404 || diagnostics.some((d) => d.code === "BLOB_UNKNOWN")) {
    // A 404 from the registry's redirect target (its storage or CDN) is not the registry losing the blob.
    const redirected =
      r.host !== ref.registry && r.host !== ctx.facts.link?.baseUrl.replace(/^https?:\/\//, "")
        ? { redirectedTo: r.host, url: String(r.hops[r.hops.length - 1]?.url ?? "") }
        : {};
    x.findings.push(
      finding(
        "BLOB_UNKNOWN",
        {
          image: ref.familiar,
          registry: ref.registry,
          repository: ref.repository,
          digest: p.desc.digest,
          what: p.what,
          mirror: ctx.endpoint?.role === "mirror",
          ...redirected,
        },
        x.evidence,
      ),
    );
    return `${p.what} ${p.desc.digest.slice(0, 19)}…: 404 blob unknown`;
  }
  const ra = res.headers["retry-after"];
  const msg =
    (diagnostics.map((d) => `${d.code}: ${d.message}`).join("; ") || `${res.status} ${res.statusText}`.trim()) +
    (ra !== undefined && !refused?.includes("Retry-After") ? ` (Retry-After: ${ra.slice(0, 40)})` : "") +
    (refused ? `; ${refused}` : retries ? `; still ${res.status} after ${retries} retries` : "");
  x.findings.push(finding("BLOB_FETCH_FAILED", { url: lastUrl(r), host: r.host, status: res.status, error: msg }, x.evidence));
  return `${p.what}: HTTP ${res.status}`;
}

/**
 * Read the body as far as the probe needs and judge it: the Range honoured, a whole blob
 * hashing to its digest, no stall and no break. Returns the read, or the summary of what failed.
 */
export async function readProbe(x: ProbeRun, r: Answer): Promise<ReadResult | string> {
  const { ctx, p, ev } = x;
  const { desc } = p;
  const res = r.res;
  // Range honoured? A 200 is the whole blob: read it only as far as the probe needs.
  const rangeCheck = checkRange(res.status, res.headers["content-range"], 0, p.length - 1, desc.size);
  const wantBytes = res.status === 200 ? Math.min(desc.size, Math.max(p.length, 64 * 1024)) : p.length;
  const deadline = Math.min(ctx.options.timeoutMs, 10_000);
  const read = await readBody(res.body, wantBytes, deadline, wantBytes >= desc.size);
  ev.bytesRead = read.count;
  ev.transferMs = Math.round(read.transferMs);
  if (read.error) ev.readError = read.error.toEvidence();
  if (!rangeCheck.ok)
    rangeUnsupported(
      x,
      { host: r.host, hops: r.hops, status: res.status, contentRange: res.headers["content-range"] ?? null },
      rangeCheck.problem,
    );
  // Whole blob in hand (small config, small layer, or a 200): it must hash to its digest.
  if (read.bytes && read.count === desc.size) {
    const actual = digestOf(read.bytes, desc.digest);
    ev.verified = actual === desc.digest;
    if (actual !== null && actual !== desc.digest) {
      x.findings.push(finding("BLOB_DIGEST_MISMATCH", { host: r.host, digest: desc.digest, actual, bytes: read.count }, x.evidence));
      return `${p.what}: digest mismatch`;
    }
  }
  // The deadline ended the read and the body had not moved: a stall (headers, then nothing, or a
  // drip below the pull's low-speed floor), not a slow link. A timed probe that moved is judged below.
  const stalled = read.cutByDeadline && read.count < wantBytes && (!p.measure || read.count < LOW_SPEED_BYTES);
  // The connection broke mid-body (Docker: "unexpected EOF"; containerd: "short read"): not a rate problem.
  if (stalled || (read.error && !read.cutByDeadline))
    return bodyFailed(x, r, read, `${read.count} of ${Math.min(wantBytes, desc.size)} bytes`, deadline);
  return read;
}

/** How a ranged GET was answered: what BLOB_RANGE_UNSUPPORTED names. */
export interface RangeAnswer {
  host: string;
  hops: Hop[];
  status: number;
  contentRange: string | null;
}

/** BLOB_RANGE_UNSUPPORTED, once per stage (apart from readProbe: a healthy check never compiles it). */
export function rangeUnsupported(x: ProbeRun, a: RangeAnswer, problem: string | null): void {
  x.ev.rangeProblem = problem;
  if (x.findings.some((f) => f.code === "BLOB_RANGE_UNSUPPORTED")) return;
  x.findings.push(
    finding(
      "BLOB_RANGE_UNSUPPORTED",
      {
        host: a.host,
        status: a.status,
        contentRange: a.contentRange,
        requested: x.range,
        url: lastUrl(a),
        authorized: a.hops[a.hops.length - 1]!.authorization === true,
      },
      x.evidence,
    ),
  );
}

/** The body stalled (`read.cutByDeadline`) or broke (`read.error`): BLOB_FETCH_FAILED. */
function bodyFailed(x: ProbeRun, r: Answer, read: ReadResult, of: string, deadline: number): string {
  const error = read.cutByDeadline ? `the body stalled: ${of} within ${deadline} ms` : `the body broke after ${of}: ${read.error!.message}`;
  x.findings.push(finding("BLOB_FETCH_FAILED", { url: lastUrl(r), host: r.host, status: r.res.status, error }, x.evidence));
  return read.cutByDeadline ? `${x.p.what}: body stalled after ${read.count} bytes` : `${x.p.what}: body broke after ${read.count} bytes`;
}

/** The transfer rate of a timed probe (BLOB_SLOW below the floor); the summary's ", 12.3 MiB/s". */
export function throughput(x: ProbeRun, r: Answer, read: ReadResult): string {
  const { ctx, p, ev } = x;
  if (!p.measure) {
    if (p.what === "layer") ev.throughput = { skipped: `no layer of at least ${MIN_MEASURE_BYTES} bytes to time` };
    return "";
  }
  if (read.count < MIN_MEASURE_BYTES && !read.cutByDeadline) return "";
  const seconds = Math.max(read.transferMs, 1) / 1000;
  const bps = Math.round(read.count / seconds);
  ev.throughput = {
    bytes: read.count,
    seconds: Math.round(seconds * 1000) / 1000,
    bytesPerSecond: bps,
    thresholdBytesPerSecond: SLOW_BYTES_PER_SECOND,
    cutByDeadline: read.cutByDeadline,
  };
  if (bps < SLOW_BYTES_PER_SECOND) {
    const imageBytes = ctx.facts.manifest!.image.layers.reduce((s, l) => s + l.size, 0);
    x.findings.push(
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
        x.evidence,
      ),
    );
  }
  return `, ${(bps / 1024 / 1024).toFixed(1)} MiB/s`;
}

/** Docker retries these too, so the pull should work: said as a warning, with every answer seen. */
export function retriedWarning(x: ProbeRun, r: Answer, retries: Retry[]): void {
  const seen = retries.map((t) => `${t.status}${t.retryAfter !== null ? ` (Retry-After: ${t.retryAfter})` : ""}`).join(", ");
  x.findings.push(
    finding(
      "BLOB_FETCH_FAILED",
      {
        url: lastUrl(r),
        host: r.host,
        status: retries[retries.length - 1]!.status,
        error: `answered ${seen} before serving the ${x.p.what}`,
      },
      x.evidence,
      {
        severity: "warning",
        note: `It recovered after ${retries.length} ${retries.length === 1 ? "retry" : "retries"}; Docker retries as well, so pulls work, slowly, while the registry's storage or rate limit keeps failing requests.`,
      },
    ),
  );
}
