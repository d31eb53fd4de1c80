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
  p: { proxy: string; variable: string; host: string; credentialsSent: boolean; username: string | null; timeoutMs: number },
): Finding {
  // The failing hop first: which proxy (credentials already stripped) and which CONNECT target.
  const ev: Evidence = { proxy: p.proxy, target: p.host, ...tunnelErrorEvidence(e) };
  const address = p.proxy.replace(/^\w+:\/\//, "").replace(/\/.*$/, "");
  switch (e.kind) {
    case "auth-required": {
      const challenge = e.proxyAuthenticate ?? "";
      const schemes = [
        ...new Set([...challenge.matchAll(/(?:^|,\s*)([A-Za-z][\w-]*)(?=\s|,|$)/g)].map((m) => m[1]!).filter((s) => !s.includes("="))),
      ];
      return finding(
        "PROXY_AUTH_REQUIRED",
        {
          proxy: p.proxy,
          variable: p.variable,
          host: p.host,
          status: e.status ?? 407,
          scheme: schemes.join(" / "),
          challenge,
          credentialsSent: p.credentialsSent,
          username: p.username,
        },
        ev,
      );
    }
    case "refused":
      return finding(
        "PROXY_CONNECT_REFUSED",
        {
          proxy: p.proxy,
          variable: p.variable,
          host: p.host,
          status: e.status ?? 0,
          statusLine: e.statusLine ?? "",
          server: e.headers?.server ?? null,
        },
        ev,
      );
    default: {
      const failure =
        e.kind === "unreachable"
          ? e.code === "ECONNREFUSED"
            ? "refused"
            : e.code === "ETIMEDOUT"
              ? "timeout"
              : e.code === "ENOTFOUND" || e.code === "EAI_AGAIN"
                ? "dns"
                : "other"
          : e.kind === "timeout"
            ? e.code === "ABORTED"
              ? "other"
              : "silent"
            : e.phase === "proxy-tls"
              ? /first record|handshake timeout/.test(e.message)
                ? "not-tls"
                : "other"
              : e.phase === "dial"
                ? "unsupported"
                : e.code === "EOF"
                  ? "closed"
                  : /does not speak HTTP|malformed status/.test(e.message)
                    ? "not-http"
                    : "other";
      return finding(
        "PROXY_UNREACHABLE",
        { proxy: p.proxy, variable: p.variable, address, host: p.host, failure, message: e.message, timeoutMs: p.timeoutMs },
        ev,
      );
    }
  }
}

/** Pure: Docker's (daemon) decision against this shell's; a finding when they differ. */
