import { afterAll, beforeAll, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import { tcpProbe } from "../../src/net/tcp";
import { tlsProbe } from "../../src/net/tls";
import { classifyTlsError } from "../../src/net/tls-errors";
import { judgeHostname, judgeValidity, parseSans } from "../../src/net/x509-info";
import { type CA, fullChain, issueServerCert, type KeyPair, makeCA, makeIntermediate, selfSigned } from "../helpers/pki";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { freePort } from "../peers/require";
import { resetServer, silentServer } from "../peers/tcp-faults";

test.each([
  // [code, message, firstBytes, kind, alert, message contains]
  [
    "ERR_SSL_WRONG_VERSION_NUMBER",
    "wrong version number",
    "HTTP/1.1 400 Bad Request",
    "http-response",
    null,
    "http: server gave HTTP response to HTTPS client",
  ],
  [
    "ERR_SSL_SSLV3_ALERT_CERTIFICATE_REQUIRED",
    "error:1000045c:SSL routines:OPENSSL_internal:SSLV3_ALERT_CERTIFICATE_REQUIRED",
    "",
    "handshake",
    "certificate required",
    "remote error: tls: certificate required",
  ],
  [
    "ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE",
    "SSLV3_ALERT_BAD_CERTIFICATE",
    "",
    "handshake",
    "bad certificate",
    "remote error: tls: bad certificate",
  ],
  [
    "ERR_SSL_TLSV1_ALERT_PROTOCOL_VERSION",
    "TLSV1_ALERT_PROTOCOL_VERSION",
    "",
    "handshake",
    "protocol version not supported",
    "remote error: tls: protocol version",
  ],
  ["ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE", "x", "", "handshake", "handshake failure", "remote error: tls: handshake failure"],
  ["ECONNRESET", "socket hang up", "", "reset", null, "connection reset by peer"],
  ["ETIMEDOUT", "timeout", "", "timeout", null, "TLS handshake timeout"],
  ["EOF", "closed", "", "handshake", null, "EOF"],
  ["ERR_SSL_WRONG_VERSION_NUMBER", "wrong version number", "SSH-2.0-OpenSSH", "handshake", null, "does not look like a TLS handshake"],
] as const)("classifyTlsError(%p)", (code, message, first, kind, alert, text) => {
  const c = classifyTlsError(code, message, first);
  expect(c.kind).toBe(kind);
  expect(c.alert).toBe(alert);
  expect(c.message).toContain(text);
});

let ca: CA;
let other: CA;
let ng: NginxPeer;
const ports: Record<string, number> = {};
const certs: Record<string, KeyPair> = {};
const stops: (() => Promise<void> | void)[] = [];

beforeAll(async () => {
  ca = makeCA("Probe Root CA");
  other = makeCA("Somebody Else CA");
  const inter = makeIntermediate(ca, "Probe Intermediate CA");
  certs.good = issueServerCert(ca, { cn: "registry.test", sans: ["DNS:registry.test", "IP:127.0.0.1"] });
  certs.expired = issueServerCert(ca, {
    cn: "old.test",
    sans: ["IP:127.0.0.1"],
    notBefore: new Date("2020-01-01T00:00:00Z"),
    notAfter: new Date("2020-01-02T00:00:00Z"),
  });
  certs.future = issueServerCert(ca, {
    cn: "future.test",
    sans: ["IP:127.0.0.1"],
    notBefore: new Date(Date.now() + 30 * 86400_000),
    notAfter: new Date(Date.now() + 60 * 86400_000),
  });
  certs.leafOnly = issueServerCert(inter, { cn: "leaf-only.test", sans: ["IP:127.0.0.1"] });
  certs.withChain = { ...certs.leafOnly, certFile: fullChain(certs.leafOnly, inter) };
  const ss = selfSigned({ cn: "self.test", sans: ["IP:127.0.0.1"] });
  stops.push(ss.cleanup);
  certs.self = ss;
  let block = "";
  const pool = await freePorts(Object.keys(certs).length + 1);
  for (const name of Object.keys(certs)) {
    ports[name] = pool.pop()!;
    block += `server { listen 127.0.0.1:${ports[name]} ssl; ssl_certificate ${certs[name]!.certFile}; ssl_certificate_key ${certs[name]!.keyFile}; return 200 "ok"; }\n`;
  }
  ports.plain = pool.pop()!;
  block += `server { listen 127.0.0.1:${ports.plain}; return 200 "plain"; }\n`;
  ng = await startNginx({ httpBlock: block });
});
afterAll(async () => {
  await ng?.stop();
  for (const s of stops) await s();
  ca?.cleanup();
  other?.cleanup();
});

const probe = (name: string, over: Partial<Parameters<typeof tlsProbe>[0]> = {}) =>
  tlsProbe({ servername: "127.0.0.1", address: "127.0.0.1", port: ports[name]!, ca: [ca.cert], timeoutMs: 2000, now: new Date(), ...over });

test("a good chain verifies, with protocol, ALPN and the chain's details", async () => {
  const p = await probe("good", { servername: "registry.test" });
  expect(p).toMatchObject({ ok: true, verified: true, verifyError: null, hostnameOk: true, error: null, alpn: "http/1.1" });
  expect(p.protocol).toMatch(/^TLSv1\.[23]$/);
  expect(p.chain[0]).toMatchObject({
    subject: "CN=registry.test",
    issuer: "CN=Probe Root CA,O=pulldoctor tests",
    sans: ["DNS:registry.test", "IP:127.0.0.1"],
    selfSigned: false,
  });
  expect(p.chain[0]!.fingerprint256).toBe(new X509Certificate(certs.good!.cert).fingerprint256);
  expect(p.trust).toMatchObject({ trusted: true, anchorFromExtra: true });
});

test("without the CA: unknown authority, naming the missing issuer", async () => {
  const p = await probe("good", { ca: [other.cert] });
  expect(p.ok).toBe(true);
  expect(p.verified).toBe(false);
  expect(p.verifyError?.message).toBe("x509: certificate signed by unknown authority");
  expect(p.trust?.missingIssuer).toBe("CN=Probe Root CA,O=pulldoctor tests");
});

test("a self-signed leaf: untrusted root named", async () => {
  const p = await probe("self");
  expect(p.trust).toMatchObject({ trusted: false, untrustedRoot: "CN=self.test" });
  expect(p.chain[0]!.selfSigned).toBe(true);
});

test("leaf without its intermediate: the intermediate is the missing issuer; with the chain it verifies", async () => {
  const a = await probe("leafOnly");
  expect(a.trust).toMatchObject({ trusted: false, missingIssuer: "CN=Probe Intermediate CA" });
  const b = await probe("withChain");
  expect(b.verified).toBe(true);
});

test("expired and not-yet-valid against the injected clock", async () => {
  const e = await probe("expired");
  expect(e.validity?.state).toBe("expired");
  expect(e.verifyError?.message).toMatch(
    /^x509: certificate has expired or is not yet valid: current time \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ is after 2020-01-02T00:00:00Z$/,
  );
  expect(e.validity?.subject).toBe("CN=old.test");
  // A good certificate judged with a clock far ahead (a wrong local clock) is expired too.
  const skewed = await probe("good", { now: new Date("2099-01-01T00:00:00Z") });
  expect(skewed.validity).toMatchObject({ state: "expired", subject: "CN=registry.test", now: "2099-01-01T00:00:00.000Z" });
  expect(skewed.trust?.trusted).toBe(true);
  const f = await probe("future");
  expect(f.validity?.state).toBe("not-yet-valid");
  expect(f.verifyError?.message).toContain("is before");
});

test("name checks as Go: wrong DNS name, IP without IP SANs", async () => {
  const a = await probe("good", { servername: "other.test" });
  expect(a.hostnameOk).toBe(false);
  expect(a.hostnameError).toBe("x509: certificate is valid for registry.test, not other.test");
  const x = new X509Certificate(issueServerCert(ca, { cn: "n", sans: ["DNS:only.test"] }).cert);
  expect(judgeHostname("127.0.0.1", x)).toBe("x509: cannot validate certificate for 127.0.0.1 because it doesn't contain any IP SANs");
  expect(judgeHostname("only.test", x)).toBeNull();
  const cnOnlyPair = selfSigned({ cn: "cn-only.test", sans: [] });
  cnOnlyPair.cleanup();
  const cnOnly = new X509Certificate(cnOnlyPair.cert);
  expect(judgeHostname("cn-only.test", cnOnly)).toBe("x509: certificate relies on legacy Common Name field, use SANs instead");
  expect(parseSans("DNS:a.test, IP Address:10.0.0.1")).toEqual(["DNS:a.test", "IP:10.0.0.1"]);
  expect(judgeValidity([x], new Date("2000-01-01")).state).toBe("not-yet-valid");
});

test("a plain HTTP port: http-response with the first bytes", async () => {
  const p = await probe("plain");
  expect(p.ok).toBe(false);
  expect(p.error).toMatchObject({ kind: "http-response", message: "http: server gave HTTP response to HTTPS client" });
  expect(p.firstBytes).toStartWith("HTTP/1.1 400");
});

test("a silent server: handshake timeout within the timeout", async () => {
  const s = await silentServer();
  stops.push(s.stop);
  const t0 = Date.now();
  const p = await tlsProbe({ servername: "127.0.0.1", address: "127.0.0.1", port: s.port, ca: [], timeoutMs: 600, now: new Date() });
  expect(p.error).toMatchObject({ kind: "timeout", message: "net/http: TLS handshake timeout" });
  expect(Date.now() - t0).toBeLessThan(1500);
});

test("a server that resets after the ClientHello", async () => {
  const s = await resetServer();
  stops.push(s.stop);
  const p = await tlsProbe({ servername: "registry.test", address: "127.0.0.1", port: s.port, ca: [], timeoutMs: 1500, now: new Date() });
  expect(p.error?.kind).toBe("reset");
});

test("works on a socket handed in (the TCP probe's own)", async () => {
  let sock: import("../../src/net/bun-wire").Wire | undefined;
  const tcp = await tcpProbe("127.0.0.1", ports.good!, { timeoutMs: 1500, keep: (s) => (sock = s) });
  expect(tcp.ok).toBe(true);
  const p = await tlsProbe({
    servername: "registry.test",
    socket: sock!,
    port: ports.good!,
    ca: [ca.cert],
    timeoutMs: 1500,
    now: new Date(),
  });
  expect(p.verified).toBe(true);
});

test("works on a node:net socket handed in (as a proxy tunnel's is), and sees an HTTP answer there too", async () => {
  const net = await import("node:net");
  const connected = (port: number) =>
    new Promise<import("node:net").Socket>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port }, () => resolve(s));
    });
  const p = await tlsProbe({
    servername: "registry.test",
    socket: await connected(ports.good!),
    port: ports.good!,
    ca: [ca.cert],
    timeoutMs: 1500,
    now: new Date(),
  });
  expect(p.verified).toBe(true);
  expect(p.chain[0]?.subject).toContain("registry.test");
  const plain = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data: (s) => void s.end("HTTP/1.1 400 Bad Request\r\n\r\n"), open() {} },
  });
  try {
    const h = await tlsProbe({
      servername: "registry.test",
      socket: await connected(plain.port),
      port: plain.port,
      ca: [],
      timeoutMs: 1500,
      now: new Date(),
    });
    expect(h.error?.kind).toBe("http-response");
  } finally {
    plain.stop(true);
  }
});

test("refused before TLS", async () => {
  const p = await tlsProbe({
    servername: "127.0.0.1",
    address: "127.0.0.1",
    port: await freePort(),
    ca: [],
    timeoutMs: 1500,
    now: new Date(),
  });
  expect(p.error?.kind).toBe("refused");
});

test("a corrupt client pair or CA is reported, not thrown", async () => {
  const { Secret } = await import("../../src/model/secret");
  const p = await probe("good", {
    cert: "-----BEGIN CERTIFICATE-----\nnot base64\n-----END CERTIFICATE-----\n",
    key: new Secret("garbage"),
  });
  expect(p.ok).toBe(false);
  expect(p.error?.message).toContain("TLS configuration could not be loaded");
  expect(JSON.stringify(p)).not.toContain("garbage");
});

test("the system store is read as Go reads it on Linux (bundle file + cert dirs)", async () => {
  const { systemAnchors } = await import("../../src/net/trust-store");
  const s = systemAnchors();
  expect(s.source).toContain("/etc/ssl/certs/ca-certificates.crt");
  expect(s.anchors.all.length).toBeGreaterThan(50);
  const p = await probe("good", { servername: "registry.test" });
  expect(p.trust?.store).toBe(s.source);
});
