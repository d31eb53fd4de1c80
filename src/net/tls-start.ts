import type { X509Certificate } from "node:crypto";
import type net from "node:net";
import type { Secret } from "../model/secret";
import { BunWire, type Wire } from "./bun-wire";
import { NO_ANCHOR } from "./bun-wire-tls";
import { isIP } from "./ip";

// Constructed only once a certificate is in hand: node:crypto is not loaded by a check whose TLS probe meets plain HTTP.
const X509 = () => (require("node:crypto") as typeof import("node:crypto")).X509Certificate;

/*
 * The TLS probes' handshake on a connected socket, with the server's first bytes in view (Go
 * and Docker look at the record header: "HTTP/" means "http: server gave HTTP response to
 * HTTPS client", where BoringSSL only says "wrong version number").
 *  - A socket of our own (BunWire, net/tcp.ts): Bun's TLS upgrade, whose raw side goes on
 *    showing the bytes as they arrive.
 *  - A node:net socket (a proxy's CONNECT tunnel, net/tunnel.ts): node:tls over a tapped
 *    stream, loaded only then (docs/performance.md, "Sockets without node:net").
 */

/** What the probes read from a completed handshake: node's TLSSocket and BunWire both have it. */
export interface TlsSession extends Wire {
  getPeerCertificate(detailed: boolean): unknown;
  getProtocol(): string | null;
  getCipher(): { name: string } | undefined;
  readonly alpnProtocol: string | false | null;
}

export interface HandshakeOptions {
  servername: string;
  /** certs.d CAs: the TLS library's only trust (none: an anchor nothing chains to). */
  ca: string[];
  cert?: string;
  key?: Secret;
}

/** Starts the handshake (verification off: the caller judges the chain); throws on a TLS configuration that cannot load. */
export function startHandshake(raw: Wire, o: HandshakeOptions): { ts: TlsSession; first: () => string } {
  // Go sends no SNI for an IP literal (RFC 6066); neither do we.
  const servername = isIP(o.servername) ? undefined : o.servername;
  // Trust is judged by judgeTrust, never by the TLS library, whose store is therefore only the
  // certs.d CAs, or an anchor nothing chains to: loading the runtime's 140 roots into a TLS
  // context cost ≈ 3.5 ms of every check (docs/performance.md, "Sockets without node:net").
  const ca = o.ca.length ? o.ca : [NO_ANCHOR];
  // Docker's registry transport has a custom TLS config and so speaks HTTP/1.1 only.
  const alpn = ["http/1.1"];
  if (raw instanceof BunWire) {
    let first = Buffer.alloc(0);
    raw.on("data", (c: Buffer) => {
      if (first.length < 64) first = Buffer.concat([first, c]).subarray(0, 64);
    });
    const ts = raw.startTls({ serverName: servername, ca, cert: o.cert, key: o.key?.reveal(), rejectUnauthorized: false, alpn });
    return { ts, first: () => printable(first) };
  }
  const { tap } = require("./tls-tap") as typeof import("./tls-tap");
  const { stream, first } = tap(raw as net.Socket);
  const ts = (require("node:tls") as typeof import("node:tls")).connect({
    socket: stream as unknown as net.Socket,
    servername,
    ca,
    cert: o.cert,
    key: o.key?.reveal(),
    rejectUnauthorized: false,
    ALPNProtocols: alpn,
  });
  return { ts: ts as unknown as TlsSession, first };
}

function printable(b: Buffer): string {
  return b.toString("latin1").replace(/[^\x20-\x7e\r\n]/g, ".");
}

/** The chain as the TLS library reports it: leaf first, as the server sent it (plus the certs.d CA that verified it, if one did). */
export function peerChain(ts: { getPeerCertificate(detailed: boolean): unknown }): X509Certificate[] {
  const out: X509Certificate[] = [];
  const seen = new Set<string>();
  let c = ts.getPeerCertificate(true) as import("node:tls").DetailedPeerCertificate | undefined;
  while (c?.raw && !seen.has(c.fingerprint256)) {
    seen.add(c.fingerprint256);
    try {
      out.push(new (X509())(c.raw));
    } catch {
      break;
    }
    c = c.issuerCertificate;
  }
  return out;
}
