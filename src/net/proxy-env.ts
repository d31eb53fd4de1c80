import type { LocalConfig, ProxyRoute, ProxySettings } from "../model/facts";
import { rememberSecret, Secret } from "../model/secret";
import { type GoUrl, goHostPort, goUrlString, parseGoUrl } from "./go-url";
import { idnaAscii, type NoProxyDecision, parseNoProxy, useProxy } from "./no-proxy";
import { joinHostPort } from "./origin";

/**
 * Which proxy a Docker client (dockerd, docker CLI, containerd) uses for a request: Go's
 * golang.org/x/net/http/httpproxy, as net/http.ProxyFromEnvironment vendors it.
 * - HTTPS_PROXY for https:// requests, HTTP_PROXY for http:// (no fallback between them;
 *   other schemes and ALL_PROXY are never used);
 * - the upper-case variable wins when non-empty, else the lower-case one;
 * - a value without a scheme gets "http://"; a value that still does not parse is ignored;
 * - NO_PROXY (see no-proxy.ts); localhost and loopback IPs are never proxied;
 * - with REQUEST_METHOD set (CGI), HTTP_PROXY is refused.
 */

export interface ProxyConfig {
  httpProxy: string;
  httpsProxy: string;
  noProxy: string;
  cgi: boolean;
  /** Which variable each value came from ("HTTPS_PROXY" or "https_proxy"), null if unset. */
  from: { http: string | null; https: string | null; no: string | null };
}

type Env = Readonly<Record<string, string | undefined>>;

function getEnvAny(env: Env, upper: string): { value: string; name: string | null } {
  for (const n of [upper, upper.toLowerCase()]) {
    const v = env[n];
    if (v !== undefined && v !== "") return { value: v, name: n };
  }
  return { value: "", name: null };
}

/** httpproxy.FromEnvironment. */
export function proxyConfigFromEnv(env: Env): ProxyConfig {
  const h = getEnvAny(env, "HTTP_PROXY");
  const s = getEnvAny(env, "HTTPS_PROXY");
  const n = getEnvAny(env, "NO_PROXY");
  return {
    httpProxy: h.value,
    httpsProxy: s.value,
    noProxy: n.value,
    cgi: (env.REQUEST_METHOD ?? "") !== "",
    from: { http: h.name, https: s.name, no: n.name },
  };
}

/** httpproxy's parseProxy: null for an empty value; throws when Go would ignore the value. */
export function parseProxyValue(value: string): GoUrl | null {
  if (value === "") return null;
  let first: GoUrl | null = null;
  let firstError: unknown = null;
  try {
    first = parseGoUrl(value);
  } catch (e) {
    firstError = e;
  }
  if (first === null || first.scheme === "" || first.host === "") {
    // "proxy.corp:3128", "localhost", ":3128": retry with "http://" as Go does.
    try {
      return parseGoUrl(`http://${value}`);
    } catch {
      // fall through and report the original problem
    }
  }
  if (first === null) throw new Error(`invalid proxy address "${value}": ${(firstError as Error).message}`);
  return first;
}

const PORTS: Record<string, string> = { http: "80", https: "443", socks5: "1080" };

/** httpproxy's canonicalAddr: IDNA-encoded host, default port added. */
export function canonicalAddr(u: GoUrl): string {
  const { hostname, port } = goHostPort(u);
  return joinHostPort(idnaAscii(hostname), port || (PORTS[u.scheme] ?? ""));
}

export interface ProxyDecision {
  /** Go's proxy URL (userinfo included, as Go would print it) or null = direct. */
  proxy: GoUrl | null;
  canonicalAddr: string;
  /** The error Go's proxy func returns (only the CGI refusal). */
  error: string | null;
  /** The variable whose value applies to this scheme, null when none is set. */
  variable: string | null;
  /** The proxy configured for this scheme (credentials removed), even when bypassed. */
  configured: string | null;
  /** Why no proxy is used although one is configured. */
  bypass: NoProxyDecision["bypass"] | { kind: "unparseable"; entry?: string } | { kind: "cgi" } | null;
  /** NO_PROXY / no_proxy, whichever was read. */
  noProxyVariable: string | null;
}

/** The full decision for one request URL (Go's config.proxyForURL). */
export function decideProxy(url: string, cfg: ProxyConfig): ProxyDecision {
  const req = parseGoUrl(url);
  const addr = canonicalAddr(req);
  const base = { canonicalAddr: addr, error: null, noProxyVariable: cfg.from.no };
  const [value, variable] =
    req.scheme === "https" ? [cfg.httpsProxy, cfg.from.https] : req.scheme === "http" ? [cfg.httpProxy, cfg.from.http] : ["", null];
  let proxy: GoUrl | null;
  try {
    proxy = parseProxyValue(value);
  } catch (e) {
    return { ...base, proxy: null, variable, configured: null, bypass: { kind: "unparseable", entry: (e as Error).message } };
  }
  if (proxy === null) return { ...base, proxy: null, variable: null, configured: null, bypass: null };
  const configured = goUrlString(proxy, false);
  if (req.scheme === "http" && cfg.cgi) {
    return {
      ...base,
      proxy: null,
      variable,
      configured,
      bypass: { kind: "cgi" },
      error: "refusing to use HTTP_PROXY value in CGI environment; see golang.org/s/cgihttpproxy",
    };
  }
  const d = useProxy(addr, parseNoProxy(cfg.noProxy));
  if (!d.useProxy) return { ...base, proxy: null, variable, configured, bypass: d.bypass };
  return { ...base, proxy, variable, configured, bypass: null };
}

/** One line saying why the decision was made (names the variable or the NO_PROXY entry). */
export function describeDecision(d: ProxyDecision, url: string): string {
  const host = d.canonicalAddr;
  if (d.proxy) return `${d.variable}=${d.configured} applies to ${host}`;
  const b = d.bypass;
  if (!b) return `no proxy variable set for ${parseGoUrl(url).scheme}:// requests (direct)`;
  switch (b.kind) {
    case "no-proxy":
      return `${d.noProxyVariable ?? "NO_PROXY"} entry ${b.entry} matches ${host} (direct)`;
    case "localhost":
      return `localhost is never proxied (direct)`;
    case "loopback":
      return `loopback address ${host} is never proxied (direct)`;
    case "bad-address":
      return `${host} has no port; Go bypasses the proxy (direct)`;
    case "unparseable":
      return `${d.variable} value cannot be parsed and is silently ignored by Go (direct): ${b.entry}`;
    case "cgi":
      return `REQUEST_METHOD is set (CGI): Go refuses HTTP_PROXY`;
  }
}

export interface ProxyForUrl extends ProxyRoute {
  variable: string | null;
  /** The proxy configured for this scheme (no credentials), even when bypassed. */
  configured: string | null;
  bypass: ProxyDecision["bypass"];
  canonicalAddr: string;
}

/** Go's decision as a ProxyRoute for `url`, with the variable that decided it. */
export function proxyForUrl(url: string, env: Env): ProxyForUrl {
  const decision = decideProxy(url, proxyConfigFromEnv(env));
  const p = decision.proxy;
  const auth = p?.user ? { username: p.user.username, password: new Secret(p.user.password ?? "") } : null;
  // The Proxy-Authorization value's credential part joins the final scrub (a proxy may echo it back).
  if (auth && !auth.password.empty) rememberSecret(Buffer.from(`${auth.username}:${auth.password.reveal()}`).toString("base64"));
  const variable = decision.bypass?.kind === "no-proxy" ? decision.noProxyVariable : decision.variable;
  return {
    url: p ? goUrlString(p, false) : null,
    auth,
    reason: describeDecision(decision, url),
    variable,
    configured: decision.configured,
    bypass: decision.bypass,
    canonicalAddr: decision.canonicalAddr,
  };
}

/** host and port to dial for a proxy URL (default 80 for http://, 443 for https://). */
export function proxyDialTarget(proxyUrl: string): { scheme: string; host: string; port: number } {
  const u = parseGoUrl(proxyUrl);
  const { hostname, port } = goHostPort(u);
  return { scheme: u.scheme, host: hostname, port: Number(port || PORTS[u.scheme] || "80") };
}

/**
 * The proxy environment of the Docker daemon, which makes the pulls. The running Engine's
 * own report (/info) is the truth when available. Otherwise: daemon.json "proxies" (Docker
 * 23.0+) overrides the process environment field by field at start (configureProxyEnv), and
 * the environment comes from the systemd drop-in. `known: false` = nothing was found, so
 * the daemon runs without a proxy (systemd does not pass the shell's environment).
 */
export function daemonProxyConfig(local: LocalConfig): { config: ProxyConfig; source: string; known: boolean } {
  const { proxies, liveProxies, liveSource, path } = local.daemon;
  const live = liveProxies && liveSource;
  const has = (p: ProxySettings | null) => !!p && !!(p.http || p.https || p.no);
  if (live && /info|engine|api|socket/i.test(liveSource))
    return { config: fromSettings(liveProxies, liveSource, liveSource, liveSource), source: liveSource, known: true };
  if (has(proxies)) {
    const json = `${path} proxies`;
    const drop = liveProxies ?? {};
    const dropSrc = liveSource ?? "environment";
    const pick = (a: string | undefined, b: string | undefined, an: string, bn: string) =>
      a ? { v: a, n: an } : { v: b ?? "", n: b ? bn : null };
    const h = pick(proxies!.http, drop.http, `${json} http-proxy`, `${dropSrc} HTTP_PROXY`);
    const s = pick(proxies!.https, drop.https, `${json} https-proxy`, `${dropSrc} HTTPS_PROXY`);
    const n = pick(proxies!.no, drop.no, `${json} no-proxy`, `${dropSrc} NO_PROXY`);
    const source = has(liveProxies) ? `${json} over ${dropSrc}` : json;
    return {
      config: { httpProxy: h.v, httpsProxy: s.v, noProxy: n.v, cgi: false, from: { http: h.n, https: s.n, no: n.n } },
      source,
      known: true,
    };
  }
  if (live && has(liveProxies))
    return {
      config: fromSettings(liveProxies, `${liveSource} HTTP_PROXY`, `${liveSource} HTTPS_PROXY`, `${liveSource} NO_PROXY`),
      source: liveSource,
      known: true,
    };
  return {
    config: { httpProxy: "", httpsProxy: "", noProxy: "", cgi: false, from: { http: null, https: null, no: null } },
    source: `no proxies in ${path}, no systemd drop-in with proxy variables, Engine not queried`,
    known: false,
  };
}

function fromSettings(p: ProxySettings, hn: string, sn: string, nn: string): ProxyConfig {
  return {
    httpProxy: p.http ?? "",
    httpsProxy: p.https ?? "",
    noProxy: p.no ?? "",
    cgi: false,
    from: { http: p.http ? hn : null, https: p.https ? sn : null, no: p.no ? nn : null },
  };
}
