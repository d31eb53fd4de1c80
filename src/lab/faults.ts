import { type Headers, headBytes, type WireRequest, type WireResponse } from "./wire";

/**
 * What can go wrong in a repository of the lab registry. Every kind is served as real
 * HTTP over a real socket, so the doctor and the pull engine meet it exactly as they
 * would meet a broken registry, CDN or middlebox.
 */
export type Fault =
  /** Bearer challenge; the lab's token endpoint refuses anonymous requests for this repository. */
  | { kind: "auth-required"; username?: string; password?: string }
  /** Docker Hub's rate-limit headers on manifests; remaining 0 (default) ⇒ 429 TOOMANYREQUESTS. */
  | { kind: "rate-limited"; remaining?: number; limit?: number; windowSeconds?: number }
  /** Blob GET/HEAD ⇒ 307 to `to` + /blobs/DIGEST (a CDN the client may not reach); only `digest` when given. */
  | { kind: "blob-redirect"; to: string; digest?: string; invalidBytes?: boolean }
  /** Blob GETs redirect to themselves ("loop") or through `hops` redirects (?hop=1…) before the blob. */
  | { kind: "redirect-chain"; hops: number | "loop" }
  /** The request is read and never answered: a host that accepts and then says nothing. */
  | { kind: "silent-blob"; digest?: string }
  /**
   * Blob GETs answer these statuses in turn (with Retry-After when given), then the blob; the
   * cycle restarts for each blob's next request after the success. `forever`: the first status, always.
   */
  | { kind: "blob-status"; digest?: string; statuses: number[]; retryAfter?: string; forever?: boolean; stallBody?: boolean }
  /** The whole response, head included, written at bytesPerSecond (a drip no inactivity timer catches). */
  | { kind: "drip-blob"; digest?: string; bytesPerSecond: number }
  /** The body as announced by Content-Length, then `extra` bytes more on a connection kept alive. */
  | { kind: "long-body"; digest?: string; extra: string }
  /** Content-Length of the whole blob, then only afterBytes, then the socket closes. */
  | { kind: "truncate-blob"; digest?: string; afterBytes: number }
  /** Same length, different bytes: only digest verification can tell. */
  | { kind: "corrupt-blob"; digest?: string }
  /** afterBytes of the body, then silence with the connection left open. */
  | { kind: "stall-blob"; digest?: string; afterBytes: number }
  /** The first `times` requests for the blob are reset after afterBytes (Infinity: every one); later ones succeed (resume tests). */
  | { kind: "drop-connection"; digest?: string; afterBytes: number; times: number }
  /** Range is ignored: always 200 with the whole blob, no Accept-Ranges. */
  | { kind: "no-range" }
  /** The blob answers 404 BLOB_UNKNOWN although the manifest references it. */
  | { kind: "blob-missing"; digest?: string }
  /** The body is sent at this rate (BLOB_SLOW). */
  | { kind: "slow-blob"; digest?: string; bytesPerSecond: number }
  /** The manifest's Docker-Content-Digest header is not the digest of the bytes served. */
  | { kind: "digest-mismatch" };

export const LAB_SERVICE = "pulldoctor-lab";

/** Distribution's error body (registry/api/errcode): {"errors":[{code,message,detail}]}. */
export function errorBody(code: string, message: string, detail?: unknown): string {
  return JSON.stringify({ errors: [{ code, message, ...(detail !== undefined ? { detail } : {}) }] });
}

export const API_HEADER = { "Docker-Distribution-Api-Version": "registry/2.0" };

export function sendError(res: WireResponse, status: number, code: string, message: string, detail?: unknown, extra: Headers = {}): void {
  res.send(status, { ...API_HEADER, "Content-Type": "application/json; charset=utf-8", ...extra }, errorBody(code, message, detail));
}

function applies(f: { digest?: string }, digest: string): boolean {
  return f.digest === undefined || f.digest === digest;
}

/** Parses a single "bytes=START-[END]" range as distribution does; null = absent; "invalid" = 416. */
export function parseRange(header: string | undefined, size: number): { start: number; end: number } | null | "invalid" {
  if (!header) return null;
  const m = /^bytes=(\d+)-(\d*)$/.exec(header.trim());
  if (!m) return "invalid";
  const start = Number(m[1]);
  const end = m[2] ? Math.min(Number(m[2]), size - 1) : size - 1;
  if (start >= size || end < start) return "invalid";
  return { start, end };
}

const BODY_FAULTS = new Set<Fault["kind"]>([
  "corrupt-blob",
  "truncate-blob",
  "stall-blob",
  "drop-connection",
  "slow-blob",
  "drip-blob",
  "long-body",
]);

/** blob-status faults count per blob: each digest walks through the statuses on its own. */
const statusCounts = new WeakMap<Fault, Map<string, number>>();

const STATUS_CODES: Record<number, string> = {
  408: "UNKNOWN",
  429: "TOOMANYREQUESTS",
  500: "UNKNOWN",
  502: "UNAVAILABLE",
  503: "UNAVAILABLE",
  504: "UNAVAILABLE",
};

/** The status a blob-status fault answers now for this blob, or null for the blob itself. */
function statusNow(f: Extract<Fault, { kind: "blob-status" }>, digest: string): number | null {
  let per = statusCounts.get(f);
  if (!per) {
    per = new Map();
    statusCounts.set(f, per);
  }
  if (f.forever) return f.statuses[0] ?? 500;
  const n = per.get(digest) ?? 0;
  per.set(digest, (n + 1) % (f.statuses.length + 1));
  return n < f.statuses.length ? f.statuses[n]! : null;
}

/**
 * Serves one blob, applying the repository's faults. `counters` keeps the state of
 * drop-connection faults across requests.
 */
export function serveBlob(
  req: WireRequest,
  res: WireResponse,
  blob: { digest: string; bytes: Uint8Array },
  faults: readonly Fault[],
  counters: Map<Fault, number>,
) {
  const { digest, bytes } = blob;
  for (const f of faults) {
    if (f.kind === "blob-redirect" && applies(f, digest)) {
      const to = f.to.replace(/\/+$/, "");
      // Real CDNs get signed URLs; the signature is what redaction must hide.
      const query = "?X-Amz-Signature=lab-signature-secret&X-Amz-Expires=1200";
      // invalidBytes: a mangling proxy's Location, with bytes that are not UTF-8 (and a C1 CSI) in the path.
      const location = f.invalidBytes
        ? Buffer.concat([Buffer.from(`${to}/blobs/${digest}`), Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x9b]), Buffer.from(query)])
        : `${to}/blobs/${digest}${query}`;
      return res.send(307, { ...API_HEADER, Location: location, "Content-Type": "text/html; charset=utf-8" }, "");
    }
    if (f.kind === "blob-missing" && applies(f, digest)) return sendError(res, 404, "BLOB_UNKNOWN", "blob unknown to registry", digest);
    if (f.kind === "redirect-chain") {
      const hop = Number(req.query.get("hop") ?? 0);
      if (f.hops === "loop") return res.send(302, { ...API_HEADER, Location: req.query.size ? `${req.path}?${req.query}` : req.path }, "");
      if (hop < f.hops) return res.send(307, { ...API_HEADER, Location: `${req.path}?hop=${hop + 1}` }, "");
    }
    if (f.kind === "silent-blob" && applies(f, digest)) return;
    if (f.kind === "blob-status" && req.method === "GET" && applies(f, digest)) {
      const status = statusNow(f, digest);
      if (status !== null) {
        const extra: Headers = f.retryAfter !== undefined ? { "Retry-After": f.retryAfter } : {};
        // stallBody: the error's head, then silence where its body should be.
        if (f.stallBody)
          return res.sendCut(
            status,
            { ...API_HEADER, "Content-Type": "application/json", ...extra },
            new TextEncoder().encode(errorBody("UNKNOWN", "lab fault")),
            0,
            "stall",
          );
        return sendError(res, status, STATUS_CODES[status] ?? "UNKNOWN", `lab fault: ${status}`, undefined, extra);
      }
    }
  }
  const noRange = faults.some((f) => f.kind === "no-range");
  const base: Headers = { ...API_HEADER, "Content-Type": "application/octet-stream", "Docker-Content-Digest": digest, Etag: `"${digest}"` };
  if (!noRange) base["Accept-Ranges"] = "bytes";
  let status = 200;
  let body = bytes;
  const range = noRange ? null : parseRange(req.headers.range, bytes.length);
  if (range === "invalid") {
    return sendError(res, 416, "RANGE_INVALID", "invalid content range", undefined, { "Content-Range": `bytes */${bytes.length}` });
  }
  if (range) {
    status = 206;
    body = bytes.subarray(range.start, range.end + 1);
    base["Content-Range"] = `bytes ${range.start}-${range.end}/${bytes.length}`;
  }
  if (req.method === "HEAD") return res.send(status, base, body);
  for (const f of faults) {
    if (!BODY_FAULTS.has(f.kind) || !applies(f as { digest?: string }, digest)) continue;
    switch (f.kind) {
      case "corrupt-blob": {
        const bad = new Uint8Array(body);
        for (let i = 0; i < bad.length; i += 97) bad[i] = bad[i]! ^ 0xff;
        return res.send(status, base, bad);
      }
      case "truncate-blob":
        return res.sendCut(status, base, body, f.afterBytes, "close");
      case "stall-blob":
        return res.sendCut(status, base, body, f.afterBytes, "stall");
      case "drop-connection": {
        // A cut point past the end of this body never triggers (a 1 KiB ranged probe passes).
        if (body.length <= f.afterBytes) break;
        const n = counters.get(f) ?? 0;
        if (n < f.times) {
          counters.set(f, n + 1);
          return res.sendCut(status, base, body, f.afterBytes, "reset");
        }
        break;
      }
      case "slow-blob":
        return res.sendPaced(status, base, body, f.bytesPerSecond);
      case "drip-blob":
        return res.sendRaw(Buffer.concat([headBytes(status, base, body.length, true), body]), "close", f.bytesPerSecond);
      case "long-body":
        // Keep-alive on purpose: the extra bytes wait in the socket for the next request on it.
        return res.sendRaw(
          Buffer.concat([headBytes(status, base, body.length, false), body, new TextEncoder().encode(f.extra)]),
          "keep-alive",
        );
    }
  }
  res.send(status, base, body);
}

/** Docker Hub's headers (docs: "Checking your pull rate limit"); the window is read from w=. */
export function rateLimitHeaders(f: Extract<Fault, { kind: "rate-limited" }>, source: string): Headers {
  const w = f.windowSeconds ?? 21600;
  return {
    "ratelimit-limit": `${f.limit ?? 100};w=${w}`,
    "ratelimit-remaining": `${f.remaining ?? 0};w=${w}`,
    "docker-ratelimit-source": source,
  };
}
