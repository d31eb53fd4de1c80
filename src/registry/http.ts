import type * as Undici from "undici-npm";
import type { ClientSettings } from "../model/client-settings";
import { redactHeaders, redactUrl, scrubDeep } from "../model/redact";
import type { Trace } from "../model/trace";
import { hostPort } from "../net/origin";
import { proxyForUrl } from "../net/proxy-env";
import { VERSION } from "../version";
import { bodyStream, readCapped } from "./http-body";
import { type ConnState, type Dispatch, dispatchFor } from "./http-dispatch";
import { type NetError, type NetErrorPhase, toNetError } from "./http-errors";
import type { HttpClient, HttpClientConfig, HttpRequestInit, HttpResponse } from "./http-types";
import { joinHeaders, preview } from "./http-util";

export { NetError } from "./http-errors";
export type { HttpClient, HttpClientConfig, HttpRequestInit, HttpResponse, HttpStreamResponse } from "./http-types";
export { addressesFor } from "./http-util";

export const USER_AGENT = `pulldoctor/${VERSION}`;
const DEFAULT_MAX_BODY = 64 * 1024;
/** A kept-alive socket the server closed as the request went out: Go's transport sends the request again. */
const CLOSED_UNDER_US = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE"]);

export function createHttpClient(cfg: HttpClientConfig): HttpClient {
  // Made on the first request: the run's shared dispatcher for these settings, or the client's own.
  let mine: { dispatch: Dispatch; shared: boolean } | null = null;
  const proxyUrl = cfg.route?.url ? new URL(cfg.route.url) : null;
  const proxyHost = proxyUrl ? proxyUrl.host : null;
  const proxyKey = proxyUrl ? `${hostPort(proxyUrl).host}:${hostPort(proxyUrl).port}` : null;

  async function open(init: HttpRequestInit, keepDeadlineForBody: boolean) {
    const url = new URL(init.url);
    const { host: hostname, port } = hostPort(url);
    const headers: Record<string, string> = { "user-agent": USER_AGENT };
    for (const [k, v] of Object.entries(init.headers ?? {})) headers[k.toLowerCase()] = v;
    if (init.authorization) headers.authorization = init.authorization.reveal();
    const deadline = new AbortController();
    const timer = setTimeout(() => deadline.abort(new Error("deadline")), cfg.timeoutMs);
    const signals = [deadline.signal, cfg.deps.signal, ...(cfg.signal ? [cfg.signal] : [])];
    const signal = AbortSignal.any(signals);
    const started = performance.now();
    const connKey = proxyKey ?? `${hostname}:${port}`;
    mine ??= dispatchFor(cfg);
    const d = mine.dispatch;
    const state = (): ConnState => d.states.get(connKey) ?? { phase: "connect" };
    const fail = (e: unknown, phase?: NetErrorPhase): NetError => {
      const st = state();
      const err = toNetError(e, {
        host: url.host,
        address: st.address,
        phase: phase ?? st.phase,
        viaProxy: proxyHost,
        aborted: cfg.deps.signal.aborted || !!cfg.signal?.aborted,
        deadline: deadline.signal.aborted,
        timeoutMs: cfg.timeoutMs,
      });
      traceExchange(cfg.trace, init, headers, null, {}, started, err.message, undefined, { proxy: proxyHost, address: st.address ?? null });
      return err;
    };
    const send = () =>
      d.dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method as Undici.Dispatcher.HttpMethod,
        headers,
        body: init.body,
        signal,
        headersTimeout: cfg.timeoutMs,
        bodyTimeout: cfg.timeoutMs,
        // undici closes the socket after every HEAD (for servers that send a body anyway); Go's
        // transport, so Docker, keeps it alive, and the stages' HEADs then share one connection.
        ...(init.method === "HEAD" ? { reset: false } : {}),
      });
    try {
      const opened = d.opened.count;
      const res = await send().catch((e: unknown) => {
        // Go re-sends a replayable request whose kept-alive connection the server had closed
        // (golang/go:src/net/http/transport.go, shouldRetryRequest); undici fails it. Only when
        // no socket was opened meanwhile, i.e. it went out on a reused one.
        const code = (e as { code?: string }).code;
        const replayable = (init.method === "GET" || init.method === "HEAD") && init.body === undefined;
        if (!replayable || signal.aborted || d.opened.count !== opened || !code || !CLOSED_UNDER_US.has(code)) throw e;
        return send();
      });
      if (!keepDeadlineForBody) clearTimeout(timer);
      const { headers: h, raw } = joinHeaders(res.headers as Record<string, string | string[]>);
      return { res, h, raw, started, timer, fail, headers, remoteAddress: d.states.get(connKey)?.address ?? null };
    } catch (e) {
      clearTimeout(timer);
      throw fail(e);
    }
  }

  return {
    async request(init) {
      const o = await open(init, true);
      let read: { body: Buffer; truncated: boolean };
      try {
        read = await readCapped(o.res.body as AsyncIterable<Uint8Array>, init.maxBodyBytes ?? DEFAULT_MAX_BODY);
      } catch (e) {
        clearTimeout(o.timer);
        throw o.fail(e, "body");
      }
      clearTimeout(o.timer);
      const { body, truncated } = read;
      if (truncated) o.res.body.destroy();
      const durationMs = Math.round(performance.now() - o.started);
      // undici hands a socket back one event-loop turn after its answer ends (client-h1.js,
      // onMessageComplete); a request sent sooner opens a second connection. Shared
      // connections are for the next stage's request, so let that turn pass.
      if (!truncated && mine?.shared) await new Promise((r) => setImmediate(r));
      traceExchange(cfg.trace, init, o.headers, o.res.statusCode, o.h, o.started, undefined, body, {
        proxy: proxyHost,
        address: o.remoteAddress,
      });
      return { ...headOf(o, init), body: new Uint8Array(body.buffer, body.byteOffset, body.byteLength), truncated, durationMs };
    },

    async stream(init) {
      const o = await open(init, false);
      traceExchange(cfg.trace, init, o.headers, o.res.statusCode, o.h, o.started, undefined, undefined, {
        proxy: proxyHost,
        address: o.remoteAddress,
      });
      const body = bodyStream(o.res.body, (e) => o.fail(e, "body"));
      return { ...headOf(o, init), body, durationMs: Math.round(performance.now() - o.started) };
    },

    // A shared dispatcher belongs to the run (closed when it ends); a client's own closes with it.
    async close() {
      const m = mine;
      mine = null;
      if (m && !m.shared) await m.dispatch.close();
    },
  };
}

/**
 * A client for another host than the endpoint's (a token realm, a blob redirect target): its
 * own DNS lookup (with the same --dns servers) and its own proxy decision, but the registry's
 * TLS settings — Docker fetches tokens and follows redirects through the registry endpoint's
 * transport (same certs.d CAs, same skip-verify).
 */
export function clientForUrl(settings: ClientSettings, url: string): HttpClient {
  return createHttpClient({
    resolution: null,
    dnsServers: settings.dnsServers,
    deps: settings.deps,
    route: proxyForUrl(url, settings.deps.env),
    tls: settings.tls,
    timeoutMs: settings.timeoutMs,
    signal: settings.signal,
    trace: settings.trace,
    connections: settings.connections,
  });
}

/** The parts of an answer both request() and stream() return. */
function headOf(
  o: { res: { statusCode: number; statusText?: string }; h: Record<string, string>; raw: [string, string][]; remoteAddress: string | null },
  init: HttpRequestInit,
): Omit<HttpResponse, "body" | "truncated" | "durationMs"> {
  return {
    status: o.res.statusCode,
    statusText: o.res.statusText ?? "",
    headers: o.h,
    rawHeaders: o.raw,
    url: init.url,
    remoteAddress: o.remoteAddress,
  };
}

/** One exchange into --verbose's trace: secrets redacted, a body previewed unless it is sensitive (a token answer). */
function traceExchange(
  trace: Trace | undefined,
  init: HttpRequestInit,
  reqHeaders: Record<string, string>,
  status: number | null,
  resHeaders: Record<string, string>,
  started: number,
  error?: string,
  body?: Uint8Array,
  /** Where the exchange went (a proxy, the connected address), for the report's egress list. */
  where: { proxy: string | null; address: string | null } = { proxy: null, address: null },
): void {
  if (!trace) return;
  const rh = redactHeaders(resHeaders);
  if (typeof rh.location === "string") rh.location = redactUrl(rh.location);
  trace.record({
    kind: "http",
    method: init.method,
    url: redactUrl(init.url),
    status,
    requestHeaders: redactHeaders(reqHeaders),
    responseHeaders: rh,
    durationMs: Math.round(performance.now() - started),
    ...(error ? { error: scrubDeep(error) } : {}),
    ...(body && !init.sensitiveBody ? { bodyPreview: preview(body, resHeaders["content-type"]) } : {}),
    ...(where.proxy ? { proxy: where.proxy } : {}),
    ...(where.address ? { address: where.address } : {}),
  });
}
