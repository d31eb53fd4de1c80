import type * as Undici from "undici-npm";
import type { ClientSettings } from "../model/client-settings";
import { basicAuthorization, tlsOptions } from "../net/origin";
import { type ConnState, makeConnector, type SocketOpener } from "./http-connect";
import { MAX_RESPONSE_HEADER_BYTES } from "./http-errors";

/*
 * undici, for the one route the lean client (h1-client.ts) does not take: a SOCKS proxy, which
 * its ProxyAgent speaks and Go's transport supports. Loaded only then, so no other run evaluates
 * it. (http:// and https:// proxies are h1-pool.ts's forwarding and http-connect.ts's tunnel.)
 */

// undici's parts, not its index, which also builds fetch, WebSocket, the mock and cache layers and
// HTTP/2 (most of its 0.54 MB) (docs/performance.md, "Start-up, diagnosis and small blobs").
const Pool = require("undici-npm/lib/dispatcher/pool.js") as typeof Undici.Pool;
const ProxyAgent = require("undici-npm/lib/dispatcher/proxy-agent.js") as typeof Undici.ProxyAgent;
const buildConnector = require("undici-npm/lib/core/connect.js") as typeof Undici.buildConnector;
// What the index does and ProxyAgent relies on (it calls connect/request on its proxy client):
// the request API on every dispatcher's prototype.
Object.assign(require("undici-npm/lib/dispatcher/dispatcher.js").prototype, require("undici-npm/lib/api/index.js"));

/** A ProxyAgent for `cfg.route`, its connections to the proxy made by our connector (the proxy's own address lookup). */
export function proxyDispatcher(
  cfg: ClientSettings,
  proxyUrl: string,
  states: Map<string, ConnState>,
  opened: { count: number },
): Undici.ProxyAgent {
  const route = cfg.route;
  const tlsOpts = tlsOptions(cfg.tls);
  const common = {
    headersTimeout: cfg.timeoutMs,
    bodyTimeout: cfg.timeoutMs,
    keepAliveTimeout: 4_000,
    maxHeaderSize: MAX_RESPONSE_HEADER_BYTES,
  };
  const base = buildConnector({ timeout: cfg.timeoutMs }) as unknown as SocketOpener;
  const proxyConnect = makeConnector({ ...cfg, resolution: null }, base, states, opened) as unknown as Undici.buildConnector.connector;
  return new ProxyAgent({
    uri: proxyUrl,
    ...(route?.auth ? { token: basicAuthorization(route.auth.username, route.auth.password).reveal() } : {}),
    // Go's transport forwards plain-http requests to the proxy (absolute URI) and tunnels https with CONNECT.
    proxyTunnel: false,
    requestTls: tlsOpts,
    clientFactory: (origin: URL, opts: object) => new Pool(origin, { ...opts, ...common, connect: proxyConnect }),
    ...common,
  });
}
