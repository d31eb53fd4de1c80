import { redactUrl } from "../model/redact";
import type { Secret } from "../model/secret";
import { credentialsAllowed, MAX_REDIRECTS, redirectTo, sameOrigin } from "../net/origin";
import { parseRetryAfter } from "../registry/blob";
import { safeLocation } from "../registry/http-util";
import { type AttemptContext, errText, type Fail } from "./attempt";
import { nodeTls, requestInit, requestUrl } from "./request";
import type { BlobSource } from "./source";
import { type Opened, openWithFetch, openWithNode } from "./transport";
import { headDeadline } from "./watchdog";

/** One attempt's GET, as it goes: where it is now (`host` names the server in every failure). */
export interface BlobGet {
  src: BlobSource;
  ctx: AttemptContext;
  url: string;
  host: string;
  /** Bytes already on disk: asked for with Range. */
  offset: number;
  /** The blob's size (a blob Worker is chosen by the bytes in flight, lanes.ts). */
  size: number;
  signal: AbortSignal;
  /** The head deadline's controller (watchdog.ts) and why it fired. */
  idle: AbortController;
  idleWhy: string | null;
  fail: Fail;
}

/**
 * The GET of a blob, redirects followed by hand so Authorization never reaches another host
 * (a CDN's signed URL carries its own credentials; src/net/origin.ts has the rule), and one
 * token refresh after a 401. Returns the final answer, not yet judged.
 */
export async function openBlob(g: BlobGet): Promise<Opened> {
  const { src } = g;
  // The token endpoint may fail mid-pull too (it is another host): a retryable transport failure, not a crash.
  const authorize = async () => {
    try {
      return src.session ? await src.session.authorize() : null;
    } catch (e) {
      throw g.fail("transport", `getting a token for ${src.repository}: ${errText(e)}`);
    }
  };
  let auth = await authorize();
  let refreshed = false;
  let res: Opened | null = null;
  const visited = new Set([g.url]);
  for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
    res = await getOnce(g, auth);
    // Bytes outside printable ASCII percent-encoded as Go's client sends them (and as the doctor's blob stage follows them).
    const rawLoc = res.header("location");
    const loc = rawLoc ? safeLocation(rawLoc) : rawLoc;
    if (res.status >= 300 && res.status < 400 && loc) {
      res.cancel();
      g.url = nextHop(g, loc, res.status, visited);
      continue;
    }
    if (res.status === 401 && sameOrigin(g.url, src.baseUrl) && src.session && !refreshed) {
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
  if (!res) throw g.fail("transport", "no response");
  if (res.status >= 300 && res.status < 400)
    throw g.fail("status", `stopped after ${MAX_REDIRECTS} redirects, as Go's client does (last: ${res.status} from ${g.host})`, {
      status: res.status,
    });
  return res;
}

/** Where a redirect leads; a hostile Location ends the attempt with a finding, never a crash. */
function nextHop(g: BlobGet, loc: string, status: number, visited: Set<string>): string {
  const next = redirectTo(loc, g.url);
  if (next.kind === "invalid")
    throw g.fail("status", `invalid Location header in the redirect from ${g.host}: ${JSON.stringify(redactUrl(loc).slice(0, 200))}`, {
      status,
    });
  if (next.kind === "scheme")
    throw g.fail("status", `unsupported protocol scheme "${next.scheme}" in the redirect from ${g.host}`, { status });
  const url = next.url.toString();
  if (visited.has(url)) throw g.fail("status", `redirect loop: ${g.host} sent the request back to ${redactUrl(url)}`, { status });
  visited.add(url);
  return url;
}

/** One request of the chain, traced; its head must arrive within the head deadline. */
async function getOnce(g: BlobGet, auth: Secret | null): Promise<Opened> {
  const { src, ctx } = g;
  const u = new URL(g.url);
  g.host = u.host;
  const headers: Record<string, string> = { "Accept-Encoding": "identity" };
  if (g.offset > 0) headers.Range = `bytes=${g.offset}-`;
  if (auth && credentialsAllowed(g.url, { url: src.baseUrl, insecure: src.insecure })) headers.Authorization = auth.reveal();
  const t0 = performance.now();
  // Through a proxy: the report's egress list says this host was reached via it.
  const via = src.route?.url ? { proxy: new URL(src.route.url).host } : {};
  const target = requestUrl(u, src, sameOrigin(u, src.baseUrl), headers);
  const init = requestInit(u, src);
  // Retries go through the careful transport (no byte lost when a link cuts again); through a proxy Bun's fetch does the CONNECT.
  const careful = ctx.fresh === true && !src.route?.url;
  const cancelHead = headDeadline(ctx.idleTimeoutMs, g.idle, (why) => {
    g.idleWhy = why;
  });
  let res: Opened;
  try {
    const o = { headers, signal: g.signal, init, tls: careful ? nodeTls(init) : null };
    // First attempts go to a blob Worker when the engine runs them (same fetch, off the main thread).
    res = careful
      ? await openWithNode(target, o)
      : ctx.lanes
        ? await ctx.lanes.open(target, o, Math.max(0, g.size - g.offset))
        : await openWithFetch(target, o);
  } catch (e) {
    const why = g.idleWhy ?? errText(e);
    const durationMs = performance.now() - t0;
    const url = redactUrl(g.url);
    ctx.trace.record({
      kind: "http",
      method: "GET",
      url,
      status: null,
      requestHeaders: {},
      responseHeaders: {},
      durationMs,
      error: why,
      ...via,
    });
    if (ctx.signal.aborted) throw g.fail("aborted", "interrupted");
    throw g.fail("transport", `GET ${url}: ${why}`, { code: g.idleWhy ? "ETIMEDOUT" : (e as { code?: string }).code });
  } finally {
    cancelHead();
  }
  const rawLoc = res.header("location");
  const location = rawLoc ? safeLocation(rawLoc) : null;
  ctx.trace.record({
    kind: "http",
    method: "GET",
    url: redactUrl(g.url),
    status: res.status,
    requestHeaders: headers.Range ? { Range: headers.Range } : {},
    responseHeaders: {
      "content-length": res.header("content-length") ?? "",
      "content-range": res.header("content-range") ?? "",
      // The redirect's target, redacted: the report's egress list names each blob host.
      ...(location ? { location: redactUrl(location) } : {}),
    },
    durationMs: performance.now() - t0,
    ...via,
  });
  return res;
}

/**
 * Is this answer the blob from `offset`? 206 must start there; a 200 means the server ignored
 * Range (docker: "expected HTTP 206 from byte range request"), so the body starts from 0.
 * Anything else ends the attempt with the server's words. Returns where the body starts.
 */
export async function acceptAnswer(g: BlobGet, res: Opened, discardPartial: () => void): Promise<number> {
  if (res.status === 206) {
    const start = /^bytes (\d+)-/.exec(res.header("content-range") ?? "");
    if (!start || Number(start[1]) !== g.offset) {
      res.cancel();
      discardPartial();
      throw g.fail("range", `asked for bytes=${g.offset}- but got Content-Range ${JSON.stringify(res.header("content-range"))}`);
    }
    return g.offset;
  }
  if (res.status === 200) return 0;
  // An error body that never ends (stalled, dripped) must not hold the attempt: read it within the same deadline.
  const body = (await readBounded(res, g.ctx.idleTimeoutMs)).slice(0, 300);
  const ra = res.header("retry-after");
  const retryAfterMs = parseRetryAfter(ra);
  const wait = ra !== null ? ` (Retry-After: ${ra.slice(0, 40)})` : "";
  throw g.fail("status", `GET ${redactUrl(g.url)}: ${res.status} ${res.statusText}${wait}${body ? `: ${body.trim()}` : ""}`, {
    status: res.status,
    ...(retryAfterMs !== null ? { retryAfterMs, retryAfter: ra!.slice(0, 40) } : {}),
  });
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
