import { parseHeaderLines } from "./header-lines";
/** How a CONNECT fails, in the words Go's Transport uses (tunnel.ts dials and reads). */

export type TunnelErrorKind = "unreachable" | "auth-required" | "refused" | "timeout" | "protocol";

export interface TunnelFailure {
  kind: TunnelErrorKind;
  message: string;
  /** Where it failed: dialling the proxy, the TLS handshake with an https:// proxy, or the CONNECT exchange. */
  phase: "dial" | "proxy-tls" | "connect";
  /** Proxy URL with userinfo redacted. */
  proxy: string;
  durationMs: number;
  /** Node's error code (ECONNREFUSED, ETIMEDOUT, ENOTFOUND, ERR_SSL_…), when there was one. */
  code?: string;
  status?: number;
  statusLine?: string;
  headers?: Record<string, string>;
  /** The proxy's Proxy-Authenticate header (407): "Basic realm=…", "NTLM", "Negotiate". */
  proxyAuthenticate?: string;
  cause?: unknown;
}

export class TunnelError extends Error {
  kind!: TunnelErrorKind;
  phase!: TunnelFailure["phase"];
  proxy!: string;
  durationMs!: number;
  code?: string;
  status?: number;
  statusLine?: string;
  headers?: Record<string, string>;
  proxyAuthenticate?: string;
  override cause?: unknown;
  constructor({ message, ...fields }: TunnelFailure) {
    super(message);
    this.name = "TunnelError";
    Object.assign(this, fields);
  }
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

export type Failure = Omit<ConstructorParameters<typeof TunnelError>[0], "proxy" | "durationMs" | "phase">;

/** The deadline passed: what Go would have printed at this phase. */
export function timedOut(phase: TunnelError["phase"], dialAddr: string, authority: string, timeoutMs: number): Failure {
  if (phase === "connect")
    return {
      kind: "timeout",
      code: "ETIMEDOUT",
      message: `proxy ${dialAddr} accepted the connection but did not answer CONNECT ${authority} within ${timeoutMs} ms`,
    };
  if (phase === "proxy-tls")
    return {
      kind: "protocol",
      code: "ETIMEDOUT",
      message: `proxyconnect tcp: net/http: TLS handshake timeout (no TLS answer from ${dialAddr} within ${timeoutMs} ms: a plain HTTP proxy port behind an https:// proxy URL?)`,
    };
  return { kind: "unreachable", code: "ETIMEDOUT", message: `proxyconnect tcp: dial tcp ${dialAddr}: i/o timeout` };
}

/** A socket error, in Go's words for the phase it happened in. */
export function socketFailure(phase: TunnelError["phase"], err: NodeJS.ErrnoException, host: string, dialAddr: string): Failure {
  const code = err.code;
  if (phase === "dial") {
    const text = code === "ENOTFOUND" || code === "EAI_AGAIN" ? `lookup ${host}: no such host` : dialText(code, err.message);
    return { kind: "unreachable", code, cause: err, message: `proxyconnect tcp: dial tcp ${dialAddr}: ${text}` };
  }
  if (phase === "proxy-tls") {
    const text = notTls(code, err.message) ? "tls: first record does not look like a TLS handshake" : `tls: ${err.message}`;
    return { kind: "protocol", code, cause: err, message: `proxyconnect tcp: ${text}` };
  }
  return { kind: "protocol", code, cause: err, message: `proxyconnect tcp: ${dialText(code, err.message)}` };
}

export interface ConnectAnswer {
  status: number;
  text: string;
  statusLine: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** Bytes after the head: the tunnel's first bytes. */
  rest: Buffer;
}

/** The proxy's answer to CONNECT so far: null while the head is incomplete, a failure when it cannot be one. */
export function parseConnectHead(head: Buffer, dialAddr: string): ConnectAnswer | { failure: Failure } | null {
  const end = head.indexOf("\r\n\r\n");
  if (end < 0) {
    if (head.length > MAX_HEAD)
      return {
        failure: { kind: "protocol", message: `proxy ${dialAddr} sent more than ${MAX_HEAD} bytes without ending its response head` },
      };
    if (head.length >= 5 && !head.subarray(0, 5).equals(Buffer.from("HTTP/")))
      return {
        failure: {
          kind: "protocol",
          message: `proxy ${dialAddr} does not speak HTTP: it answered CONNECT with ${JSON.stringify(head.subarray(0, 32).toString("latin1"))}`,
        },
      };
    return null;
  }
  const [statusLine = "", ...headerLines] = head.subarray(0, end).toString("latin1").split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(statusLine);
  if (!m)
    return {
      failure: {
        kind: "protocol",
        message: `proxy ${dialAddr} answered CONNECT with a malformed status line ${JSON.stringify(statusLine.slice(0, 80))}`,
      },
    };
  const headers = parseHeaderLines(headerLines);
  return { status: Number(m[1]), text: m[2] ?? "", statusLine, headers, rest: head.subarray(end + 4) };
}

/**
 * A CONNECT the proxy answered with anything but 200. Go's Transport returns the status text
 * alone, unwrapped ("Forbidden", "Proxy Authentication Required"): docker prints
 * `Get "https://host/v2/": Forbidden`. 407 is the standard answer; some proxies (tinyproxy 1.11
 * on wrong credentials) send 401 + WWW-Authenticate.
 */
export function refusal(a: ConnectAnswer): Failure {
  const base = { status: a.status, statusLine: a.statusLine, headers: a.headers, message: a.text || "unknown status code" };
  if (a.status === 407 || a.status === 401)
    return { ...base, kind: "auth-required", proxyAuthenticate: a.headers["proxy-authenticate"] ?? a.headers["www-authenticate"] ?? "" };
  return { ...base, kind: "refused" };
}

/** The proxy closed the connection before the tunnel was up. */
export function closedEarly(phase: TunnelError["phase"], dialAddr: string, authority: string): Failure {
  return {
    kind: "protocol",
    code: "EOF",
    message:
      phase === "connect"
        ? `proxy ${dialAddr} closed the connection without answering CONNECT ${authority} (Go: unexpected EOF)`
        : `proxyconnect tcp: EOF`,
  };
}
