import type { X509Certificate } from "node:crypto";
import type net from "node:net";
import tls from "node:tls";
import { isIP } from "./ip";
import { settleOnce } from "./settle";
import { peerChain } from "./tls-start";
import { systemAnchors } from "./trust-store";

export interface PeekedCert {
  subject: string;
  issuer: string;
  fingerprint256: string;
  notAfter: string;
}

export type TlsPeek =
  | { ok: true; chain: PeekedCert[]; x509: X509Certificate[]; protocol: string | null; durationMs: number }
  | { ok: false; error: { code: string; message: string }; durationMs: number };

function dn(s: string): string {
  return s.split("\n").filter(Boolean).join(", ");
}

/**
 * A TLS handshake with verification off, to read the certificate chain the peer presents
 * (over a CONNECT tunnel socket, or directly to address:port). SNI is the registry host, as
 * Go sends it (none for an IP literal). Never throws; never hangs beyond timeoutMs.
 */
export function peekTls(opts: {
  socket?: net.Socket;
  address?: string;
  port?: number;
  servername: string;
  timeoutMs: number;
  signal?: AbortSignal;
}): Promise<TlsPeek> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const s = tls.connect({
      ...(opts.socket ? { socket: opts.socket } : { host: opts.address, port: opts.port }),
      servername: isIP(opts.servername) ? undefined : opts.servername,
      rejectUnauthorized: false,
      ALPNProtocols: ["http/1.1"],
    });
    const failure = (code: string, message: string): TlsPeek => ({ ok: false, error: { code, message }, durationMs: elapsed() });
    const finish = settleOnce(resolve, {
      timeoutMs: opts.timeoutMs,
      signal: opts.signal,
      onTimeout: () => failure("ETIMEDOUT", `TLS handshake did not complete within ${opts.timeoutMs} ms`),
      onAbort: () => failure("ABORTED", "cancelled"),
      cleanup: () => s.destroy(),
    });
    if (opts.signal?.aborted) return;
    s.once("error", (e: NodeJS.ErrnoException) => finish(failure(e.code ?? "ERROR", e.message)));
    s.once("secureConnect", () => {
      const x509 = peerChain(s);
      const chain = x509.map((x) => ({
        subject: dn(x.subject),
        issuer: dn(x.issuer),
        fingerprint256: x.fingerprint256,
        notAfter: new Date(x.validTo).toISOString(),
      }));
      finish({ ok: true, chain, x509, protocol: s.getProtocol(), durationMs: elapsed() });
    });
  });
}

/**
 * The CA store Go (and so dockerd) uses when no certs.d CA is added: the host's own store
 * (/etc/ssl/certs, where update-ca-certificates puts a corporate root), bundled roots as
 * the fallback. Shared with the connect stage.
 */
export function systemRootCas(): X509Certificate[] {
  return systemAnchors().anchors.all.flatMap((a) => a.x509() ?? []);
}

/** Whether any certificate of `chain` is one of `cas`, or is signed by one of them. */
export function chainTrustedBy(chain: readonly X509Certificate[], cas: readonly X509Certificate[]): boolean {
  for (const cert of chain) {
    for (const ca of cas) {
      if (cert.fingerprint256 === ca.fingerprint256) return true;
      if (cert.checkIssued(ca) && cert.verify(ca.publicKey)) return true;
    }
  }
  return false;
}
