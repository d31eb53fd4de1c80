import net from "node:net";
import type * as Undici from "undici-npm";
import type { ClientSettings } from "../model/client-settings";
import { redactHeaders, redactUrl, scrubDeep } from "../model/redact";
import type { Trace } from "../model/trace";
import { bareHost, basicAuthorization, defaultPort, hostPort, type TlsOptions, tlsOptions } from "../net/origin";
import { proxyForUrl } from "../net/proxy-env";
import { VERSION } from "../version";
import { bodyStream, readCapped } from "./http-body";
import { MAX_RESPONSE_HEADER_BYTES, type NetError, type NetErrorPhase, toNetError } from "./http-errors";
import type { HttpClient, HttpClientConfig, HttpRequestInit, HttpResponse } from "./http-types";
import { addressesFor, joinHeaders, preview } from "./http-util";

export { NetError } from "./http-errors";
export type { HttpClient, HttpClientConfig, HttpRequestInit, HttpResponse, HttpStreamResponse } from "./http-types";
export { addressesFor } from "./http-util";

// undici's parts, not its index, which also builds fetch, WebSocket, the mock and cache layers and
// HTTP/2 (most of its 0.54 MB) that every `check` paid to evaluate (docs/performance.md, "Start-up, diagnosis and small blobs").
const Agent = require("undici-npm/lib/dispatcher/agent.js") as typeof Undici.Agent;
const Pool = require("undici-npm/lib/dispatcher/pool.js") as typeof Undici.Pool;
const ProxyAgent = require("undici-npm/lib/dispatcher/proxy-agent.js") as typeof Undici.ProxyAgent;
const buildConnector = require("undici-npm/lib/core/connect.js") as typeof Undici.buildConnector;
// What the index does and ProxyAgent relies on (it calls connect/request on its proxy client):
// the request API on every dispatcher's prototype.
Object.assign(require("undici-npm/lib/dispatcher/dispatcher.js").prototype, require("undici-npm/lib/api/index.js"));
type Agent = Undici.Agent;
type ProxyAgent = Undici.ProxyAgent;

export const USER_AGENT = `pulldoctor/${VERSION}`;
const DEFAULT_MAX_BODY = 64 * 1024;

/** Per host:port: how far the last connection attempt got, and to which address. */
interface ConnState {
  phase: NetErrorPhase;
  address?: string;
}

const RETRY_NEXT = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * A connector that dials the addresses we resolved (in order, next one on refusal as Go's
 * dialer does) and keeps SNI/verification on the hostname, recording how far it got.
 */
function makeConnector(cfg: HttpClientConfig, tlsOpts: TlsOptions | null, states: Map<string, ConnState>): Undici.buildConnector.connector {
  // undici's connector returns the socket it opens (its type says void): kept to see the TLS phase begin.
  const base = buildConnector({ ...tlsOpts, timeout: cfg.timeoutMs }) as unknown as (
    o: Undici.buildConnector.Options,
    cb: Undici.buildConnector.Callback,
  ) => net.Socket | undefined;
  return (opts, cb) => {
    const hostname = bareHost(opts.hostname);
    const port = opts.port || defaultPort(opts.protocol);
    const key = `${hostname}:${port}`;
    const st: ConnState = { phase: "dns" };
    states.set(key, st);
    addressesFor(hostname, cfg).then(
      (addrs) => {
        let i = 0;
        const attempt = (): void => {
          const a = addrs[i]!;
          st.phase = "connect";
          st.address = a.address;
          const sock = base(
            { ...opts, hostname: a.address, servername: opts.servername || (net.isIP(hostname) ? undefined : hostname) },
            (err, s) => {
              if (err) {
                const code = (err as { code?: string }).code;
                if (st.phase === "connect" && code && RETRY_NEXT.has(code) && ++i < addrs.length) return attempt();
                return cb(err, null);
              }
              st.phase = "response";
              cb(null, s!);
            },
          );
          if (opts.protocol === "https:") sock?.once?.("connect", () => (st.phase = "tls"));
        };
        attempt();
      },
      (err) => cb(err as Error, null),
    );
  };
}

function makeDispatcher(cfg: HttpClientConfig, states: Map<string, ConnState>): Agent | ProxyAgent {
  const tlsOpts = tlsOptions(cfg.tls);
  const common = {
    headersTimeout: cfg.timeoutMs,
    bodyTimeout: cfg.timeoutMs,
    keepAliveTimeout: 4_000,
    maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
  };
  const route = cfg.route;
  if (!route?.url) return new Agent({ ...common, connect: makeConnector(cfg, tlsOpts, states) });
  const proxyConnect = makeConnector({ ...cfg, resolution: null }, null, states);
  return new ProxyAgent({
    uri: route.url,
    ...(route.auth ? { token: basicAuthorization(route.auth.username, route.auth.password).reveal() } : {}),
    // Go's transport forwards plain-http requests to the proxy (absolute URI) and tunnels https with CONNECT.
    proxyTunnel: false,
    requestTls: tlsOpts,
    clientFactory: (origin: URL, opts: object) => new Pool(origin, { ...opts, ...common, connect: proxyConnect }),
    ...common,
  });
}

export function createHttpClient(cfg: HttpClientConfig): HttpClient {
  const states = new Map<string, ConnState>();
  let dispatcher: Agent | ProxyAgent | null = null;
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
    const state = (): ConnState => states.get(connKey) ?? { phase: "connect" };
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
    dispatcher ??= makeDispatcher(cfg, states);
    try {
      const res = await dispatcher.request({
        origin: url.origin,
        path: `${url.pathname}${url.search}`,
        method: init.method as Undici.Dispatcher.HttpMethod,
        headers,
        body: init.body,
        signal,
        headersTimeout: cfg.timeoutMs,
        bodyTimeout: cfg.timeoutMs,
      });
      if (!keepDeadlineForBody) clearTimeout(timer);
      const { headers: h, raw } = joinHeaders(res.headers as Record<string, string | string[]>);
      return { res, h, raw, started, timer, fail, headers, remoteAddress: states.get(connKey)?.address ?? null };
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

    async close() {
      const d = dispatcher;
      dispatcher = null;
      if (d) await d.close().catch(() => d.destroy().catch(() => undefined));
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
    route: proxyForUrl(url, settings.proxyEnv ?? settings.deps.env),
    ...(settings.proxyEnv ? { proxyEnv: settings.proxyEnv } : {}),
    tls: settings.tls,
    timeoutMs: settings.timeoutMs,
    signal: settings.signal,
    trace: settings.trace,
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
