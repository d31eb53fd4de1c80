import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { type CA, issueClientCert, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type DnsmasqPeer, startDnsmasq } from "../peers/dnsmasq";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { blackhole, type FaultPeer, resetServer, silentServer } from "../peers/tcp-faults";
import { codesOf, expectFinding, stageOf } from "./helpers-net";

/**
 * Every connect code produced by the compiled binary. The registry names (*.pd.test) come
 * from our dnsmasq and resolve to 0.0.0.0: Linux delivers a connect to 0.0.0.0 over
 * loopback, and Docker's "127.0.0.0/8 is insecure" rule does not cover it, so TLS problems
 * are judged as for any remote registry (errors). loop.pd.test resolves to 127.0.0.1 and
 * shows the loopback judgement (warnings). Servers: a real docker-registry with TLS, nginx
 * (expired certificate, plain HTTP), and raw sockets for the TCP faults.
 */

let ca: CA;
let clientCa: CA;
let reg: RegistryPeer;
let mtls: RegistryPeer;
let ng: NginxPeer;
let dm: DnsmasqPeer;
let silent: FaultPeer;
let reset: FaultPeer;
let hole: FaultPeer;
let home: { dir: string; cleanup: () => void };
let certsDir: string;
const ports: Record<"expired" | "plain" | "closed", number> = { expired: 0, plain: 0, closed: 0 };
const NAMES = ["registry", "mtls", "other", "expired", "plain", "silent", "reset", "hole", "closed"];

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-connect-");
  ca = makeCA("E2E Connect Root");
  const good = issueServerCert(ca, { cn: "registry.pd.test", sans: ["DNS:registry.pd.test", "DNS:loop.pd.test", "DNS:mtls.pd.test"] });
  const expired = issueServerCert(ca, {
    cn: "expired.pd.test",
    sans: ["DNS:expired.pd.test"],
    notBefore: new Date("2021-01-01T00:00:00Z"),
    notAfter: new Date("2021-02-01T00:00:00Z"),
  });
  clientCa = makeCA("E2E Client CA");
  [reg, mtls] = await Promise.all([
    startRegistry({ tls: { certificate: good.certFile, key: good.keyFile } }),
    startRegistry({ tls: { certificate: good.certFile, key: good.keyFile, clientCAs: [clientCa.certFile] } }),
  ]);
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "e2e-connect" }));
  [ports.expired, ports.plain, ports.closed] = await freePorts(3);
  // ports.closed stays unbound: nothing listens there.
  ng = await startNginx({
    httpBlock: [
      `server { listen 127.0.0.1:${ports.expired} ssl; ssl_certificate ${expired.certFile}; ssl_certificate_key ${expired.keyFile}; return 200 "ok"; }`,
      `server { listen 127.0.0.1:${ports.plain}; return 200 "plain"; }`,
    ].join("\n"),
  });
  [silent, reset, hole] = await Promise.all([silentServer(), resetServer(), blackhole()]);
  const hosts: Record<string, string[]> = { "loop.pd.test": ["127.0.0.1"] };
  for (const n of NAMES) hosts[`${n}.pd.test`] = ["0.0.0.0"];
  dm = await startDnsmasq({ local: ["pd.test"], hosts });
  // certs.d as Docker reads it: <dir>/<host:port>/ca.crt for every name the tests use.
  certsDir = path.join(home.dir, "certs.d");
  for (const host of [
    `registry.pd.test:${reg.port}`,
    `other.pd.test:${reg.port}`,
    `loop.pd.test:${reg.port}`,
    `mtls.pd.test:${mtls.port}`,
    `expired.pd.test:${ports.expired}`,
  ]) {
    mkdirSync(path.join(certsDir, host), { recursive: true });
    writeFileSync(path.join(certsDir, host, "ca.crt"), ca.cert);
  }
});
afterAll(async () => {
  await Promise.all([reg, mtls, ng, dm, silent, reset, hole].map((p) => p?.stop()));
  ca?.cleanup();
  clientCa?.cleanup();
  home?.cleanup();
});

function check(host: string, port: number, o: { certsDir?: string; timeout?: number; extra?: string[] } = {}) {
  const flags = ["--dns", dm.server, "--certs-dir", o.certsDir ?? certsDir, ...(o.extra ?? [])];
  return checkCli(`${host}:${port}/team/app:1.0`, flags, { home: home.dir, timeout: o.timeout, ns: {} });
}

describe("connect e2e: TLS judged on a real registry and nginx", () => {
  test("healthy: registry.pd.test with its CA in certs.d, verified TLS, every stage passes, exit 0", async () => {
    const c = await check("registry.pd.test", reg.port);
    expectValidReport(c.report);
    expect(c.report.findings.filter((f: { severity: string }) => f.severity !== "info")).toEqual([]);
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
    const connect = stageOf(c.report, "connect");
    expect(connect.status).toBe("pass");
    const hop = connect.evidence.hops[0];
    expect(hop.target).toBe(`0.0.0.0:${reg.port}`);
    expect(hop.tls.chain[0].subject).toBe("CN=registry.pd.test");
    expect(hop.tls.verified).toBe(true);
    expect(stageOf(c.report, "blob").status).toBe("pass");
  });

  test("TLS_UNKNOWN_CA: no CA in certs.d ⇒ error naming the certificate, its issuer and the exact certs.d path", async () => {
    const empty = path.join(home.dir, "empty-certs.d");
    const c = await check("registry.pd.test", reg.port, { certsDir: empty });
    const f = expectFinding(c, "TLS_UNKNOWN_CA", "error", "connect");
    expect(f.detail).toContain(`0.0.0.0:${reg.port} presented "CN=registry.pd.test" issued by "CN=E2E Connect Root,O=pulldoctor tests"`);
    expect(f.evidence).toMatchObject({
      target: `0.0.0.0:${reg.port}`,
      subject: "CN=registry.pd.test",
      issuer: "CN=E2E Connect Root,O=pulldoctor tests",
      error: "x509: certificate signed by unknown authority",
    });
    expect(f.fixes[0]).toContain(`${empty}/registry.pd.test:${reg.port}/ca.crt`);
    expect(stageOf(c.report, "v2").status).toBe("skip");
  });

  test("TLS_UNKNOWN_CA on a loopback address (loop.pd.test → 127.0.0.1): a warning, Docker proceeds, exit 0", async () => {
    const c = await check("loop.pd.test", reg.port, { certsDir: path.join(home.dir, "empty-certs.d") });
    const f = expectFinding(c, "TLS_UNKNOWN_CA", "warning", "connect");
    expect(f.detail).toContain(`127.0.0.1:${reg.port}`);
    expect(f.detail).toContain("containerd");
    expect(f.evidence).toMatchObject({ target: `127.0.0.1:${reg.port}`, issuer: "CN=E2E Connect Root,O=pulldoctor tests" });
    expect(stageOf(c.report, "manifest").status).toBe("pass");
    expect(c.r.code).toBe(0);
  });

  test("TLS_HOSTNAME_MISMATCH: other.pd.test gets registry.pd.test's certificate; the names it covers are listed", async () => {
    const c = await check("other.pd.test", reg.port);
    const f = expectFinding(c, "TLS_HOSTNAME_MISMATCH", "error", "connect");
    expect(f.detail).toContain("x509: certificate is valid for registry.pd.test, loop.pd.test, mtls.pd.test, not other.pd.test");
    expect(f.evidence).toMatchObject({
      target: `0.0.0.0:${reg.port}`,
      requested: "other.pd.test",
      sans: ["DNS:registry.pd.test", "DNS:loop.pd.test", "DNS:mtls.pd.test"],
    });
  });

  test("TLS_EXPIRED: nginx serves an expired certificate; the window and the local clock are shown", async () => {
    const c = await check("expired.pd.test", ports.expired);
    const f = expectFinding(c, "TLS_EXPIRED", "error", "connect");
    expect(f.detail).toContain('"CN=expired.pd.test" (0.0.0.0:');
    expect(f.detail).toContain("2021-02-01T00:00:00.000Z");
    expect(f.evidence).toMatchObject({
      target: `0.0.0.0:${ports.expired}`,
      certificate: "CN=expired.pd.test",
      state: "expired",
      notAfter: "2021-02-01T00:00:00.000Z",
    });
    expect(f.evidence.localClock).toBeString();
  });

  test("TLS_HTTP_ONLY: nginx speaks plain HTTP on the port; the fix is the insecure-registries snippet", async () => {
    const c = await check("plain.pd.test", ports.plain);
    const f = expectFinding(c, "TLS_HTTP_ONLY", "error", "connect");
    expect(f.detail).toContain('answered the TLS ClientHello with "HTTP/1.1 400 Bad Request"');
    expect(f.fixes[0]).toContain(`{ "insecure-registries": ["plain.pd.test:${ports.plain}"] }`);
    expect(f.evidence.target).toBe(`0.0.0.0:${ports.plain}`);
  });

  test("TLS_INSECURE_IN_USE: --insecure-registry on a registry with good TLS is a warning; the pull still works, exit 0", async () => {
    const c = await check("registry.pd.test", reg.port, { extra: ["--insecure-registry", `registry.pd.test:${reg.port}`] });
    const f = expectFinding(c, "TLS_INSECURE_IN_USE", "warning", "connect");
    expect(f.detail).toContain(`registry.pd.test:${reg.port}`);
    expect(stageOf(c.report, "manifest").status).toBe("pass");
    expect(c.r.code).toBe(0);
  });

  test("CERTS_D_INVALID: a CA saved as ca.cert stops Docker before any connection; the file is named", async () => {
    const bad = path.join(home.dir, "bad-certs.d");
    const d = path.join(bad, `registry.pd.test:${reg.port}`);
    mkdirSync(d, { recursive: true });
    writeFileSync(path.join(d, "ca.cert"), ca.cert);
    const c = await check("registry.pd.test", reg.port, { certsDir: bad });
    const f = expectFinding(c, "CERTS_D_INVALID", "error", "connect");
    expect(f.detail).toBe(`${d}: missing key ca.key for client certificate ca.cert. CA certificates must use the extension .crt.`);
    expect(f.fixes[0]).toBe(`If ca.cert is a CA certificate, rename it: sudo mv ${d}/ca.cert ${d}/ca.crt`);
  });
});

describe("connect e2e: TCP and handshake faults on real sockets", () => {
  test("CONNECT_REFUSED: nothing listens; Go's dial error names the address", async () => {
    const c = await check("closed.pd.test", ports.closed);
    const f = expectFinding(c, "CONNECT_REFUSED", "error", "connect");
    expect(f.detail).toBe(`dial tcp 0.0.0.0:${ports.closed}: connect: connection refused. It is the only address to try.`);
    expect(f.fixes[0]).toContain(`ss -ltnp | grep :${ports.closed}`);
    expect(codesOf(c.report, "connect")).toEqual(["CONNECT_REFUSED:error"]);
    expect(f.evidence.target).toBe(`0.0.0.0:${ports.closed}`);
  });

  test("CONNECT_TIMEOUT: SYNs dropped (full accept queue); ends on --timeout", async () => {
    const t0 = Date.now();
    const c = await check("hole.pd.test", hole.port, { timeout: 1 });
    expect(Date.now() - t0).toBeLessThan(5000);
    const f = expectFinding(c, "CONNECT_TIMEOUT", "error", "connect");
    expect(f.detail).toContain(`dial tcp 0.0.0.0:${hole.port}: no answer within 1000 ms`);
    expect(f.evidence.target).toBe(`0.0.0.0:${hole.port}`);
  });

  test("CONNECT_RESET: the server resets after the ClientHello", async () => {
    const c = await check("reset.pd.test", reset.port);
    const f = expectFinding(c, "CONNECT_RESET", "error", "connect");
    expect(f.detail).toContain(`0.0.0.0:${reset.port}: read: connection reset by peer (during the TLS handshake`);
    expect(f.evidence.target).toBe(`0.0.0.0:${reset.port}`);
  });

  test("TLS_HANDSHAKE_FAILED: a peer that accepts and never answers the ClientHello; ends on --timeout", async () => {
    const t0 = Date.now();
    const c = await check("silent.pd.test", silent.port, { timeout: 1 });
    expect(Date.now() - t0).toBeLessThan(5000);
    const f = expectFinding(c, "TLS_HANDSHAKE_FAILED", "error", "connect");
    expect(f.detail).toContain("net/http: TLS handshake timeout");
    expect(f.evidence.target).toBe(`0.0.0.0:${silent.port}`);
  });

  test("TLS_HANDSHAKE_FAILED: an mTLS registry (docker-registry clientcas) and no client certificate in certs.d", async () => {
    const c = await check("mtls.pd.test", mtls.port);
    const f = expectFinding(c, "TLS_HANDSHAKE_FAILED", "error", "connect");
    expect(f.detail).toMatch(/remote error: tls: (bad certificate|certificate required)/);
    expect(f.detail).toContain("no client certificate offered");
    expect(f.fixes[0]).toContain(`${certsDir}/mtls.pd.test:${mtls.port}: client.cert and client.key`);
    expect(f.evidence.target).toBe(`0.0.0.0:${mtls.port}`);
  });

  test("mTLS with client.cert/client.key in certs.d: the handshake passes, the client certificate is named, the key never shows", async () => {
    const dir = path.join(home.dir, "mtls-certs.d");
    const d = path.join(dir, `mtls.pd.test:${mtls.port}`);
    mkdirSync(d, { recursive: true });
    const client = issueClientCert(clientCa, "e2e-puller");
    writeFileSync(path.join(d, "ca.crt"), ca.cert);
    writeFileSync(path.join(d, "client.cert"), client.cert);
    writeFileSync(path.join(d, "client.key"), client.key);
    const c = await check("mtls.pd.test", mtls.port, { certsDir: dir });
    expectValidReport(c.report);
    const connect = stageOf(c.report, "connect");
    expect(connect.status).toBe("pass");
    expect(connect.evidence.hops[0].tls.clientCert).toBe("CN=e2e-puller");
    // The registry behind it answers as a registry over the same mTLS link.
    expect(stageOf(c.report, "v2").status).toBe("pass");
    expect(c.r.stdout).not.toContain("PRIVATE KEY");
  });
});
