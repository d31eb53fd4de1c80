import type { TcpProbe } from "../net/tcp";
import type { TlsProbe } from "../net/tls";

/** What one address (or the proxy tunnel) gave: the input of the pure judge. */
export interface HopResult {
  /** "127.0.0.1:5000", "[::1]:5000", or "proxy http://proxy:3128 → registry:443". */
  target: string;
  tcp: Pick<TcpProbe, "ok" | "durationMs" | "error">;
  tls: TlsProbe | null;
  /** Insecure registries only: what a plain-HTTP retry on the same address got (Docker's fallback). */
  httpFallback?: { ok: boolean; firstLine: string | null; error: string | null; durationMs: number };
}

export type Problem =
  | { code: "CONNECT_REFUSED" | "CONNECT_TIMEOUT"; target: string; message: string }
  | { code: "CONNECT_RESET"; target: string; message: string; phase: string }
  | { code: "TLS_HTTP_ONLY"; target: string; firstLine: string }
  | { code: "TLS_HANDSHAKE_FAILED"; target: string; reason: string; alert: string | null; clientCert: string | null }
  | { code: "TLS_EXPIRED"; target: string; tls: TlsProbe }
  | { code: "TLS_HOSTNAME_MISMATCH"; target: string; tls: TlsProbe }
  | { code: "TLS_UNKNOWN_CA"; target: string; tls: TlsProbe };

export interface HopVerdict {
  /** Docker could use this hop: TCP up and either TLS acceptable, or (insecure) a plain-HTTP answer. */
  usable: boolean;
  scheme: "https" | "http" | null;
  problems: Problem[];
}

/**
 * One hop as Docker would judge it. `insecure`: Docker skips verification and falls back to
 * plain HTTP (so certificate problems and an HTTP answer do not stop it); a failed handshake
 * (alert, reset, silence) stops it unless the plain-HTTP retry (`httpFallback`, probed by the
 * stage) got an HTTP answer. `plainHttp`: the endpoint URL is http:// (TCP only).
 */
export function judgeHop(h: HopResult, o: { insecure: boolean; plainHttp: boolean }): HopVerdict {
  if (!h.tcp.ok) {
    const kind = h.tcp.error?.kind ?? "other";
    const message = h.tcp.error?.message ?? "connect failed";
    if (kind === "reset")
      return { usable: false, scheme: null, problems: [{ code: "CONNECT_RESET", target: h.target, message, phase: "while connecting" }] };
    if (kind === "timeout") return { usable: false, scheme: null, problems: [{ code: "CONNECT_TIMEOUT", target: h.target, message }] };
    // refused, unreachable (no route: the kernel refuses at once) and the rest.
    return { usable: false, scheme: null, problems: [{ code: "CONNECT_REFUSED", target: h.target, message }] };
  }
  if (o.plainHttp || !h.tls) return { usable: true, scheme: "http", problems: [] };
  const t = h.tls;
  if (!t.ok) {
    const v = judgeFailedTls(h, t, o);
    // Docker retries an insecure registry over plain HTTP after any HTTPS failure: when that
    // retry got an HTTP answer, the hop carries the pull (the TLS problem stays a warning).
    return o.insecure && h.httpFallback?.ok ? { ...v, usable: true, scheme: "http" } : v;
  }
  const problems: Problem[] = [];
  // Go's order: validity, then the name, then the authority; all are reported.
  if (t.validity && t.validity.state !== "valid") problems.push({ code: "TLS_EXPIRED", target: h.target, tls: t });
  if (!t.hostnameOk) problems.push({ code: "TLS_HOSTNAME_MISMATCH", target: h.target, tls: t });
  if (t.trust && !t.trust.trusted) problems.push({ code: "TLS_UNKNOWN_CA", target: h.target, tls: t });
  return { usable: problems.length === 0 || o.insecure, scheme: "https", problems };
}

function judgeFailedTls(h: HopResult, t: TlsProbe, o: { insecure: boolean }): HopVerdict {
  const e = t.error;
  if (e?.kind === "http-response") {
    const firstLine = (t.firstBytes ?? "HTTP/").split(/\r?\n/)[0]!;
    return { usable: o.insecure, scheme: o.insecure ? "http" : null, problems: [{ code: "TLS_HTTP_ONLY", target: h.target, firstLine }] };
  }
  if (e?.kind === "reset")
    return {
      usable: false,
      scheme: null,
      problems: [
        { code: "CONNECT_RESET", target: h.target, message: e.message, phase: "during the TLS handshake (after the ClientHello)" },
      ],
    };
  const reason =
    e?.kind === "timeout" ? "net/http: TLS handshake timeout (TCP connected, no TLS answer)" : (e?.message ?? "handshake failed");
  return {
    usable: false,
    scheme: null,
    problems: [{ code: "TLS_HANDSHAKE_FAILED", target: h.target, reason, alert: t.alert ?? null, clientCert: t.clientCert ?? null }],
  };
}

/** "[::1]:5000 connected; 10.0.0.9:5000 refused" for the hops other than `target`. */
export function describeOthers(all: HopResult[], verdicts: HopVerdict[], target: string): { text: string; ok: boolean } {
  const parts: string[] = [];
  let ok = false;
  all.forEach((h, i) => {
    if (h.target === target) return;
    const v = verdicts[i]!;
    if (v.usable) ok = true;
    parts.push(
      `${h.target} ${h.tcp.ok ? (v.usable ? "connected" : `connected, then ${v.problems[0]?.code ?? "failed"}`) : (h.tcp.error?.kind ?? "failed")}`,
    );
  });
  return { text: parts.length ? parts.join("; ") : "no other address to try", ok };
}
