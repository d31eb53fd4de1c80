import { type Finding, finding } from "../model/finding";
import type { SpaceCheck } from "./outputs/destination";
import type { BlobFailure, BlobRecord } from "./pull-blob";
import type { BlobSource } from "./source";

/** Turn a failed blob into its finding, with the evidence support needs (no secrets: hosts, sizes, digests). */
export function blobFailureFinding(
  f: BlobFailure,
  image: string,
  storeDir: string,
  sources: readonly BlobSource[],
  recheck: () => SpaceCheck | null,
): Finding {
  const r = f.record;
  const received = Math.max(0, r.resumedFrom + r.downloadedBytes);
  const evidence = {
    digest: r.digest,
    size: r.size,
    host: f.last.info.host,
    endpoint: r.endpoint,
    attempts: f.attempts,
    retries: r.retries,
    resumedFrom: r.resumedFrom,
    downloadedBytes: r.downloadedBytes,
    error: f.last.message,
    kind: f.last.kind,
    status: f.last.info.status ?? null,
  };
  if (f.kind === "mismatch") {
    const src = sources.find((s) => s.baseUrl === r.endpoint) ?? sources[0];
    return finding(
      "PULL_DIGEST_MISMATCH",
      {
        image,
        repository: src?.repository ?? "",
        digest: r.digest,
        actual: f.last.info.actual ?? "(more bytes than the descriptor's size)",
        size: r.size,
        received: f.last.info.bytes,
        host: f.last.info.host,
        endpoint: src?.baseUrl ?? r.endpoint ?? "",
        resumedFrom: r.resumedFrom,
        storeDir,
      },
      { ...evidence, expected: r.digest, actual: f.last.info.actual ?? null },
    );
  }
  if (f.kind === "no-space") {
    const c = recheck();
    return finding(
      "PULL_NO_SPACE",
      { image, path: c?.path ?? storeDir, needed: c?.needed ?? r.size, free: c?.free ?? 0, what: c?.what ?? [`blob store ${storeDir}`] },
      { ...evidence, statfs: c ? { ...c } : null },
    );
  }
  const missing = blobUnknown(f, image, sources);
  if (missing) return finding("BLOB_UNKNOWN", missing, evidence);
  return finding(
    "PULL_INTERRUPTED",
    {
      image,
      digest: r.digest,
      host: f.last.info.host,
      attempts: f.attempts,
      error: f.last.message,
      received: Math.min(received, r.size),
      size: r.size,
      storeDir,
      aborted: f.kind === "aborted",
    },
    evidence,
  );
}

export function spaceFinding(c: SpaceCheck, image: string): Finding {
  return finding(
    "PULL_NO_SPACE",
    { image, path: c.path, needed: c.needed, free: c.free, what: c.what, filesNeeded: c.filesNeeded, filesFree: c.filesFree },
    { statfs: { ...c } },
  );
}

/** A stored blob that failed its re-hash before reuse (docs/security.md): the pull recovered, the disk may not have. */
export function storeCorruptFindings(records: readonly BlobRecord[], storeDir: string): Finding[] {
  return records
    .filter((r) => r.storeMismatch !== undefined)
    .map((r) =>
      finding(
        "PULL_STORE_BLOB_CORRUPT",
        { digest: r.digest, actual: r.storeMismatch!, size: r.size, storeDir },
        { digest: r.digest, size: r.size, actual: r.storeMismatch!, storeDir, redownloaded: r.downloadedBytes },
      ),
    );
}

/**
 * A 404 on a blob the manifest lists is a blob the registry lacks (garbage-collected while
 * still referenced, a partial push, an incomplete mirror), not a transfer that kept failing:
 * Docker does not retry it and prints "unknown blob" (docker/distribution
 * registry/client/repository.go maps a blob 404 to ErrBlobUnknown; moby
 * daemon/internal/distribution/pull_v2.go layerDescriptor.Download → retryOnError makes it DoNotRetry).
 * Running the pull again or raising proxy limits cannot help, so none of PULL_INTERRUPTED's fixes apply.
 */
function blobUnknown(f: BlobFailure, image: string, sources: readonly BlobSource[]) {
  if (f.kind !== "interrupted" || f.last.kind !== "status" || f.last.info.status !== 404) return null;
  const r = f.record;
  const src = sources.find((s) => s.endpoint.url === r.endpoint) ?? sources[sources.length - 1];
  const registry = src?.endpoint.host ?? f.last.info.host;
  const what: "config" | "layer" = /config/i.test(r.mediaType) ? "config" : "layer";
  // A 404 from another host than the endpoint is the registry's storage or CDN (it redirected there).
  const url = /^GET (\S+): 404/.exec(f.last.message)?.[1];
  const redirected =
    src && f.last.info.host && f.last.info.host !== src.endpoint.host ? { redirectedTo: f.last.info.host, ...(url ? { url } : {}) } : {};
  return {
    image,
    registry,
    repository: src?.repository ?? "",
    digest: r.digest,
    what,
    mirror: src?.endpoint.role === "mirror",
    ...redirected,
  };
}
