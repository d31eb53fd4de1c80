import { closeSync, openSync } from "node:fs";
import type { Descriptor } from "../model/facts";
import { redactUrl } from "../model/redact";
import type { Trace } from "../model/trace";
import { credentialsAllowed, MAX_REDIRECTS, redirectTo, sameOrigin } from "../net/origin";
import { parseRetryAfter, RETRY_STATUS } from "../registry/blob";
import { safeLocation } from "../registry/http-util";
import type { Lanes } from "./lanes";
import { writeAllSync } from "./outputs/safe-file";
import { nodeTls, requestInit, requestUrl } from "./request";
import type { BlobSource } from "./source";
import type { BlobStore } from "./store";
import { type Opened, openWithFetch, openWithNode } from "./transport";
import { hasherDigest, hashFilePrefix, newHasher, parseDigest } from "./verify";
import { bodyWatchdog, headDeadline } from "./watchdog";

/** Why one attempt at one blob failed; the retry loop decides what happens next. */
export class TransferError extends Error {
  constructor(
    readonly kind: "transport" | "status" | "short-read" | "mismatch" | "too-long" | "range" | "no-space" | "aborted",
    message: string,
    readonly info: {
      host: string;
      bytes: number;
      resumedFrom: number;
      status?: number;
      actual?: string;
      code?: string;
      retryAfterMs?: number;
      retryAfter?: string;
    },
  ) {
    super(message);
  }
  get retryable(): boolean {
    if (this.kind === "status") return RETRY_STATUS.has(this.info.status ?? 0);
    return this.kind === "transport" || this.kind === "short-read" || this.kind === "range";
  }
}

export interface AttemptContext {
  signal: AbortSignal;
  idleTimeoutMs: number;
  trace: Trace;
  onBytes: (total: number) => void;
  /** After a transport failure: a new connection, not one from the pool the failed server may have closed. */
  fresh?: boolean;
  /** Blob Workers for first attempts (the engine's; absent: everything on this thread). */
  lanes?: Lanes;
}

export interface AttemptResult {
  host: string;
  bytes: number;
  resumedFrom: number;
}

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
  // The prefix already on disk is hashed just before the body (below, or in the blob Worker).
  let hasher = newHasher(pd.algorithm);

  const registryHost = new URL(src.baseUrl).host;
  let url = `${src.baseUrl}/v2/${src.repository}/blobs/${d.digest}`;
  let host = registryHost;
  // Aborted by the time rules (watchdog.ts): the head deadline, then the body's progress.
  const idle = new AbortController();
  let idleWhy: string | null = null;
  const signal = AbortSignal.any([ctx.signal, idle.signal]);
  const fail = (kind: TransferError["kind"], msg: string, extra: Partial<TransferError["info"]> = {}) =>
    new TransferError(kind, msg, { host, bytes: 0, resumedFrom, ...extra });

  // The token endpoint may fail mid-pull too (it is another host): a retryable transport failure, not a crash.
  const authorize = async () => {
    try {
      return src.session ? await src.session.authorize() : null;
    } catch (e) {
      throw fail("transport", `getting a token for ${src.repository}: ${errText(e)}`);
    }
  };
  let auth = await authorize();
  let refreshed = false;
  let res: Opened | null = null;
  const visited = new Set([url]);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    const u = new URL(url);
    host = u.host;
    // Credentials only to the registry's own origin: scheme, host and port (an https registry
    // redirecting to http on the same host gets none; Docker keys its tokens by host:port).
    const sameHost = sameOrigin(u, src.baseUrl);
    const headers: Record<string, string> = { "Accept-Encoding": "identity" };
    if (offset > 0) headers.Range = `bytes=${offset}-`;
    if (auth && credentialsAllowed(url, { url: src.baseUrl, insecure: src.insecure })) headers.Authorization = auth.reveal();
    const t0 = performance.now();
    const target = requestUrl(u, src, sameHost, headers);
    const init = requestInit(u, src);
    // Retries go through the careful transport (no byte lost when a link cuts again); through a proxy Bun's fetch does the CONNECT.
    const careful = ctx.fresh === true && !src.route?.url;
    const cancelHead = headDeadline(ctx.idleTimeoutMs, idle, (why) => (idleWhy = why));
    try {
      const o = { headers, signal, init, tls: careful ? nodeTls(init) : null };
      // First attempts go to a blob Worker when the engine runs them (same fetch, off the main thread).
      res = careful ? await openWithNode(target, o) : ctx.lanes ? await ctx.lanes.open(target, o) : await openWithFetch(target, o);
    } catch (e) {
      const why = idleWhy ?? errText(e);
      ctx.trace.record({
        kind: "http",
        method: "GET",
        url: redactUrl(url),
        status: null,
        requestHeaders: {},
        responseHeaders: {},
        durationMs: performance.now() - t0,
        error: why,
      });
      if (ctx.signal.aborted) throw fail("aborted", "interrupted");
      throw fail("transport", `GET ${redactUrl(url)}: ${why}`, { code: idleWhy ? "ETIMEDOUT" : (e as { code?: string }).code });
    } finally {
      cancelHead();
    }
    ctx.trace.record({
      kind: "http",
      method: "GET",
      url: redactUrl(url),
      status: res.status,
      requestHeaders: headers.Range ? { Range: headers.Range } : {},
      responseHeaders: { "content-length": res.header("content-length") ?? "", "content-range": res.header("content-range") ?? "" },
      durationMs: performance.now() - t0,
    });
    // Bytes outside printable ASCII percent-encoded as Go's client sends them (and as the doctor's blob stage follows them).
    const rawLoc = res.header("location");
    const loc = rawLoc ? safeLocation(rawLoc) : rawLoc;
    if (res.status >= 300 && res.status < 400 && loc) {
      res.cancel();
      const next = redirectTo(loc, url);
      if (next.kind === "invalid")
        throw fail("status", `invalid Location header in the redirect from ${host}: ${JSON.stringify(redactUrl(loc).slice(0, 200))}`, {
          status: res.status,
        });
      if (next.kind === "scheme")
        throw fail("status", `unsupported protocol scheme "${next.scheme}" in the redirect from ${host}`, { status: res.status });
      url = next.url.toString();
      if (visited.has(url))
        throw fail("status", `redirect loop: ${host} sent the request back to ${redactUrl(url)}`, { status: res.status });
      visited.add(url);
      continue;
    }
    if (res.status === 401 && sameHost && src.session && !refreshed) {
      // A token that expired mid-pull: ask for a new one once, as containerd's authorizer does.
      res.cancel();
      src.session.invalidate();
      auth = await authorize();
      refreshed = true;
      hop--;
      continue;
    }
    break;
  }
  if (!res) throw fail("transport", "no response");
  if (res.status >= 300 && res.status < 400)
    throw fail("status", `stopped after ${MAX_REDIRECTS} redirects, as Go's client does (last: ${res.status} from ${host})`, {
      status: res.status,
    });
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.header("content-range") ?? "");
    if (!start || Number(start[1]) !== offset) {
      res.cancel();
      store.discardPartial(d.digest);
      throw fail("range", `asked for bytes=${offset}- but got Content-Range ${JSON.stringify(res.header("content-range"))}`);
    }
  } else if (res.status === 200) {
    if (offset > 0) {
      // The server ignored Range (docker: "expected HTTP 206 from byte range request"): restart from 0.
      offset = 0;
      hasher = newHasher(pd.algorithm);
    }
  } else {
    // An error body that never ends (stalled, dripped) must not hold the attempt: read it within the same deadline.
    const body = (await readBounded(res, ctx.idleTimeoutMs)).slice(0, 300);
    const ra = res.header("retry-after");
    const retryAfterMs = parseRetryAfter(ra);
    const wait = ra !== null ? ` (Retry-After: ${ra.slice(0, 40)})` : "";
    throw fail("status", `GET ${redactUrl(url)}: ${res.status} ${res.statusText}${wait}${body ? `: ${body.trim()}` : ""}`, {
      status: res.status,
      ...(retryAfterMs !== null ? { retryAfterMs, retryAfter: ra!.slice(0, 40) } : {}),
    });
  }

  if (res.toFile) return await toFileInWorker(res, d, store, offset, ctx, idle, fail, host);
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
    if (ctx.signal.aborted) throw fail("aborted", "interrupted", { bytes: total - offset });
    throw fail("transport", bodyFailure(watchdog.reason(), total, d.size, e), {
      bytes: total - offset,
      ...(watchdog.reason() ? { code: "ETIMEDOUT" } : {}),
    });
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

type Fail = (kind: TransferError["kind"], msg: string, extra?: Partial<TransferError["info"]>) => TransferError;

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
    r = await res.toFile!({ path: store.partialPath(d.digest), offset, size: d.size, algorithm, onBytes });
  } catch (e) {
    const x = e as Error & { kind?: string; total?: number };
    total = Math.max(total, x.total ?? total);
    if (x.kind === "too-long") {
      store.discardPartial(d.digest);
      throw fail("too-long", `${host} sent more than the ${d.size} bytes the descriptor says`, { bytes: total - offset });
    }
    if (x.kind === "io") throw ioError(x, fail, total - offset);
    if (ctx.signal.aborted) throw fail("aborted", "interrupted", { bytes: total - offset });
    throw fail("transport", bodyFailure(watchdog.reason(), total, d.size, e), {
      bytes: total - offset,
      ...(watchdog.reason() ? { code: "ETIMEDOUT" } : {}),
    });
  } finally {
    watchdog.stop();
  }
  if (r.total !== total) ctx.onBytes(r.total);
  return settle(d, store, host, offset, r.total, () => `${algorithm}:${r.digest}`, fail);
}

function readBounded(res: Opened, ms: number): Promise<string> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const late = new Promise<string>((resolve) => {
    timer = setTimeout(() => {
      res.cancel();
      resolve("");
    }, ms);
  });
  return Promise.race([res.text().catch(() => ""), late]).finally(() => clearTimeout(timer));
}

function bodyFailure(stalled: string | null, total: number, size: number, e: unknown): string {
  return stalled ? `stalled after ${total} of ${size} bytes: ${stalled}` : `body cut after ${total} of ${size} bytes: ${errText(e)}`;
}

function ioError(e: unknown, fail: Fail, bytes = 0): TransferError {
  const code = (e as { code?: string }).code;
  if (code === "ENOSPC" || code === "EDQUOT") return fail("no-space", `writing to the store: ${errText(e)}`, { bytes, code });
  return fail("transport", `writing to the store: ${errText(e)}`, { bytes, code });
}

export function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    // Bun appends advice about its `verbose` option; it means nothing to a user.
    const msg = e.message.replace(/\s*For more information, pass `verbose: true`.*$/s, "");
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(e);
}
