import net from "node:net";
import tls from "node:tls";
import { redactUrl } from "../model/redact";
import type { Secret } from "../model/secret";
import { basicAuthorization, joinHostPort } from "./origin";
import { proxyDialTarget } from "./proxy-env";

/**
 * HTTP CONNECT through a proxy, the way Go's net/http Transport does it for an https://
 * request (what dockerd does on every pull through HTTPS_PROXY): dial the proxy (TLS
 * first for an https:// proxy URL), send `CONNECT host:port HTTP/1.1` with Host and, when
 * the proxy URL has userinfo, `Proxy-Authorization: Basic …`, and require status 200.
 * Every failure is a TunnelError whose `message` is what Docker prints after "proxyconnect tcp:".
 */
export type TunnelErrorKind = "unreachable" | "auth-required" | "refused" | "timeout" | "protocol";

export class TunnelError extends Error {
  kind: TunnelErrorKind;
  status?: number;
  /** The proxy's Proxy-Authenticate header (407): "Basic realm=…", "NTLM", "Negotiate". */
  proxyAuthenticate?: string;
  override cause?: unknown;
  /** Node's error code (ECONNREFUSED, ETIMEDOUT, ENOTFOUND, ERR_SSL_…), when there was one. */
  code?: string;
  /** Where it failed: dialling the proxy, the TLS handshake with an https:// proxy, or the CONNECT exchange. */
  phase: "dial" | "proxy-tls" | "connect";
  /** Proxy URL with userinfo redacted. */
  proxy: string;
  statusLine?: string;
  headers?: Record<string, string>;
  durationMs: number;
  constructor(init: {
    kind: TunnelErrorKind;
    message: string;
    phase: TunnelError["phase"];
    proxy: string;
    durationMs: number;
    code?: string;
    status?: number;
    statusLine?: string;
    headers?: Record<string, string>;
    proxyAuthenticate?: string;
    cause?: unknown;
  }) {
    super(init.message);
    this.name = "TunnelError";
    this.kind = init.kind;
    this.phase = init.phase;
    this.proxy = init.proxy;
    this.durationMs = init.durationMs;
    if (init.code !== undefined) this.code = init.code;
    if (init.status !== undefined) this.status = init.status;
    if (init.statusLine !== undefined) this.statusLine = init.statusLine;
    if (init.headers !== undefined) this.headers = init.headers;
    if (init.proxyAuthenticate !== undefined) this.proxyAuthenticate = init.proxyAuthenticate;
    if (init.cause !== undefined) this.cause = init.cause;
  }
}

export interface TunnelOptions {
  proxyUrl: string;
  auth: { username: string; password: Secret } | null;
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface Tunnel {
  socket: net.Socket;
  status: number;
  headers: Record<string, string>;
  durationMs: number;
  /** The proxy's address as dialled ("127.0.0.1:3128"). */
  proxyAddress: string;
  statusLine: string;
}

const MAX_HEAD = 64 * 1024;

/** Go's dial error text for a node socket error code. */
function dialText(code: string | undefined, fallback: string): string {
  switch (code) {
    case "ECONNREFUSED":
      return "connect: connection refused";
    case "ETIMEDOUT":
      return "i/o timeout";
    case "EHOSTUNREACH":
      return "connect: no route to host";
    case "ENETUNREACH":
      return "connect: network is unreachable";
    case "ECONNRESET":
      return "read: connection reset by peer";
    default:
      return fallback;
  }
}

/** A TLS failure that means "this port does not speak TLS" (an https:// URL on a plain HTTP proxy port). */
function notTls(code: string | undefined, message: string): boolean {
  return /WRONG_VERSION_NUMBER|PACKET_LENGTH_TOO_LONG|RECORD_OVERFLOW|RECORD_LAYER_FAILURE|UNKNOWN_PROTOCOL|HTTP_REQUEST/i.test(
    `${code ?? ""} ${message}`,
  );
}

/** A proxy URL no CONNECT can go through: refused before dialling. */
function unusableProxy(shown: string, message: string): Promise<never> {
  return Promise.reject(new TunnelError({ kind: "protocol", phase: "dial", proxy: shown, durationMs: 0, message }));
}

export function openTunnel(opts: TunnelOptions): Promise<Tunnel> {
  const started = performance.now();
  const shown = redactUrl(opts.proxyUrl);
  const elapsed = () => Math.round(performance.now() - started);
  let target: { scheme: string; host: string; port: number };
  try {
    target = proxyDialTarget(opts.proxyUrl);
  } catch (e) {
    return unusableProxy(shown, `invalid proxy URL ${shown}: ${(e as Error).message}`);
  }
  if (target.scheme !== "http" && target.scheme !== "https")
    return unusableProxy(
      shown,
      `proxy scheme ${target.scheme}:// cannot carry an HTTP CONNECT tunnel (pulldoctor tunnels through http:// and https:// proxies)`,
    );
  const dialAddr = joinHostPort(target.host, target.port);
  const authority = joinHostPort(opts.host, opts.port);

  return new Promise<Tunnel>((resolve, reject) => {
    let phase: TunnelError["phase"] = "dial";
    let done = false;
    let head = Buffer.alloc(0);
    const wantTls = target.scheme === "https";
    // Dial first, then (https:// proxy) start TLS on the connected socket: the phase of a
    // failure is then exact (refused dial vs a port that does not speak TLS).
    let socket: net.Socket = net.connect({ host: target.host, port: target.port });
    const fail = (init: Omit<ConstructorParameters<typeof TunnelError>[0], "proxy" | "durationMs" | "phase">) => {
      if (done) return;
      done = true;
      cleanup();
      socket.destroy();
      reject(new TunnelError({ ...init, phase, proxy: shown, durationMs: elapsed() }));
    };
    const timer = setTimeout(() => {
      if (phase === "connect")
        fail({
          kind: "timeout",
          code: "ETIMEDOUT",
          message: `proxy ${dialAddr} accepted the connection but did not answer CONNECT ${authority} within ${opts.timeoutMs} ms`,
        });
      else if (phase === "proxy-tls")
        fail({
          kind: "protocol",
          code: "ETIMEDOUT",
          message: `proxyconnect tcp: net/http: TLS handshake timeout (no TLS answer from ${dialAddr} within ${opts.timeoutMs} ms: a plain HTTP proxy port behind an https:// proxy URL?)`,
        });
      else fail({ kind: "unreachable", code: "ETIMEDOUT", message: `proxyconnect tcp: dial tcp ${dialAddr}: i/o timeout` });
    }, opts.timeoutMs);
    const onAbort = () => fail({ kind: "timeout", code: "ABORTED", message: `CONNECT ${authority} through ${dialAddr} was cancelled` });
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) return onAbort();
    function cleanup() {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
    }

    const sendConnect = () => {
      phase = "connect";
      const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, "User-Agent: pulldoctor"];
      if (opts.auth) lines.push(`Proxy-Authorization: ${basicAuthorization(opts.auth.username, opts.auth.password).reveal()}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    };
    socket.once("connect", () => {
      if (!wantTls) return sendConnect();
      phase = "proxy-tls";
      const raw = socket;
      raw.removeListener("error", onError);
      raw.removeListener("close", onClose);
      socket = tls.connect({ socket: raw, servername: net.isIP(target.host) ? undefined : target.host, ALPNProtocols: ["http/1.1"] });
      socket.on("error", onError);
      socket.on("close", onClose);
      socket.once("secureConnect", () => {
        socket.on("data", onData);
        sendConnect();
      });
    });
    function onError(err: NodeJS.ErrnoException) {
      const code = err.code;
      if (phase === "dial") {
        const text = code === "ENOTFOUND" || code === "EAI_AGAIN" ? `lookup ${target.host}: no such host` : dialText(code, err.message);
        return fail({ kind: "unreachable", code, cause: err, message: `proxyconnect tcp: dial tcp ${dialAddr}: ${text}` });
      }
      if (phase === "proxy-tls") {
        const text = notTls(code, err.message) ? "tls: first record does not look like a TLS handshake" : `tls: ${err.message}`;
        return fail({ kind: "protocol", code, cause: err, message: `proxyconnect tcp: ${text}` });
      }
      fail({ kind: "protocol", code, cause: err, message: `proxyconnect tcp: ${dialText(code, err.message)}` });
    }
    function onClose() {
      fail({
        kind: "protocol",
        code: "EOF",
        message:
          phase === "connect"
            ? `proxy ${dialAddr} closed the connection without answering CONNECT ${authority} (Go: unexpected EOF)`
            : `proxyconnect tcp: EOF`,
      });
    }
    function onData(chunk: Buffer) {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf("\r\n\r\n");
      if (end < 0) {
        if (head.length > MAX_HEAD)
          fail({ kind: "protocol", message: `proxy ${dialAddr} sent more than ${MAX_HEAD} bytes without ending its response head` });
        else if (head.length >= 5 && !head.subarray(0, 5).equals(Buffer.from("HTTP/")))
          fail({
            kind: "protocol",
            message: `proxy ${dialAddr} does not speak HTTP: it answered CONNECT with ${JSON.stringify(head.subarray(0, 32).toString("latin1"))}`,
          });
        return;
      }
      const [statusLine = "", ...headerLines] = head.subarray(0, end).toString("latin1").split("\r\n");
      const rest = head.subarray(end + 4);
      const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
      if (!m)
        return fail({
          kind: "protocol",
          message: `proxy ${dialAddr} answered CONNECT with a malformed status line ${JSON.stringify(statusLine.slice(0, 80))}`,
        });
      const headers: Record<string, string> = {};
      for (const line of headerLines) {
        const i = line.indexOf(":");
        if (i <= 0) continue;
        const k = line.slice(0, i).trim().toLowerCase();
        const v = line.slice(i + 1).trim();
        headers[k] = headers[k] ? `${headers[k]}, ${v}` : v;
      }
      const status = Number(m[1]);
      const text = m[2] ?? "";
      if (status === 200) {
        done = true;
        cleanup();
        // Stop the flow before handing over: bytes after the head belong to the caller (e.g. a ServerHello).
        socket.pause();
        if (rest.length) socket.unshift(rest);
        resolve({
          socket,
          status,
          headers,
          durationMs: elapsed(),
          proxyAddress: `${socket.remoteAddress ?? target.host}:${socket.remotePort ?? target.port}`,
          statusLine,
        });
        return;
      }
      // Go's Transport returns the status text alone, unwrapped ("Forbidden", "Proxy Authentication
      // Required"): docker prints `Get "https://host/v2/": Forbidden`.
      const base = { status, statusLine, headers, message: text || "unknown status code" };
      // 407 is the standard answer; some proxies (tinyproxy 1.11 on wrong credentials) send 401 + WWW-Authenticate.
      if (status === 407 || status === 401)
        fail({ ...base, kind: "auth-required", proxyAuthenticate: headers["proxy-authenticate"] ?? headers["www-authenticate"] ?? "" });
      else fail({ ...base, kind: "refused" });
    }
    if (!wantTls) socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}
