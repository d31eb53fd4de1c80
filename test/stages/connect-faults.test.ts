import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { type CA, issueClientCert, issueServerCert, makeCA } from "../helpers/pki";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { blackhole, resetServer, silentServer } from "../peers/tcp-faults";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";
import { runConnect } from "./connect-helpers";

/** TCP faults, TLS handshake failures, mTLS (a real docker-registry) and the proxy route. */
let ca: CA;
let clientCa: CA;
let reg: RegistryPeer;
let proxy: TinyproxyPeer;
let certsDir: string;
const cleanups: (() => void | Promise<void>)[] = [];

beforeAll(async () => {
  ca = makeCA("Faults Test Root");
  clientCa = makeCA("Faults Client CA");
  cleanups.push(ca.cleanup, clientCa.cleanup);
  const leaf = issueServerCert(ca, { cn: "registry.test", sans: ["DNS:registry.test", "IP:0.0.0.0", "IP:127.0.0.1"] });
  reg = await startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile, clientCAs: [clientCa.certFile] } });
  cleanups.push(() => reg.stop());
  proxy = await startTinyproxy();
  cleanups.push(() => proxy.stop());
  const t = tempDir("pd-connect-faults-");
  cleanups.push(t.cleanup);
  certsDir = path.join(t.dir, "certs.d");
  mkdirSync(path.join(certsDir, `registry.test:${reg.port}`), { recursive: true });
  writeFileSync(path.join(certsDir, `registry.test:${reg.port}`, "ca.crt"), ca.cert);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

test("CONNECT_REFUSED: nothing listens", async () => {
  const port = await freePort();
  const r = await runConnect({ port });
  expect(r.codes).toEqual(["CONNECT_REFUSED"]);
  const f = r.f("CONNECT_REFUSED");
  expect(f.severity).toBe("error");
  expect(f.detail).toBe(`dial tcp 0.0.0.0:${port}: connect: connection refused. It is the only address to try.`);
  expect(f.fixes[0]).toContain(`ss -ltnp | grep :${port}`);
  expect(r.provides).toBeUndefined();
});

test("CONNECT_REFUSED on ::1 while 127.0.0.1 works: a warning naming both", async () => {
  const s = await silentServer();
  cleanups.push(s.stop);
  // The registry at 127.0.0.1 over plain http (TCP only) so the other address is usable.
  const r = await runConnect({ hostname: "localhost", addresses: ["::1", "127.0.0.1"], port: s.port, scheme: "http" });
  const f = r.f("CONNECT_REFUSED");
  expect(f.severity).toBe("warning");
  expect(f.detail).toContain(`dial tcp [::1]:${s.port}: connect: connection refused`);
  expect(f.detail).toContain(`127.0.0.1:${s.port} connected`);
  expect(r.provides?.link?.scheme).toBe("http");
});

test("CONNECT_TIMEOUT: SYNs dropped (full accept queue), ends on the timeout", async () => {
  const b = await blackhole();
  cleanups.push(b.stop);
  const t0 = Date.now();
  const r = await runConnect({ port: b.port, timeoutMs: 800 });
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(r.codes).toEqual(["CONNECT_TIMEOUT"]);
  const f = r.f("CONNECT_TIMEOUT");
  expect(f.severity).toBe("error");
  expect(f.detail).toContain(`dial tcp 0.0.0.0:${b.port}: no answer within 800 ms`);
  expect(f.evidence.target).toBe(`0.0.0.0:${b.port}`);
});

test("TLS_HANDSHAKE_FAILED: a peer that accepts and stays silent times out", async () => {
  const s = await silentServer();
  cleanups.push(s.stop);
  const t0 = Date.now();
  const r = await runConnect({ port: s.port, timeoutMs: 800 });
  expect(Date.now() - t0).toBeLessThan(2000);
  expect(r.codes).toEqual(["TLS_HANDSHAKE_FAILED"]);
  const f = r.f("TLS_HANDSHAKE_FAILED");
  expect(f.severity).toBe("error");
  expect(f.detail).toContain("net/http: TLS handshake timeout");
  expect(f.detail).not.toContain("client certificate");
  expect(f.fixes[0]).toContain("within 800 ms");
});

test("CONNECT_RESET: the server resets after the ClientHello", async () => {
  const s = await resetServer();
  cleanups.push(s.stop);
  const r = await runConnect({ port: s.port });
  expect(r.codes).toEqual(["CONNECT_RESET"]);
  const f = r.f("CONNECT_RESET");
  expect(f.severity).toBe("error");
  expect(f.detail).toContain(`0.0.0.0:${s.port}: read: connection reset by peer (during the TLS handshake`);
});

test("TLS_HANDSHAKE_FAILED: mTLS registry without a client certificate", async () => {
  const r = await runConnect({ port: reg.port, certsDir });
  expect(r.codes).toEqual(["TLS_HANDSHAKE_FAILED"]);
  const f = r.f("TLS_HANDSHAKE_FAILED");
  expect(f.detail).toMatch(/remote error: tls: (bad certificate|certificate required)/);
  expect(f.detail).toContain("no client certificate offered");
  expect(f.fixes[0]).toContain(`${certsDir}/registry.test:${reg.port}: client.cert and client.key`);
});

test("mTLS with the client pair in certs.d: pass, and the key never shows", async () => {
  const { dir, cleanup } = tempDir("pd-connect-mtls-");
  cleanups.push(cleanup);
  const d = path.join(dir, `registry.test:${reg.port}`);
  mkdirSync(d, { recursive: true });
  const client = issueClientCert(clientCa, "puller");
  writeFileSync(path.join(d, "ca.crt"), ca.cert);
  writeFileSync(path.join(d, "client.cert"), client.cert);
  writeFileSync(path.join(d, "client.key"), client.key);
  const r = await runConnect({ port: reg.port, certsDir: dir });
  expect(r.codes).toEqual([]);
  expect(r.provides?.link?.tls.cert).toBe(client.cert);
  expect(r.provides?.link?.tls.key?.reveal()).toBe(client.key);
  expect(r.json).not.toContain("PRIVATE KEY");
  expect((r.evidence.hops as any[])[0].tls.clientCert).toBe("CN=puller");
});

function certsFor(host: string, withClient: boolean): string {
  const { dir, cleanup } = tempDir("pd-connect-proxy-");
  cleanups.push(cleanup);
  const d = path.join(dir, host);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, "ca.crt"), ca.cert);
  if (withClient) {
    const client = issueClientCert(clientCa, "puller-via-proxy");
    writeFileSync(path.join(d, "client.cert"), client.cert);
    writeFileSync(path.join(d, "client.key"), client.key);
  }
  return dir;
}

test("through a proxy: one hop via the CONNECT tunnel, TLS (and mTLS) end to end", async () => {
  // tinyproxy resolves and dials 0.0.0.0 itself: Linux delivers that to the loopback registry.
  const dir = certsFor(`0.0.0.0:${reg.port}`, true);
  const r = await runConnect({
    hostname: "0.0.0.0",
    port: reg.port,
    certsDir: dir,
    addresses: [],
    route: { url: proxy.url, auth: null, reason: "HTTPS_PROXY" },
  });
  const hops = r.evidence.hops as any[];
  expect(hops).toHaveLength(1);
  expect(hops[0].target).toContain(`→ 0.0.0.0:${reg.port}`);
  expect(hops[0].target).toContain(`proxy http://127.0.0.1:${proxy.port}`);
  expect((r.evidence.tunnel as any).status).toBe(200);
  expect(hops[0].tls.chain[0].subject).toBe("CN=registry.test");
  expect(r.codes).toEqual([]);
  expect(r.provides?.link).toMatchObject({ scheme: "https", baseUrl: `https://0.0.0.0:${reg.port}`, tls: { verify: true } });
});

test("through a proxy that refuses the CONNECT: no second error; the stage is skipped, pointing at the proxy stage", async () => {
  const strict = await startTinyproxy({ connectPorts: [443] });
  cleanups.push(() => strict.stop());
  const r = await runConnect({
    hostname: "0.0.0.0",
    port: reg.port,
    addresses: [],
    route: { url: strict.url, auth: null, reason: "HTTPS_PROXY" },
  });
  // The proxy stage owns PROXY_CONNECT_REFUSED for the same CONNECT; the registry was never reached.
  expect(r.codes).toEqual([]);
  expect(r.skipped).toContain(`the proxy did not open a tunnel to 0.0.0.0:${reg.port}`);
  expect(r.skipped).toContain("the proxy stage's finding explains why");
  expect((r.evidence.tunnel as any).status).toBe(403);
  expect(r.provides).toBeUndefined();
});

test("CERTS_D_INVALID: a CA saved as ca.cert stops Docker before any connection", async () => {
  const { dir, cleanup } = tempDir("pd-connect-certsd-bad-");
  cleanups.push(cleanup);
  const d = path.join(dir, `registry.test:${reg.port}`);
  mkdirSync(d, { recursive: true });
  writeFileSync(path.join(d, "ca.cert"), ca.cert);
  // A near miss too: the same CA as .pem in the dir without the port.
  mkdirSync(path.join(dir, "registry.test"));
  writeFileSync(path.join(dir, "registry.test", "ca.pem"), ca.cert);
  const r = await runConnect({ port: reg.port, certsDir: dir });
  const f = r.f("CERTS_D_INVALID");
  expect(f.severity).toBe("error");
  expect(f.detail).toBe(`${d}: missing key ca.key for client certificate ca.cert. CA certificates must use the extension .crt.`);
  expect(f.fixes[0]).toBe(`If ca.cert is a CA certificate, rename it: sudo mv ${d}/ca.cert ${d}/ca.crt`);
  // This registry also wants a client certificate; that finding names the near miss too.
  const u = r.f("TLS_HANDSHAKE_FAILED");
  expect(u.detail).toContain(`${path.join(dir, "registry.test")} exists but is ignored: the dir has no port`);
});

test("an http:// registry behind a proxy: the hop is the proxy (no CONNECT), link over http", async () => {
  const r = await runConnect({
    hostname: "0.0.0.0",
    port: reg.port,
    scheme: "http",
    addresses: [],
    route: { url: proxy.url, auth: null, reason: "HTTP_PROXY" },
  });
  const hops = r.evidence.hops as any[];
  expect(hops[0].target).toBe(`proxy http://127.0.0.1:${proxy.port}/ (forwards http:// requests, no tunnel)`);
  expect(hops[0].connect.ok).toBe(true);
  expect(r.evidence.tunnel).toBeUndefined();
  expect(r.provides?.link?.scheme).toBe("http");
});
