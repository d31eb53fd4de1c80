import type { Json } from "../model/evidence";
import type { Secret } from "../model/secret";
import type { Wire } from "./bun-wire";
import { isIP } from "./ip";
import { settleOnce } from "./settle";
import { tcpProbe } from "./tcp";
import { classifyTlsError, type TlsErrorKind } from "./tls-errors";
import { peerChain, startHandshake, type TlsSession } from "./tls-start";
import { type CertInfo, certInfo, judgeHostname, judgeTrust, judgeValidity, type TrustResult, type ValidityResult } from "./x509-info";

// Constructed only once a certificate is in hand: node:crypto is not loaded (and compiled) by a
// check whose TLS probe meets a plain-HTTP registry.
const X509 = () => (require("node:crypto") as typeof import("node:crypto")).X509Certificate;

export type { TlsErrorKind } from "./tls-errors";
export type { CertInfo } from "./x509-info";

export interface TlsProbe {
  /** Handshake completed (verification judged separately). */
  ok: boolean;
  durationMs: number;
  protocol: string | null;
  cipher: string | null;
  alpn: string | null;
  chain: CertInfo[];
  chainPem: string[];
  /** Chain trusted (system store + opts.ca) and every certificate valid at opts.now. */
  verified: boolean;
  verifyError: { code: string; message: string } | null;
  hostnameOk: boolean;
  error: { kind: TlsErrorKind; code: string; message: string } | null;
  /** Extensions beyond the shared contract (all optional for other callers). */
  trust?: TrustResult;
  validity?: ValidityResult;
  /** Go's text for the name check failure. */
  hostnameError?: string | null;
  /** First bytes the server answered with when it was not TLS (printable, ≤ 64). */
  firstBytes?: string;
  /** A TLS alert from the server, in Go's words ("certificate required"). */
  alert?: string | null;
  /** The client certificate offered (subject), if any. */
  clientCert?: string | null;
  /** The server's clock (its HTTP Date header), when asked for and answered. */
  serverDate?: string | null;
}

export interface TlsProbeOptions {
  servername: string;
  address?: string;
  port: number;
  socket?: Wire;
  ca: string[];
  cert?: string;
  key?: Secret;
  timeoutMs: number;
  signal?: AbortSignal;
  now: Date;
  /** When a certificate is outside its window, read the server's clock (HTTP Date of HEAD /v2/). */
  askServerDate?: boolean;
}

/** BoringSSL/OpenSSL alert reasons → Go's "remote error: tls: …" words. */
function ms(start: number): number {
  return Math.round((performance.now() - start) * 10) / 10;
}

function empty(start: number, error: TlsProbe["error"], extra: Partial<TlsProbe> = {}): TlsProbe {
  return {
    ok: false,
    durationMs: ms(start),
    protocol: null,
    cipher: null,
    alpn: null,
    chain: [],
    chainPem: [],
    verified: false,
    verifyError: null,
    hostnameOk: false,
    error,
    ...extra,
  };
}

/**
 * One TLS handshake, as a Go client would make it, on a given socket (a proxy tunnel) or a
 * new TCP connection to address:port. Verification is done here, not by the TLS library,
 * so that one handshake tells everything: trust (system store + opts.ca), validity against
 * opts.now, and the name check. Never throws; always ends within opts.timeoutMs.
 */
export async function tlsProbe(opts: TlsProbeOptions): Promise<TlsProbe> {
  const start = performance.now();
  const raw = opts.socket ?? (await dial(opts));
  if (!("write" in raw)) return empty(start, raw);
  const clientCert = opts.cert ? safeSubject(opts.cert) : null;
  return await new Promise<TlsProbe>((resolve) => {
    // Set once the handshake completed: a later alert (TLS 1.3 client-certificate checks) is
    // reported on top of the handshake's facts.
    let shaken: TlsProbe | null = null;
    let ts: TlsSession;
    let first: () => string;
    try {
      ({ ts, first } = startHandshake(raw, opts));
    } catch (e) {
      // A corrupt certs.d CA or client pair: Go fails the same way before sending anything.
      raw.destroy();
      const err = e as NodeJS.ErrnoException;
      return resolve(
        empty(
          start,
          {
            kind: "other",
            code: err.code ?? "ERR_TLS_CONFIG",
            message: `TLS configuration could not be loaded (certs.d CA or client pair): ${err.message}`,
          },
          { clientCert },
        ),
      );
    }
    const failed = (code: string, message: string): TlsProbe => {
      const c = classifyTlsError(code, message, first());
      const fb = first();
      const extra = { alert: c.alert, ...(fb && /^[A-Za-z]/.test(fb) ? { firstBytes: fb } : {}) };
      return empty(start, { kind: c.kind, code, message: c.message }, extra);
    };
    const finish = settleOnce<TlsProbe>((p) => resolve({ ...p, clientCert }), {
      // Go's TLSHandshakeTimeout is 10 s; we use the run's timeout so nothing hangs longer.
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      onTimeout: () => shaken ?? failed("ETIMEDOUT", "timeout"),
      onAbort: () => failed("ABORTED", "aborted"),
      cleanup: () => {
        ts.destroy();
        raw.destroy();
      },
    });
    const fail = (code: string, message: string) => finish(failed(code, message));
    if (opts.signal?.aborted) return;
    ts.once("error", (e: NodeJS.ErrnoException) => {
      if (!shaken) return fail(e.code ?? "EUNKNOWN", e.message);
      const c = classifyTlsError(e.code, e.message, "");
      if (c.alert)
        finish({ ...shaken, ok: false, alert: c.alert, error: { kind: "handshake", code: e.code ?? "EUNKNOWN", message: c.message } });
      else finish(shaken);
    });
    ts.once("close", () => (shaken ? finish(shaken) : fail("EOF", "connection closed")));
    ts.once("secureConnect", () => {
      const result = handshakeFacts(ts, opts, start);
      const validity = result.validity!;
      shaken = result;
      // A certificate outside its window: is it the certificate or this host's clock? Ask the
      // server's clock (the Date header of HEAD /v2/, sent unauthenticated over this connection).
      if (opts.askServerDate && validity.state !== "valid")
        return askServerDate(ts, opts, (serverDate) => {
          shaken = { ...result, serverDate };
          finish(shaken);
        });
      if (result.protocol !== "TLSv1.3") return finish(result);
      // In TLS 1.3 the client finishes first and the server judges the client certificate
      // afterwards: its alert ("certificate required", "bad certificate") comes one round trip
      // later, which is where Go's client sees it too. A request makes that round trip: an answer
      // means no alert is coming (the 'close' and 'error' handlers above see the rest). A server
      // that answers nothing is given max(100 ms, two handshakes), as a fixed wait did for every
      // TLS 1.3 probe (docs/performance.md, "A TLS 1.3 probe that waited 100 ms").
      ts.once("data", () => finish(result));
      headV2(ts, opts);
      setTimeout(() => finish(result), Math.max(100, Math.min(1000, result.durationMs * 2)));
    });
  });
}

/** HEAD /v2/ on the verified-or-not connection; `answer` gets its Date header (ISO), or null. */
function askServerDate(ts: TlsSession, opts: TlsProbeOptions, answer: (date: string | null) => void): void {
  let head = "";
  ts.on("data", (d: Buffer) => {
    head += d.toString("latin1");
    const end = head.indexOf("\r\n\r\n");
    if (end < 0 && head.length < 16_384) return;
    const date = /^date:\s*(.+?)\s*$/im.exec(head.slice(0, end < 0 ? undefined : end))?.[1] ?? null;
    answer(date && !Number.isNaN(Date.parse(date)) ? new Date(date).toISOString() : null);
  });
  headV2(ts, opts);
}

/** An unauthenticated HEAD /v2/ (Docker's first request too), closing the connection after its answer. */
function headV2(ts: TlsSession, opts: TlsProbeOptions): void {
  const host = isIP(opts.servername) === 6 ? `[${opts.servername}]` : opts.servername;
  ts.write(`HEAD /v2/ HTTP/1.1\r\nHost: ${host}:${opts.port}\r\nUser-Agent: pulldoctor\r\nConnection: close\r\n\r\n`);
}

/** What one completed handshake shows: protocol, chain, and the verdicts Go's client would reach. */
function handshakeFacts(ts: TlsSession, opts: TlsProbeOptions, start: number): TlsProbe {
  const xs = peerChain(ts);
  const trust = judgeTrust(xs, opts.ca);
  const validity = judgeValidity(xs, opts.now);
  const hostnameError = xs[0] ? judgeHostname(opts.servername, xs[0]) : "no certificate";
  const verifyError = verifyErrorOf(trust, validity);
  return {
    ok: true,
    durationMs: ms(start),
    protocol: ts.getProtocol() ?? null,
    cipher: ts.getCipher()?.name ?? null,
    alpn: typeof ts.alpnProtocol === "string" ? ts.alpnProtocol : null,
    chain: xs.map(certInfo),
    chainPem: xs.map((x) => x.toString()),
    verified: verifyError === null,
    verifyError,
    hostnameOk: hostnameError === null,
    error: null,
    trust,
    validity,
    hostnameError,
  };
}

/** A new TCP connection for the handshake, or why there is none (in TLS terms: refused, timeout). */
async function dial(opts: TlsProbeOptions): Promise<Wire | NonNullable<TlsProbe["error"]>> {
  let kept: Wire | undefined;
  const tcp = await tcpProbe(opts.address ?? opts.servername, opts.port, {
    timeoutMs: opts.timeoutMs,
    signal: opts.signal,
    keep: (s) => {
      kept = s;
    },
  });
  if (tcp.ok && kept) return kept;
  const c = classifyTlsError(tcp.error?.code, tcp.error?.message ?? "", "");
  return { kind: c.kind, code: tcp.error?.code ?? "EUNKNOWN", message: tcp.error?.message ?? "connect failed" };
}

/** Go's words for the first problem, in Go's order (validity, then authority). */
/** Go formats times in x509 errors as RFC 3339 without fractions. */
function goTime(iso: string | null): string {
  return (iso ?? "").replace(/\.\d+Z$/, "Z");
}

function verifyErrorOf(trust: TrustResult, v: ValidityResult): { code: string; message: string } | null {
  if (v.state === "expired")
    return {
      code: "CERT_HAS_EXPIRED",
      message: `x509: certificate has expired or is not yet valid: current time ${goTime(v.now)} is after ${goTime(v.notAfter)}`,
    };
  if (v.state === "not-yet-valid")
    return {
      code: "CERT_NOT_YET_VALID",
      message: `x509: certificate has expired or is not yet valid: current time ${goTime(v.now)} is before ${goTime(v.notBefore)}`,
    };
  if (!trust.trusted)
    return {
      code: trust.untrustedRoot ? "SELF_SIGNED_CERT_IN_CHAIN" : "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
      message: "x509: certificate signed by unknown authority",
    };
  return null;
}

function safeSubject(pem: string): string | null {
  try {
    return new (X509())(pem).subject.split("\n").join(",");
  } catch {
    return null;
  }
}

/** The JSON-safe summary of a probe that other hops nest in their evidence (token realm, blob CDN). */
export function tlsProbeEvidence(t: TlsProbe): { [k: string]: Json } {
  return {
    ok: t.ok,
    durationMs: t.durationMs,
    protocol: t.protocol,
    verified: t.verified,
    hostnameOk: t.hostnameOk,
    verifyError: t.verifyError ? { code: t.verifyError.code, message: t.verifyError.message } : null,
    error: t.error ? { kind: t.error.kind, code: t.error.code, message: t.error.message } : null,
    chain: t.chain.map((c) => ({ subject: c.subject, issuer: c.issuer, notAfter: c.notAfter, selfSigned: c.selfSigned })),
  };
}
