import type { TLSOptions } from "bun";

/* node:tls's options and error codes in Bun.connect's terms, for bun-wire.ts. */

export interface WireTls {
  serverName?: string;
  ca?: string[];
  cert?: string;
  key?: string;
  /** false: the handshake completes whatever the certificate (the caller judges it). */
  rejectUnauthorized: boolean;
  alpn?: string[];
}

/**
 * A self-signed certificate whose private key was deleted as soon as it was made (2026-12-07), so
 * that nothing is issued by it: as the TLS library's only trust anchor, it trusts nothing.
 */
export const NO_ANCHOR = `-----BEGIN CERTIFICATE-----
MIIBxjCCAWugAwIBAgIUEi/FYpZzJ3Kt5v9cot7VaCDLgA8wCgYIKoZIzj0EAwIw
NzE1MDMGA1UEAwwscHVsbGRvY3RvciBUTFMgcHJvYmUgYW5jaG9yICh0cnVzdHMg
bm90aGluZykwIBcNMjYxMjA3MDMwMDAwWhgPMjEyNjExMTMwMzAwMDBaMDcxNTAz
BgNVBAMMLHB1bGxkb2N0b3IgVExTIHByb2JlIGFuY2hvciAodHJ1c3RzIG5vdGhp
bmcpMFkwEwYHKoZIzj0CAQYIKoZIzj0DAQcDQgAEUR2AWyfaO8iXlaDYuJuP3BAH
sihyf4CZc8Unx4COPA8QgxTfM+Isp/F5g6pKcmo5t5RftdyKA3lShAfzDu3Pk6NT
MFEwHQYDVR0OBBYEFH+TwcABq5Zr8LE0c36kKxT/58JYMB8GA1UdIwQYMBaAFH+T
wcABq5Zr8LE0c36kKxT/58JYMA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwID
SQAwRgIhAPYP5K+JOi90OCkYuOtDrNYVEx7G+dxYL+Hkb2s8RPJ5AiEAoa9O8G/F
GfFwFlFRsIDGYD3BKvSvxnTrL9/fs6kJQLI=
-----END CERTIFICATE-----`;

/** "error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER" → ERR_SSL_WRONG_VERSION_NUMBER, as node:tls names it. */
export function nodeCode(e: Error & { code?: string }): Error {
  const reason = /OPENSSL_internal:([A-Z0-9_]+)/.exec(e.message)?.[1];
  if (reason && (!e.code || e.code === "EPROTO")) e.code = `ERR_SSL_${reason}`;
  return e;
}

/** A certificate verification failure (X.509 or the name check), not a failed handshake or a socket error. */
export function isVerifyError(e: Error & { code?: string }): boolean {
  const code = e.code ?? "";
  return code !== "" && !code.startsWith("ERR_SSL_") && !/^E[A-Z]+$/.test(code);
}

/** ALPN protocol names in the wire format Bun.connect takes (each length-prefixed). */
function alpnWire(names: string[]): Buffer {
  return Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n, "latin1")])));
}

export function tlsOptions(t: WireTls): TLSOptions & Record<string, unknown> {
  return {
    rejectUnauthorized: false,
    ...(t.serverName ? { serverName: t.serverName } : {}),
    // Nothing to verify with: a store that trusts nothing spares loading the runtime's 140 roots (≈ 3.5 ms).
    ...(t.ca ? { ca: t.ca } : t.rejectUnauthorized ? {} : { ca: [NO_ANCHOR] }),
    ...(t.cert ? { cert: t.cert } : {}),
    ...(t.key ? { key: t.key } : {}),
    ...(t.alpn ? { ALPNProtocols: alpnWire(t.alpn) } : {}),
  };
}
