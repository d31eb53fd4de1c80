export type TlsErrorKind = "http-response" | "handshake" | "timeout" | "reset" | "refused" | "other";

/** TLS alert names (BoringSSL's ALERT_*) in Go's words (crypto/tls alert.go). */
const ALERTS: Record<string, string> = {
  CERTIFICATE_REQUIRED: "certificate required",
  BAD_CERTIFICATE: "bad certificate",
  HANDSHAKE_FAILURE: "handshake failure",
  UNKNOWN_CA: "unknown certificate authority",
  PROTOCOL_VERSION: "protocol version not supported",
  INTERNAL_ERROR: "internal error",
  UNRECOGNIZED_NAME: "unrecognized name",
  ACCESS_DENIED: "access denied",
  CERTIFICATE_UNKNOWN: "unknown certificate",
  DECRYPT_ERROR: "error decrypting message",
  ILLEGAL_PARAMETER: "illegal parameter",
  NO_APPLICATION_PROTOCOL: "no application protocol",
  INSUFFICIENT_SECURITY: "insufficient security level",
};

/** A TLS error (code + message) → kind, alert and Go-like text. Pure; table-tested. */
export function classifyTlsError(
  code: string | undefined,
  message: string,
  firstBytes: string,
): { kind: TlsErrorKind; alert: string | null; message: string } {
  if (firstBytes.startsWith("HTTP/"))
    return { kind: "http-response", alert: null, message: "http: server gave HTTP response to HTTPS client" };
  const m = /ALERT_([A-Z_]+)/.exec(`${code ?? ""} ${message}`);
  if (m) {
    const words = ALERTS[m[1]!] ?? m[1]!.toLowerCase().replace(/_/g, " ");
    return { kind: "handshake", alert: words, message: `remote error: tls: ${words}` };
  }
  if (code === "ECONNRESET" || code === "EPIPE") return { kind: "reset", alert: null, message: "read: connection reset by peer" };
  if (code === "ECONNREFUSED") return { kind: "refused", alert: null, message: "connect: connection refused" };
  if (code === "ETIMEDOUT") return { kind: "timeout", alert: null, message: "net/http: TLS handshake timeout" };
  if (code === "EOF") return { kind: "handshake", alert: null, message: "EOF (the server closed the connection during the TLS handshake)" };
  if (/WRONG_VERSION_NUMBER|PACKET_LENGTH|RECORD|UNEXPECTED_MESSAGE/i.test(`${code} ${message}`)) {
    return { kind: "handshake", alert: null, message: `tls: first record does not look like a TLS handshake (${message})` };
  }
  return { kind: code?.startsWith("ERR_SSL") ? "handshake" : "other", alert: null, message };
}
