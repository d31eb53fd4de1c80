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

/** "error:100000f7:SSL routines:OPENSSL_internal:WRONG_VERSION_NUMBER" → ERR_SSL_WRONG_VERSION_NUMBER, as node:tls names it. */
export function nodeCode(e: Error & { code?: string }): Error {
  const reason = /OPENSSL_internal:([A-Z0-9_]+)/.exec(e.message)?.[1];
  if (reason && (!e.code || e.code === "EPROTO")) e.code = `ERR_SSL_${reason}`;
  return e;
}

/** ALPN protocol names in the wire format Bun.connect takes (each length-prefixed). */
/** A certificate verification failure (X.509 or the name check), not a failed handshake or a socket error. */
export function isVerifyError(e: Error & { code?: string }): boolean {
  const code = e.code ?? "";
  return code !== "" && !code.startsWith("ERR_SSL_") && !/^E[A-Z]+$/.test(code);
}

function alpnWire(names: string[]): Buffer {
  return Buffer.concat(names.map((n) => Buffer.concat([Buffer.from([n.length]), Buffer.from(n, "latin1")])));
}

export function tlsOptions(t: WireTls): TLSOptions & Record<string, unknown> {
  return {
    rejectUnauthorized: false,
    ...(t.serverName ? { serverName: t.serverName } : {}),
    ...(t.ca ? { ca: t.ca } : {}),
    ...(t.cert ? { cert: t.cert } : {}),
    ...(t.key ? { key: t.key } : {}),
    ...(t.alpn ? { ALPNProtocols: alpnWire(t.alpn) } : {}),
  };
}
