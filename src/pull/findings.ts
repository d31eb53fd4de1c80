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
