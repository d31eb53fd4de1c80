import { expect, test } from "bun:test";
import { connect } from "../../src/model/catalogue/connect";
import { finding } from "../../src/model/finding";

/** Every connect entry renders with the parameter shapes the stage passes: no "undefined", no throw. */
const tcp = { host: "registry.example.com:5000", target: "10.0.0.5:5000", others: "no other address to try", otherOk: false, port: 5000 };
const cert = {
  host: "registry.example.com:5000",
  target: "10.0.0.5:5000",
  certsPath: "/etc/docker/certs.d/registry.example.com:5000",
  subject: "CN=registry.example.com",
  issuer: "CN=Example CA",
};
const cases: [keyof typeof connect, Record<string, unknown>][] = [
  ["CONNECT_REFUSED", tcp],
  ["CONNECT_REFUSED", { ...tcp, target: "proxy http://proxy:3128/ → registry.example.com:5000", error: "Forbidden" }],
  ["CONNECT_TIMEOUT", { ...tcp, timeoutMs: 15000, otherOk: true, others: "[2001:db8::5]:5000 connected" }],
  ["CONNECT_RESET", { ...tcp, phase: "during the TLS handshake (after the ClientHello)" }],
  ["TLS_UNKNOWN_CA", { ...cert, missingIssuer: "CN=Example CA", untrustedRoot: null, certsDCas: 0, sent: 1 }],
  ["TLS_UNKNOWN_CA", { ...cert, missingIssuer: null, untrustedRoot: "CN=registry.example.com", certsDCas: 1, sent: 1 }],
  [
    "TLS_UNKNOWN_CA",
    { ...cert, certsPath: "", missingIssuer: "CN=Zscaler Root CA", untrustedRoot: null, certsDCas: 0, sent: 2, issuerUrl: null },
  ],
  [
    "TLS_EXPIRED",
    {
      ...cert,
      state: "expired",
      notBefore: "2020-01-01T00:00:00.000Z",
      notAfter: "2020-01-02T00:00:00.000Z",
      now: "2026-11-23T00:00:00.000Z",
      serverDate: "2026-11-23T00:00:01.000Z",
    },
  ],
  [
    "TLS_EXPIRED",
    {
      ...cert,
      state: "not-yet-valid",
      notBefore: "2027-01-01T00:00:00.000Z",
      notAfter: "2028-01-01T00:00:00.000Z",
      now: "2026-11-23T00:00:00.000Z",
    },
  ],
  [
    "TLS_HOSTNAME_MISMATCH",
    {
      ...cert,
      name: "10.0.0.5",
      names: ["DNS:registry.example.com"],
      message: "x509: cannot validate certificate for 10.0.0.5 because it doesn't contain any IP SANs",
    },
  ],
  [
    "TLS_HOSTNAME_MISMATCH",
    { ...cert, name: "reg", names: [], message: "x509: certificate relies on legacy Common Name field, use SANs instead" },
  ],
  [
    "TLS_HTTP_ONLY",
    { host: "registry.example.com:5000", target: "10.0.0.5:5000", firstLine: "HTTP/1.1 400 Bad Request", configured: false },
  ],
  [
    "TLS_HANDSHAKE_FAILED",
    {
      host: "registry.example.com:5000",
      target: "10.0.0.5:5000",
      reason: "remote error: tls: certificate required",
      alert: "certificate required",
      clientCert: null,
      certsPath: cert.certsPath,
      timeoutMs: 15000,
    },
  ],
  [
    "TLS_HANDSHAKE_FAILED",
    {
      host: "registry.example.com:5000",
      target: "10.0.0.5:5000",
      reason: "net/http: TLS handshake timeout (TCP connected, no TLS answer)",
      alert: null,
      clientCert: "CN=me",
      certsPath: cert.certsPath,
      timeoutMs: 15000,
    },
  ],
  [
    "TLS_HANDSHAKE_FAILED",
    {
      host: "registry.example.com:5000",
      target: "10.0.0.5:5000",
      reason: "remote error: tls: protocol version not supported",
      alert: "protocol version not supported",
      clientCert: null,
      certsPath: cert.certsPath,
      timeoutMs: 15000,
    },
  ],
  [
    "TLS_INSECURE_IN_USE",
    { host: "registry.example.com:5000", why: '"registry.example.com:5000" is in insecure-registries', scheme: "https" },
  ],
  [
    "TLS_INSECURE_IN_USE",
    { host: "registry.example.com:5000", why: "its URL is http://registry.example.com:5000 (plain HTTP)", scheme: "http" },
  ],
  [
    "CERTS_D_INVALID",
    {
      host: "registry.example.com:5000",
      dir: cert.certsPath,
      error: "missing key ca.key for client certificate ca.cert. CA certificates must use the extension .crt",
      file: "ca.cert",
    },
  ],
  [
    "CERTS_D_INVALID",
    {
      host: "registry.example.com:5000",
      dir: cert.certsPath,
      error: "missing client certificate client.cert for key client.key",
      file: "client.key",
    },
  ],
];

test.each(cases)("%s renders", (code, params) => {
  const f = finding(code as any, params as any);
  const text = [f.title, f.detail, ...f.fixes].join("\n");
  expect(text).not.toContain("undefined");
  expect(text).not.toMatch(/(?<!\/dev\/)\bnull\b/);
  expect(text).not.toContain("[object");
  expect(f.fixes.length).toBeGreaterThan(0);
  expect(f.stage).toBe("connect");
});

test("every connect entry is complete, with user-visible messages", () => {
  for (const [code, e] of Object.entries(connect)) {
    expect([
      code,
      e.seen.length > 0 && e.causes.length > 0 && e.genericFixes.length > 0 && e.explain.length > 40 && e.howKnown.length > 20,
    ]).toEqual([code, true]);
  }
  expect(cases.map(([c]) => c).sort()).toEqual(expect.arrayContaining(Object.keys(connect)));
});
