import type { ErrorText } from "./types";

/**
 * Texts of Go's net, crypto/tls, crypto/x509 and net/http packages: docker, containerd, CRI-O
 * and podman are all Go programs, so each prints these inside its own wrapper. They name the
 * cause exactly, but on their own (an API-server error prints them too) they are not a pull error.
 */
const go = (t: Omit<ErrorText, "generic" | "origin">): ErrorText => ({ ...t, generic: true, origin: "upstream" });

/** crypto/x509's HostnameError, which words the one mismatch differently for a name, an IP address and a CN-only certificate. */
const x509Hostname = (pattern: RegExp, phrase: string, variant?: string): ErrorText =>
  go({
    code: "TLS_HOSTNAME_MISMATCH",
    pattern,
    phrase,
    weight: 3,
    source: `golang/go:src/crypto/x509/verify.go (HostnameError.Error${variant ? `, ${variant}` : ""})`,
  });

export const GO_NET_TEXTS: ErrorText[] = [
  go({
    code: "PROXY_UNREACHABLE",
    pattern: /proxyconnect tcp: (?:dial tcp|tls:|EOF)/,
    phrase: "proxyconnect tcp",
    weight: 3,
    source: "golang/go:src/net/http/transport.go (Transport.dialConn)",
  }),
  go({
    code: "PROXY_AUTH_REQUIRED",
    pattern: /Proxy Authentication Required/,
    phrase: "Proxy Authentication Required",
    weight: 3,
    source: "golang/go:src/net/http/transport.go (Transport.dialConn: CONNECT answered 407)",
  }),
  go({
    code: "DNS_NXDOMAIN",
    pattern: /lookup \S+?(?: on \S+)?: no such host/,
    phrase: "lookup … no such host",
    weight: 3,
    source: "golang/go:src/net/dnsclient_unix.go (errNoSuchHost)",
  }),
  go({
    code: "DNS_SERVFAIL",
    pattern: /lookup \S+?(?: on \S+)?: server misbehaving/,
    phrase: "lookup … server misbehaving",
    weight: 3,
    source: "golang/go:src/net/dnsclient_unix.go (errServerMisbehaving)",
  }),
  go({
    code: "DNS_TIMEOUT",
    pattern: /lookup \S+ on \S+: (?:read udp \S+: )?i\/o timeout/,
    phrase: "lookup … i/o timeout",
    weight: 3,
    source: "golang/go:src/net/dnsclient_unix.go (the resolver's read deadline)",
  }),
  go({
    code: "CONNECT_REFUSED",
    pattern: /(?<!proxyconnect tcp: )dial tcp [^\s:]*(?::\d+|\]:\d+)?: connect: connection refused/,
    phrase: "dial tcp … connect: connection refused",
    weight: 3,
    source: "golang/go:src/net/net.go (OpError.Error over ECONNREFUSED)",
  }),
  go({
    code: "CONNECT_TIMEOUT",
    pattern: /(?<!proxyconnect tcp: )dial tcp [^\s:]+(?::\d+|\]:\d+): (?:i\/o timeout|connect: connection timed out)/,
    phrase: "dial tcp ADDRESS: i/o timeout",
    weight: 3,
    source: "golang/go:src/net/net.go (OpError over a dial deadline or ETIMEDOUT)",
  }),
  go({
    code: "CONNECT_RESET",
    pattern: /read: connection reset by peer/,
    phrase: "connection reset by peer",
    weight: 2,
    source: "golang/go:src/net/net.go (OpError over ECONNRESET)",
  }),
  go({
    code: "TLS_UNKNOWN_CA",
    pattern: /x509: certificate signed by unknown authority/,
    phrase: "x509: certificate signed by unknown authority",
    weight: 3,
    source: "golang/go:src/crypto/x509/verify.go (UnknownAuthorityError.Error)",
  }),
  go({
    code: "TLS_EXPIRED",
    pattern: /x509: certificate has expired or is not yet valid/,
    phrase: "x509: certificate has expired or is not yet valid",
    weight: 3,
    source: "golang/go:src/crypto/x509/verify.go (CertificateInvalidError, Expired)",
  }),
  // One entry per wording of HostnameError.Error: "why" quotes the phrase, so it must be the one the text holds.
  x509Hostname(/x509: certificate is valid for .+?, not \S+/, "x509: certificate is valid for …, not …"),
  x509Hostname(
    /x509: cannot validate certificate for \S+ because it doesn't contain any IP SANs/,
    "x509: cannot validate certificate for … because it doesn't contain any IP SANs",
    "an IP address with no IP SANs",
  ),
  x509Hostname(
    /x509: certificate relies on legacy Common Name field/,
    "x509: certificate relies on legacy Common Name field",
    "a certificate without SANs",
  ),
  go({
    code: "TLS_HTTP_ONLY",
    pattern: /http: server gave HTTP response to HTTPS client/,
    phrase: "http: server gave HTTP response to HTTPS client",
    weight: 3,
    source: "golang/go:src/net/http/client.go (send: a TLS record header that reads HTTP/)",
  }),
  go({
    code: "TLS_HANDSHAKE_FAILED",
    pattern: /net\/http: TLS handshake timeout|remote error: tls: [a-z ]+|tls: first record does not look like a TLS handshake/,
    phrase: "TLS handshake timeout / remote error: tls",
    weight: 2,
    source: "golang/go:src/net/http/transport.go (TLS handshake timeout), src/crypto/tls/alert.go",
  }),
  go({
    code: "V2_NO_RESPONSE",
    pattern: /Client\.Timeout exceeded while awaiting headers|net\/http: timeout awaiting response headers/,
    phrase: "timeout awaiting response headers",
    weight: 2,
    source: "golang/go:src/net/http/client.go, transport.go (ResponseHeaderTimeout)",
  }),
];
