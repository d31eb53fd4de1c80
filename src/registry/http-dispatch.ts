import net from "node:net";
import type * as Undici from "undici-npm";
import type { ClientSettings } from "../model/client-settings";
import { bareHost, basicAuthorization, defaultPort, type TlsOptions, tlsOptions } from "../net/origin";
import { MAX_RESPONSE_HEADER_BYTES, type NetErrorPhase } from "./http-errors";
import { addressesFor } from "./http-util";

// undici's parts, not its index, which also builds fetch, WebSocket, the mock and cache layers and
// HTTP/2 (most of its 0.54 MB) that every `check` paid to evaluate (docs/performance.md, "Start-up, diagnosis and small blobs").
const Agent = require("undici-npm/lib/dispatcher/agent.js") as typeof Undici.Agent;
const Pool = require("undici-npm/lib/dispatcher/pool.js") as typeof Undici.Pool;
const ProxyAgent = require("undici-npm/lib/dispatcher/proxy-agent.js") as typeof Undici.ProxyAgent;
const buildConnector = require("undici-npm/lib/core/connect.js") as typeof Undici.buildConnector;
// What the index does and ProxyAgent relies on (it calls connect/request on its proxy client):
// the request API on every dispatcher's prototype.
Object.assign(require("undici-npm/lib/dispatcher/dispatcher.js").prototype, require("undici-npm/lib/api/index.js"));

/** Per host:port: how far the last connection attempt got, and to which address. */
export interface ConnState {
  phase: NetErrorPhase;
  address?: string;
}

/** A dispatcher and what its connector records: per host:port state, and how many sockets it opened. */
export interface Dispatch {
  dispatcher: Undici.Agent | Undici.ProxyAgent;
  states: Map<string, ConnState>;
  /** Sockets opened so far: a request that failed without opening one went over a kept-alive socket. */
  opened: { count: number };
  close(): Promise<void>;
}

const RETRY_NEXT = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * The dispatcher for these settings: the run's shared one (settings.connections: one per
 * endpoint, its connections kept alive from stage to stage) or, without a shared set, a
 * client's own, closed with the client. Settings are compared by identity: within a run the
 * stages pass the same resolution, route and TLS objects for one endpoint.
 */
export function dispatchFor(cfg: ClientSettings): { dispatch: Dispatch; shared: boolean } {
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
    close: () => dispatcher.close().catch(() => dispatcher.destroy().catch(() => undefined)),
  };
}

/**
 * A connector that dials the addresses we resolved (in order, next one on refusal as Go's
 * dialer does) and keeps SNI/verification on the hostname, recording how far it got.
 */
function makeConnector(
  cfg: ClientSettings,
  tlsOpts: TlsOptions | null,
  states: Map<string, ConnState>,
  opened: { count: number },
): Undici.buildConnector.connector {
  // undici's connector returns the socket it opens (its type says void): kept to see the TLS phase begin.
  const base = buildConnector({ ...tlsOpts, timeout: cfg.timeoutMs }) as unknown as (
    o: Undici.buildConnector.Options,
    cb: Undici.buildConnector.Callback,
  ) => net.Socket | undefined;
  return (opts, cb) => {
    opened.count++;
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

function makeDispatcher(cfg: ClientSettings, states: Map<string, ConnState>, opened: { count: number }): Undici.Agent | Undici.ProxyAgent {
  const tlsOpts = tlsOptions(cfg.tls);
  const common = {
    headersTimeout: cfg.timeoutMs,
    bodyTimeout: cfg.timeoutMs,
    keepAliveTimeout: 4_000,
    maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
  };
  const route = cfg.route;
  if (!route?.url) return new Agent({ ...common, connect: makeConnector(cfg, tlsOpts, states, opened) });
  const proxyConnect = makeConnector({ ...cfg, resolution: null }, null, states, opened);
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
