/**
 * Transport failures of the HTTP layer, as one typed error. Stages never look at raw
 * Node/undici errors: they get a NetError whose kind and phase say which hop failed.
 */
export type NetErrorKind = "dns" | "refused" | "timeout" | "reset" | "tls" | "proxy" | "aborted" | "protocol" | "other";

/**
 * Response headers larger than this are refused (undici's maxHeaderSize; Node's default is only
 * 16 KiB). Go's client, and so Docker, accepts up to 10 MiB, and a doctor must not fail where
 * docker pull works: a 64 KiB WWW-Authenticate is read and followed as Docker would. 1 MiB is
 * far above any real registry's headers; past it the doctor says so instead of buffering more
 * of a hostile server's head.
 */
export const MAX_RESPONSE_HEADER_BYTES = 1024 * 1024;
export type NetErrorPhase = "dns" | "connect" | "tls" | "request" | "response" | "body";

export class NetError extends Error {
  kind!: NetErrorKind;
  phase!: NetErrorPhase;
  host!: string;
  address?: string;
  code?: string;
  override cause?: unknown;
  constructor(
    message: string,
    fields: { kind: NetErrorKind; phase: NetErrorPhase; host: string; address?: string; code?: string; cause?: unknown },
  ) {
    super(message);
    this.name = "NetError";
    Object.assign(this, fields);
  }

  /** JSON-safe form for evidence. */
  toEvidence(): { kind: string; phase: string; host: string; address: string | null; code: string | null; message: string } {
    return {
      kind: this.kind,
      phase: this.phase,
      host: this.host,
      address: this.address ?? null,
      code: this.code ?? null,
      message: this.message,
    };
  }
}

const DNS_CODES = new Set(["ENOTFOUND", "EAI_AGAIN", "EAI_FAIL", "EAI_NODATA", "EAI_NONAME", "ENODATA", "ESERVFAIL", "DNS_NXDOMAIN"]);
const REFUSED_CODES = new Set(["ECONNREFUSED"]);
const UNREACHABLE_CODES = new Set(["EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "EHOSTDOWN", "ENETDOWN"]);
const TIMEOUT_CODES = new Set([
  "ETIMEDOUT",
  "UND_ERR_CONNECT_TIMEOUT",
  "UND_ERR_HEADERS_TIMEOUT",
  "UND_ERR_BODY_TIMEOUT",
  "ESOCKETTIMEDOUT",
]);
const RESET_CODES = new Set(["ECONNRESET", "EPIPE", "UND_ERR_SOCKET", "ECONNABORTED", "ERR_STREAM_PREMATURE_CLOSE", "UND_ERR_CLOSED"]);

/** Node/OpenSSL/Bun verification and handshake codes. */
export function isTlsCode(code: string | undefined): boolean {
  if (!code) return false;
  return (
    code.startsWith("ERR_TLS") ||
    code.startsWith("ERR_SSL") ||
    code === "EPROTO" ||
    /CERT|SELF_SIGNED|UNABLE_TO_|ISSUER|SIGNATURE|CHAIN|HOSTNAME_MISMATCH|TLS/.test(code)
  );
}

export interface ErrorContext {
  host: string;
  address?: string;
  /** Where the exchange was when it failed: "dns"/"connect"/"tls" while connecting, "response" waiting for headers, "body" reading it. */
  phase: NetErrorPhase;
  /** A proxy carried the request (connect-phase failures are then the proxy's). */
  viaProxy: string | null;
  /** The caller's signal (Ctrl-C) fired. */
  aborted: boolean;
  /** Our own deadline fired. */
  deadline: boolean;
  timeoutMs: number;
}

function codeOf(e: unknown): string | undefined {
  if (!e || typeof e !== "object") return undefined;
  const c = (e as { code?: unknown }).code;
  return typeof c === "string" ? c : undefined;
}

/** The deepest error with a code (undici wraps socket errors in `cause`). */
function rootCoded(e: unknown): unknown {
  let cur = e;
  for (let i = 0; i < 5 && cur && typeof cur === "object"; i++) {
    const c = (cur as { cause?: unknown }).cause;
    if (!c || !codeOf(c)) break;
    cur = c;
  }
  return cur;
}

/** Map any error thrown by a request into a NetError (pure; table-tested). */
export function toNetError(e: unknown, ctx: ErrorContext): NetError {
  if (e instanceof NetError) return e;
  const root = rootCoded(e);
  const code = codeOf(root) ?? codeOf(e);
  const rawMsg = (root as Error)?.message ?? String(e);
  const base = { host: ctx.host, address: ctx.address, code, cause: e };
  if (ctx.aborted)
    return new NetError(`request to ${ctx.host} cancelled`, { ...base, kind: "aborted", phase: ctx.phase, code: code ?? "ABORTED" });
  if (ctx.deadline) {
    return new NetError(`no ${ctx.phase === "body" ? "body" : "answer"} from ${ctx.host} within ${ctx.timeoutMs} ms (${ctx.phase})`, {
      ...base,
      kind: "timeout",
      phase: ctx.phase,
      code: "ETIMEDOUT",
    });
  }
  // undici's proxy errors: a CONNECT answered with non-200, or a 407 on a forwarded request.
  const proxyStatus = /Proxy response \((\d{3})\)|Proxy Authentication Required \((\d{3})\)/.exec(rawMsg);
  if (proxyStatus) {
    const status = proxyStatus[1] ?? proxyStatus[2];
    return new NetError(`proxy ${ctx.viaProxy ?? ""} answered ${status} to the tunnel request for ${ctx.host}`.replace("  ", " "), {
      ...base,
      kind: "proxy",
      phase: "connect",
      code: `HTTP_${status}`,
    });
  }
  const malformed = protocolViolation(code, ctx.phase);
  if (malformed)
    return new NetError(`${malformed} from ${ctx.host}${ctx.address ? ` (${ctx.address})` : ""}`, {
      ...base,
      kind: "protocol",
      phase: "response",
      code: code ?? "HPE",
    });
  const connecting = ctx.phase === "dns" || ctx.phase === "connect";
  let kind: NetError["kind"];
  let phase = ctx.phase;
  if (code && DNS_CODES.has(code)) {
    kind = "dns";
    phase = "dns";
  } else if (code && REFUSED_CODES.has(code)) {
    kind = "refused";
    phase = "connect";
  } else if (code && UNREACHABLE_CODES.has(code)) {
    kind = "other";
    phase = "connect";
  } else if (code && TIMEOUT_CODES.has(code)) {
    kind = "timeout";
    if (code === "UND_ERR_HEADERS_TIMEOUT") phase = "response";
    if (code === "UND_ERR_BODY_TIMEOUT") phase = "body";
  } else if (code && isTlsCode(code)) {
    kind = "tls";
    phase = "tls";
  } else if (code && RESET_CODES.has(code)) {
    kind = "reset";
  } else if (code === "UND_ERR_ABORTED" || (e as Error)?.name === "AbortError") {
    kind = "aborted";
  } else {
    kind = "other";
  }
  // A failure while reaching a proxy is the proxy's, not the registry's.
  if (ctx.viaProxy && connecting && kind !== "tls") kind = kind === "dns" || kind === "refused" || kind === "timeout" ? kind : "proxy";
  return new NetError(`${describe(kind, phase)} ${ctx.host}${ctx.address ? ` (${ctx.address})` : ""}: ${code ? `${code} ` : ""}${rawMsg}`, {
    ...base,
    kind,
    phase,
  });
}

/**
 * A response that is not HTTP we will read: headers over the limit, or bytes llhttp refuses in
 * the head (a control character in a header value). undici reports the latter as a length
 * mismatch when Content-Length came before the bad header; before the head is complete no
 * body can mismatch, so there it means the head did not parse.
 */
function protocolViolation(code: string | undefined, phase: NetErrorPhase): string | null {
  if (code === "UND_ERR_HEADERS_OVERFLOW")
    return `response headers larger than ${MAX_RESPONSE_HEADER_BYTES / (1024 * 1024)} MiB (pulldoctor's limit; Docker's Go client accepts up to 10 MiB)`;
  const head = "a malformed HTTP response head (a control character or another byte HTTP forbids in the status line or a header)";
  if (code?.startsWith("HPE_") || code === "UND_ERR_INFO") return head;
  if (code === "UND_ERR_RES_CONTENT_LENGTH_MISMATCH" && phase !== "body") return head;
  return null;
}

function describe(kind: NetError["kind"], phase: NetErrorPhase): string {
  switch (kind) {
    case "dns":
      return "cannot resolve";
    case "refused":
      return "connection refused by";
    case "timeout":
      return `timeout (${phase}) talking to`;
    case "reset":
      return `connection reset (${phase}) by`;
    case "tls":
      return "TLS handshake failed with";
    case "proxy":
      return "proxy failed reaching";
    case "aborted":
      return "cancelled request to";
    default:
      return `${phase} failed for`;
  }
}
