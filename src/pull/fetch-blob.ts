import { closeSync, openSync } from "node:fs";
import type { Descriptor } from "../model/facts";
import { type AttemptContext, type AttemptResult, errText, type Fail, TransferError } from "./attempt";
import { acceptAnswer, type BlobGet, openBlob } from "./blob-request";
import { writeAllSync } from "./outputs/safe-file";
import type { BlobSource } from "./source";
import type { BlobStore } from "./store";
import type { Opened } from "./transport";
import { hasherDigest, hashFilePrefix, newHasher, parseDigest } from "./verify";
import { bodyWatchdog } from "./watchdog";

/**
 * One GET of one blob from one source, streamed to the store's partial file while its
 * digest is computed, as docker's classic puller and containerd's fetcher do: resume
 * with `Range: bytes=<have>-` (206 expected; a 200 means the server ignored Range, so
 * start again from 0), redirects followed by hand so Authorization never reaches
 * another host (a CDN's signed URL carries its own credentials), one token refresh
 * after a 401. The blob is renamed into the store only when size and digest match.
 */
export async function fetchBlobOnce(d: Descriptor, store: BlobStore, src: BlobSource, ctx: AttemptContext): Promise<AttemptResult> {
  const pd = parseDigest(d.digest)!;
  const partial = store.partialPath(d.digest);
  let offset = store.partialSize(d.digest);
  if (offset > d.size) {
    store.discardPartial(d.digest);
    offset = 0;
  }
  const resumedFrom = offset;
  // Aborted by the time rules (watchdog.ts): the head deadline, then the body's progress.
  const idle = new AbortController();
  const g: BlobGet = {
    src,
    ctx,
    url: `${src.baseUrl}/v2/${src.repository}/blobs/${d.digest}`,
    host: new URL(src.baseUrl).host,
    offset,
    size: d.size,
    signal: AbortSignal.any([ctx.signal, idle.signal]),
    idle,
    idleWhy: null,
    fail: (kind, msg, extra = {}) => new TransferError(kind, msg, { host: g.host, bytes: 0, resumedFrom, ...extra }),
  };
  const fail = g.fail;
  // 1. The GET, its redirects and token refresh; 2. the answer judged: where its body starts.
  const res = await openBlob(g);
  offset = await acceptAnswer(g, res, () => store.discardPartial(d.digest));
  const host = g.host;
  // 3. The body, written and hashed here or in a blob Worker; 4. renamed into the store when it verifies.

  // Right before the partial is opened: a pull paused during the request must not write into the partial of the pull that took over.
  try {
    store.assertOwner(d.digest);
  } catch (e) {
    res.cancel();
    throw e;
  }
  if (res.toFile) return await toFileInWorker(res, d, store, offset, ctx, idle, fail, host);
  // The prefix already on disk is hashed just before the body.
  const hasher = newHasher(pd.algorithm);
  if (offset > 0) hashFilePrefix(hasher, partial, offset);
  let fd: number;
  try {
    fd = openSync(partial, offset > 0 ? "a" : "w");
  } catch (e) {
    res.cancel();
    throw ioError(e, fail);
  }
  let total = offset;
  const watchdog = bodyWatchdog(ctx.idleTimeoutMs, offset, idle);
  let sinkError: TransferError | null = null;
  const opened = res;
  try {
    await opened.consume((buf) => {
      watchdog.progress(total + buf.length);
      if (total + buf.length > d.size) {
        store.discardPartial(d.digest);
        sinkError = fail("too-long", `${host} sent more than the ${d.size} bytes the descriptor says`, { bytes: total - offset });
        throw sinkError;
      }
      try {
        writeAllSync(fd, buf);
      } catch (e) {
        sinkError = ioError(e, fail, total - offset);
        throw sinkError;
      }
      hasher.update(buf);
      total += buf.length;
      ctx.onBytes(total);
    });
  } catch (e) {
    opened.cancel();
    if (sinkError) throw sinkError;
    throw cutShort(ctx, fail, watchdog.reason(), { total, offset, size: d.size }, e);
  } finally {
    watchdog.stop();
    closeSync(fd);
  }
  return settle(d, store, host, offset, total, () => hasherDigest(hasher, pd.algorithm), fail);
}

/** The end of a body: complete and matching → renamed into the store; else why not. */
function settle(
  d: Descriptor,
  store: BlobStore,
  host: string,
  offset: number,
  total: number,
  digest: () => string,
  fail: Fail,
): AttemptResult {
  const bytes = total - offset;
  if (total < d.size) {
    // containerd's wording: "short read: expected N bytes but got M: unexpected EOF".
    throw fail("short-read", `short read from ${host}: expected ${d.size} bytes but got ${total}: unexpected EOF`, { bytes });
  }
  const actual = digest();
  if (actual !== d.digest) {
    store.discardPartial(d.digest);
    throw fail("mismatch", `unexpected digest ${actual}, expected ${d.digest} (served by ${host})`, { bytes, actual });
  }
  store.commit(d.digest);
  return { host, bytes, resumedFrom: offset };
}

/**
 * The same body handling as the inline loop above, done by a blob Worker (lanes.ts):
 * it writes and hashes there and reports totals; the stall watchdog, the error wording
 * and the verdict stay here, so both paths fail and succeed identically.
 */
async function toFileInWorker(
  res: Opened,
  d: Descriptor,
  store: BlobStore,
  offset: number,
  ctx: AttemptContext,
  idle: AbortController,
  fail: Fail,
  host: string,
): Promise<AttemptResult> {
  const algorithm = parseDigest(d.digest)!.algorithm;
  let total = offset;
  const watchdog = bodyWatchdog(ctx.idleTimeoutMs, offset, idle);
  let r: { total: number; digest: string };
  try {
    const onBytes = (t: number) => {
      watchdog.progress(t);
      total = t;
      ctx.onBytes(t);
    };
    r = await res.toFile!({ path: store.partialPath(d.digest), offset, size: d.size, algorithm, onBytes, owner: store.ownerOf(d.digest) });
  } catch (e) {
    const x = e as Error & { kind?: string; total?: number };
    total = Math.max(total, x.total ?? total);
    if (x.kind === "too-long") {
      store.discardPartial(d.digest);
      throw fail("too-long", `${host} sent more than the ${d.size} bytes the descriptor says`, { bytes: total - offset });
    }
    if (x.kind === "io") throw ioError(x, fail, total - offset);
    throw cutShort(ctx, fail, watchdog.reason(), { total, offset, size: d.size }, e);
  } finally {
    watchdog.stop();
  }
  if (r.total !== total) ctx.onBytes(r.total);
  return settle(d, store, host, offset, r.total, () => `${algorithm}:${r.digest}`, fail);
}

/** The body ended before the blob did: interrupted by the user, stalled, or cut by the peer. */
function cutShort(
  ctx: AttemptContext,
  fail: Fail,
  stalled: string | null,
  at: { total: number; offset: number; size: number },
  e: unknown,
): TransferError {
  const bytes = at.total - at.offset;
  if (ctx.signal.aborted) return fail("aborted", "interrupted", { bytes });
  return fail("transport", bodyFailure(stalled, at.total, at.size, e), { bytes, ...(stalled ? { code: "ETIMEDOUT" } : {}) });
}

function bodyFailure(stalled: string | null, total: number, size: number, e: unknown): string {
  return stalled ? `stalled after ${total} of ${size} bytes: ${stalled}` : `body cut after ${total} of ${size} bytes: ${errText(e)}`;
}

function ioError(e: unknown, fail: Fail, bytes = 0): TransferError {
  const code = (e as { code?: string }).code;
  if (code === "ENOSPC" || code === "EDQUOT") return fail("no-space", `writing to the store: ${errText(e)}`, { bytes, code });
  return fail("transport", `writing to the store: ${errText(e)}`, { bytes, code });
}
