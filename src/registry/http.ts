import type { ClientSettings } from "../model/client-settings";
import { basicAuthorization, hostPort, tlsOptions } from "../net/origin";
import { proxyForUrl } from "../net/proxy-env";
import { VERSION } from "../version";
import type { H1Request } from "./h1-client";
import { H1Pool } from "./h1-pool";
import { bodyStream, readCapped } from "./http-body";
import { type ConnectCallback, type ConnState, makeConnector, socketOpener, tunnelOpener } from "./http-connect";
import { type NetError, type NetErrorPhase, toNetError } from "./http-errors";
import { headOf, traceExchange } from "./http-trace";
import type { HttpClient, HttpClientConfig, HttpRequestInit } from "./http-types";
import { joinHeaders } from "./http-util";

export { NetError } from "./http-errors";
export type { HttpClient, HttpClientConfig, HttpRequestInit, HttpResponse, HttpStreamResponse } from "./http-types";
export { addressesFor } from "./http-util";

/** What both transports answer a request with (undici's ResponseData has this shape too). */
interface Answer {
  statusCode: number;
  statusText?: string;
  headers: Record<string, string | string[] | undefined>;
  body: AsyncIterable<Uint8Array> & { destroy(): unknown };
}
interface Dispatcher {
  request(o: H1Request & { headersTimeout?: number; bodyTimeout?: number; reset?: boolean }): Promise<Answer>;
  close(): Promise<void>;
  destroy?(): Promise<void>;
}

/** A dispatcher and what its connector records: per host:port state, and how many sockets it opened. */
interface Dispatch {
  dispatcher: Dispatcher;
  states: Map<string, ConnState>;
  /** Sockets opened so far: a request that failed without opening one went over a kept-alive socket. */
  opened: { count: number };
  close(): Promise<void>;
}

/**
 * The dispatcher for these settings: the run's shared one (settings.connections: one per
 * endpoint, its connections kept alive from stage to stage) or, without a shared set, a
 * client's own, closed with the client. Settings are compared by identity: within a run the
 * stages pass the same resolution, route and TLS objects for one endpoint.
 */
function dispatchFor(cfg: ClientSettings): { dispatch: Dispatch; shared: boolean } {
  const shared = cfg.connections;
  if (!shared) return { dispatch: makeDispatch(cfg), shared: false };
  const key = [cfg.resolution ?? null, cfg.dnsServers ?? null, cfg.route ?? null, cfg.tls ?? null, cfg.timeoutMs, cfg.deps];
  return { dispatch: shared.get(key, () => makeDispatch(cfg)) as Dispatch, shared: true };
}

function makeDispatch(cfg: ClientSettings): Dispatch {
  const states = new Map<string, ConnState>();
  const opened = { count: 0 };
  const dispatcher = makeDispatcher(cfg, states, opened);
  return {
    dispatcher,
    states,
    opened,
    close: () => dispatcher.close().catch(() => dispatcher.destroy?.().catch(() => undefined)),
  };
}

/**
 * The lean HTTP/1.1 client, direct or through an http(s):// proxy (forwarding plain http to an
 * http:// proxy, a CONNECT tunnel otherwise). A SOCKS proxy: undici's ProxyAgent, loaded only then.
 */
function makeDispatcher(cfg: ClientSettings, states: Map<string, ConnState>, opened: { count: number }): Dispatcher {
  const proxyUrl = cfg.route?.url ?? null;
  if (proxyUrl && !/^https?:/i.test(proxyUrl))
    return (require("./http-undici") as typeof import("./http-undici")).proxyDispatcher(cfg, proxyUrl, states, opened) as never;
  if (proxyUrl) return proxiedPool(cfg, new URL(proxyUrl), states, opened);
  const connect = makeConnector(cfg, socketOpener(tlsOptions(cfg.tls), cfg.timeoutMs), states, opened);
  return new H1Pool((origin, done) =>
    connect({ hostname: origin.hostname, host: origin.host, protocol: origin.protocol, port: origin.port }, done),
  );
}

/** Connections through an http(s):// proxy, its connections made by our connector (the proxy's own address lookup). */
function proxiedPool(cfg: ClientSettings, proxy: URL, states: Map<string, ConnState>, opened: { count: number }): H1Pool {
  const auth = cfg.route?.auth;
  const headers: Record<string, string> = auth ? { "proxy-authorization": basicAuthorization(auth.username, auth.password).reveal() } : {};
  const toProxy = makeConnector({ ...cfg, resolution: null }, socketOpener(null, cfg.timeoutMs, "node"), states, opened);
  const openProxy = (cb: ConnectCallback) =>
    toProxy({ hostname: proxy.hostname, host: proxy.host, protocol: proxy.protocol, port: proxy.port }, cb);
  const { host, port } = hostPort(proxy);
  const setPhase = (phase: ConnState["phase"]) => {
    const st = states.get(`${host}:${port}`);
    if (st) st.phase = phase;
  };
  const tunnel = tunnelOpener(openProxy, headers, tlsOptions(cfg.tls), cfg.timeoutMs, setPhase);
  const forward = proxy.protocol === "http:" ? { proxy, headers, connect: (_o: URL, done: ConnectCallback) => openProxy(done) } : null;
  return new H1Pool(tunnel, forward);
}

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
        method: init.method,
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
      const res = await sendReplaying(send, init, signal, d.opened);
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
      const { body, truncated } = await readWithin(o, init.maxBodyBytes ?? DEFAULT_MAX_BODY);
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
 * Go re-sends a replayable request whose kept-alive connection the server had closed
 * (golang/go:src/net/http/transport.go, shouldRetryRequest); undici fails it. Only when no
 * socket was opened meanwhile, i.e. it went out on a reused one.
 */
function sendReplaying<T>(send: () => Promise<T>, init: HttpRequestInit, signal: AbortSignal, opened: { count: number }): Promise<T> {
  const before = opened.count;
  return send().catch((e: unknown) => {
    const code = (e as { code?: string }).code;
    const replayable = (init.method === "GET" || init.method === "HEAD") && init.body === undefined;
    if (!replayable || signal.aborted || opened.count !== before || !code || !CLOSED_UNDER_US.has(code)) throw e;
    return send();
  });
}

/** The whole body up to `max` within the request's deadline; a failure is the body phase's NetError. */
async function readWithin(
  o: { res: { body: unknown }; timer: ReturnType<typeof setTimeout>; fail: (e: unknown, phase?: NetErrorPhase) => NetError },
  max: number,
): Promise<{ body: Buffer; truncated: boolean }> {
  try {
    return await readCapped(o.res.body as AsyncIterable<Uint8Array>, max);
  } catch (e) {
    throw o.fail(e, "body");
  } finally {
    clearTimeout(o.timer);
  }
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
    route: proxyForUrl(url, settings.proxyEnv ?? settings.deps.env),
    ...(settings.proxyEnv ? { proxyEnv: settings.proxyEnv } : {}),
    tls: settings.tls,
    timeoutMs: settings.timeoutMs,
    signal: settings.signal,
    trace: settings.trace,
    connections: settings.connections,
  });
}
