import type { ProxyFailure, ProxyOwner } from "../model/catalogue/proxy";
import type { Evidence } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import { redactHeaders } from "../model/redact";
import type { TunnelError } from "../net/tunnel";

export function tunnelErrorEvidence(e: TunnelError): Evidence {
  const ev: Evidence = {
    error: e.message,
    kind: e.kind,
    phase: e.phase,
    code: e.code,
    status: e.status,
    statusLine: e.statusLine,
    proxyAuthenticate: e.proxyAuthenticate,
    durationMs: e.durationMs,
  };
  if (e.headers) ev.headers = redactHeaders(e.headers) as Evidence;
  // Only what this failure has: no null noise for support to read past.
  for (const k of Object.keys(ev)) if (ev[k] === undefined) delete ev[k];
  return ev;
}

/** Pure: a CONNECT failure as the finding a support engineer needs. */
export function classifyTunnelError(
  e: TunnelError,
  p: {
    proxy: string;
    variable: string;
    host: string;
    credentialsSent: boolean;
    username: string | null;
    timeoutMs: number;
    owner?: ProxyOwner;
  },
): Finding {
  // The failing hop first: which proxy (credentials already stripped) and which CONNECT target.
  const ev: Evidence = { proxy: p.proxy, target: p.host, ...tunnelErrorEvidence(e) };
  const hop = { proxy: p.proxy, variable: p.variable, host: p.host };
  switch (e.kind) {
    case "auth-required": {
      const challenge = e.proxyAuthenticate ?? "";
      const schemes = [
        ...new Set([...challenge.matchAll(/(?:^|,\s*)([A-Za-z][\w-]*)(?=\s|,|$)/g)].map((m) => m[1]!).filter((s) => !s.includes("="))),
      ];
      const auth = { credentialsSent: p.credentialsSent, username: p.username, owner: p.owner };
      return finding("PROXY_AUTH_REQUIRED", { ...hop, status: e.status ?? 407, scheme: schemes.join(" / "), challenge, ...auth }, ev);
    }
    case "refused": {
      const answer = { status: e.status ?? 0, statusLine: e.statusLine ?? "", server: e.headers?.server ?? null };
      return finding("PROXY_CONNECT_REFUSED", { ...hop, ...answer }, ev);
    }
    default: {
      const address = p.proxy.replace(/^\w+:\/\//, "").replace(/\/.*$/, "");
      const failure = unreachableFailure(e);
      return finding("PROXY_UNREACHABLE", { ...hop, address, failure, message: e.message, timeoutMs: p.timeoutMs, owner: p.owner }, ev);
    }
  }
}

/** PROXY_UNREACHABLE's `failure`: which way the dial, the proxy's TLS or its first answer went wrong. */
function unreachableFailure(e: TunnelError): ProxyFailure {
  if (e.kind === "unreachable") {
    if (e.code === "ECONNREFUSED") return "refused";
    if (e.code === "ETIMEDOUT") return "timeout";
    return e.code === "ENOTFOUND" || e.code === "EAI_AGAIN" ? "dns" : "other";
  }
  if (e.kind === "timeout") return e.code === "ABORTED" ? "other" : "silent";
  if (e.phase === "proxy-tls") return /first record|handshake timeout/.test(e.message) ? "not-tls" : "other";
  if (e.phase === "dial") return "unsupported";
  if (e.code === "EOF") return "closed";
  return /does not speak HTTP|malformed status/.test(e.message) ? "not-http" : "other";
}

/** Pure: Docker's (daemon) decision against this shell's; a finding when they differ. */
