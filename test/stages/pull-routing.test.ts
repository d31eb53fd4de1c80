import { afterAll, beforeAll, expect, test } from "bun:test";
import https from "node:https";
import path from "node:path";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import type { AuthSession } from "../../src/model/facts";
import { Secret } from "../../src/model/secret";
import { endpointFor, tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";
import { factsFor, pull } from "./pull-fixture";

// How blob requests travel: to the address the dns stage chose (name kept for Host and
// SNI, certs.d CA trusted), through the proxy the proxy stage chose, and across a redirect
// to a CDN without the registry's Authorization.
let work: { dir: string; cleanup: () => void };
let ca: CA;
let tlsReg: RegistryPeer;
let lab: LabRegistry;
let proxy: TinyproxyPeer;
let cdn: ReturnType<typeof Bun.serve>;
const cdnSeen: { path: string; authorization: string | null }[] = [];
const img = buildImage({ label: "routing", layers: [[{ name: "r.txt", content: "routed\n" }]] });
const blobs = new Map([img.config, ...img.layers].map((b) => [b.digest, b.bytes]));

beforeAll(async () => {
  work = tempDir("pd-pull-routing-");
  ca = makeCA("pulldoctor routing CA");
  const cert = issueServerCert(ca, { cn: "registry.test", sans: ["DNS:registry.test"] });
  [tlsReg, lab, proxy] = await Promise.all([
    startRegistry({ tls: { certificate: cert.certFile, key: cert.keyFile } }),
    startLabRegistry(),
    startTinyproxy(),
  ]);
  await pushImage(tlsReg.url, "team/app", "1.0", img);
  cdn = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const u = new URL(req.url);
      cdnSeen.push({ path: u.pathname, authorization: req.headers.get("authorization") });
      const bytes = blobs.get(u.pathname.split("/").pop() ?? "");
      return bytes ? new Response(bytes) : new Response("no", { status: 404 });
    },
  });
  lab.addImage("cdn/app", "1.0", img, [{ kind: "blob-redirect", to: `http://127.0.0.1:${cdn.port}/cdn` }]);
  lab.addImage("proxied/app", "1.0", img);
}, 30_000);
afterAll(async () => {
  cdn?.stop(true);
  await Promise.all([tlsReg?.stop(), lab?.stop(), proxy?.stop()]);
  ca?.cleanup();
  work?.cleanup();
});

test("a name only the dns stage knows: connects to its address, verifies the certificate for the name with the certs.d CA", async () => {
  const src = factsFor(`https://registry.test:${tlsReg.port}`, "team/app", "1.0", img);
  src.endpoint = endpointFor(`https://registry.test:${tlsReg.port}`);
  src.facts.link = { scheme: "https", baseUrl: src.endpoint.url, tls: { ca: [ca.cert], verify: true }, insecure: false };
  src.facts.resolution = { hostname: "registry.test", addresses: [{ address: "127.0.0.1", family: 4 }], via: "/etc/hosts" };
  const r = await pull(src, `oci:${path.join(work.dir, "tls")}`, { storeDir: path.join(work.dir, "s1") });
  expect(r.findings).toEqual([]);
  expect(r.result.status).toBe("pass");
  expect((r.result.evidence.blobs as { host: string }[]).every((b) => b.host === `registry.test:${tlsReg.port}`)).toBe(true);
});

test("without the CA the same pull fails: verification is on for a secure registry", async () => {
  const src = factsFor(`https://registry.test:${tlsReg.port}`, "team/app", "1.0", img);
  src.endpoint = endpointFor(`https://registry.test:${tlsReg.port}`);
  src.facts.link = { scheme: "https", baseUrl: src.endpoint.url, tls: { ca: [], verify: true }, insecure: false };
  src.facts.resolution = { hostname: "registry.test", addresses: [{ address: "127.0.0.1", family: 4 }], via: "/etc/hosts" };
  const r = await pull(src, `oci:${path.join(work.dir, "tls-untrusted")}`, {
    storeDir: path.join(work.dir, "s2"),
    tuning: { retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 } },
  });
  expect(r.findings.map((f) => f.code)).toContain("PULL_INTERRUPTED");
  expect(r.findings[0].detail.toLowerCase()).toMatch(/certificate|unable to verify|self.signed|issuer/);
});

test("an insecure registry (loopback, TLS with a certificate for another name): verification skipped as Docker does", async () => {
  const src = factsFor(`https://127.0.0.1:${tlsReg.port}`, "team/app", "1.0", img);
  src.facts.link = { scheme: "https", baseUrl: src.endpoint.url, tls: { ca: [], verify: false }, insecure: true };
  const r = await pull(src, `oci:${path.join(work.dir, "tls-insecure")}`, { storeDir: path.join(work.dir, "s5") });
  expect(r.findings).toEqual([]);
  expect(r.result.status).toBe("pass");
});

test("a retry over TLS (the careful node:https path) keeps the name, the CA and resumes with Range", async () => {
  const big = buildImage({ label: "tls-retry", layers: [[{ name: "n.bin", content: noise(600_000, 5) }]] });
  const bytes = new Map([big.config, ...big.layers].map((b) => [b.digest, b.bytes]));
  const seen: (string | null)[] = [];
  const cert = issueServerCert(ca, { cn: "flaky.test", sans: ["DNS:flaky.test"] });
  let cut = true;
  // node:https, so the test can cut the socket itself after 100 000 bytes of a 200 whose
  // Content-Length promises the whole blob.
  const srv = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
    const d = (req.url ?? "").split("/").pop()!;
    const b = bytes.get(d);
    if (!b) return res.writeHead(404).end("no");
    const range = req.headers.range ?? null;
    seen.push(range);
    if (range) {
      const start = Number(/bytes=(\d+)-/.exec(range)![1]);
      res.writeHead(206, { "Content-Range": `bytes ${start}-${b.length - 1}/${b.length}`, "Content-Length": b.length - start });
      return res.end(b.subarray(start));
    }
    res.writeHead(200, { "Content-Length": b.length });
    if (b.length > 100_000 && cut) {
      cut = false;
      res.write(b.subarray(0, 100_000), () => setTimeout(() => req.socket.destroy(), 50));
      return;
    }
    res.end(b);
  });
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  const port = (srv.address() as { port: number }).port;
  try {
    const src = factsFor(`https://flaky.test:${port}`, "team/app", "1.0", big);
    src.endpoint = endpointFor(`https://flaky.test:${port}`);
    src.facts.link = { scheme: "https", baseUrl: src.endpoint.url, tls: { ca: [ca.cert], verify: true }, insecure: false };
    src.facts.resolution = { hostname: "flaky.test", addresses: [{ address: "127.0.0.1", family: 4 }], via: "/etc/hosts" };
    const r = await pull(src, `oci:${path.join(work.dir, "tls-retry")}`, { storeDir: path.join(work.dir, "s6") });
    expect(r.findings).toEqual([]);
    const rec = (r.result.evidence.blobs as { digest: string; retries: number; downloadedBytes: number }[]).find(
      (b) => b.digest === big.layers[0].digest,
    )!;
    expect(rec.retries).toBe(1);
    expect(seen.filter((x) => x !== null).length).toBe(1);
    expect(rec.downloadedBytes).toBe(big.layers[0].bytes.length);
  } finally {
    srv.closeAllConnections();
    srv.close();
  }
});

test("through the proxy the proxy stage chose (tinyproxy sees the blob requests)", async () => {
  const src = factsFor(lab.url, "proxied/app", "1.0", img);
  src.facts.route = { url: proxy.url, auth: null, reason: "HTTP_PROXY" };
  const r = await pull(src, `oci:${path.join(work.dir, "proxied")}`, { storeDir: path.join(work.dir, "s3") });
  expect(r.findings).toEqual([]);
  expect(proxy.logs()).toContain(`/v2/proxied/app/blobs/${img.layers[0].digest}`);
});

test("a redirect to a CDN: followed by hand, no Authorization sent there, the CDN host recorded, its signature redacted", async () => {
  const session: AuthSession = { scheme: "bearer", authorize: async () => new Secret("Bearer registry-only-token"), invalidate() {} };
  const r = await pull(factsFor(lab.url, "cdn/app", "1.0", img, session), `oci:${path.join(work.dir, "cdn")}`, {
    storeDir: path.join(work.dir, "s4"),
  });
  expect(r.findings).toEqual([]);
  expect(cdnSeen.length).toBe(2);
  expect(cdnSeen.every((s) => s.authorization === null)).toBe(true);
  expect(lab.log.filter((l) => l.path.startsWith("/v2/cdn/app/blobs/")).every((l) => l.authorization)).toBe(true);
  expect((r.result.evidence.blobs as { host: string }[]).every((b) => b.host === `127.0.0.1:${cdn.port}`)).toBe(true);
  const traced = JSON.stringify(r.trace.events);
  expect(traced).toContain(`127.0.0.1:${cdn.port}/cdn/blobs/`);
  expect(traced).not.toContain("lab-signature-secret");
  expect(traced).not.toContain("registry-only-token");
});
