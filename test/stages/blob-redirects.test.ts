import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import { buildImage } from "../../src/lab/image";
import type { ResolvedManifest } from "../../src/model/facts";
import { blobStage } from "../../src/stages/blob";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";
import { loopbackRef, stageCtx } from "./manifest-facts";

/**
 * Redirect chains a registry front can produce: more than Go's 10 redirects, and a CDN that
 * accepts the connection and never answers (the classic "layers hang").
 */
const img = buildImage({ label: "redirects" });
let front: ReturnType<typeof Bun.serve>;
let tlsCdn: ReturnType<typeof Bun.serve>;
let ca: CA;
let proxy: TinyproxyPeer;
let silent: net.Server;
let silentPort = 0;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  // A proxy whose allow-list has only port 443: CONNECT to the CDN's port is refused (403).
  proxy = await startTinyproxy({ connectPorts: [443] });
  silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
  silentPort = (silent.address() as net.AddressInfo).port;
  // A CDN whose certificate comes from a CA this machine does not trust (TLS inspection on the CDN host only).
  ca = makeCA("Corp Inspection CA");
  const leaf = issueServerCert(ca, { cn: "cdn.pd.test", sans: ["IP:127.0.0.1"] });
  tlsCdn = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: leaf.cert, key: leaf.key },
    fetch(req) {
      const digest = new URL(req.url).pathname.split("/").pop();
      const bytes = [img.config, ...img.layers].find((b) => b.digest === digest)?.bytes;
      if (!bytes) return new Response("no such object", { status: 404 });
      const m = /^bytes=0-(\d+)$/.exec(req.headers.get("range") ?? "");
      if (!m) return new Response(bytes);
      const end = Math.min(Number(m[1]), bytes.length - 1);
      return new Response(bytes.subarray(0, end + 1), { status: 206, headers: { "content-range": `bytes 0-${end}/${bytes.length}` } });
    },
  });
  front = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const u = new URL(req.url);
      const hop = Number(u.searchParams.get("hop") ?? "0");
      if (u.pathname.startsWith("/v2/chain/"))
        return new Response(null, { status: 302, headers: { location: `${u.pathname}?hop=${hop + 1}` } });
      if (u.pathname.startsWith("/v2/tlscdn/"))
        return new Response(null, { status: 307, headers: { location: `https://127.0.0.1:${tlsCdn.port}${u.pathname}` } });
      if (u.pathname.startsWith("/v2/proxied/"))
        return new Response(null, { status: 307, headers: { location: `https://cdn.pd.test:8443${u.pathname}` } });
      if (u.pathname.startsWith("/v2/ftp/"))
        return new Response(null, { status: 302, headers: { location: "ftp://files.example.com/blob" } });
      if (u.pathname.startsWith("/v2/badloc/")) return new Response(null, { status: 302, headers: { location: "http://[bad" } });
      if (u.pathname.startsWith("/v2/badrange/")) {
        // 206, but for another range than asked: resuming from an offset would splice wrong bytes.
        const b = img.config.bytes;
        return new Response(b.subarray(0, 10), { status: 206, headers: { "content-range": `bytes 0-9/${b.length}` } });
      }
      if (u.pathname.startsWith("/v2/hang/"))
        return new Response(null, { status: 307, headers: { location: `http://127.0.0.1:${silentPort}${u.pathname}` } });
      return new Response(null, { status: 404 });
    },
  });
});
afterAll(async () => {
  for (const s of sockets) s.destroy();
  silent?.close();
  front?.stop(true);
  tlsCdn?.stop(true);
  ca?.cleanup();
  await proxy?.stop();
});

function resolved(): ResolvedManifest {
  return {
    digest: img.digest,
    mediaType: img.mediaType,
    index: null,
    image: {
      digest: img.digest,
      mediaType: img.mediaType,
      size: img.manifest.length,
      raw: img.manifest,
      config: { mediaType: img.config.mediaType, digest: img.config.digest, size: img.config.bytes.length },
      layers: img.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })),
    },
    platform: "linux/amd64",
  };
}
const run = (repo: string, timeoutMs = 3000, tls?: { ca: string[]; verify: boolean }, env: Record<string, string> = {}) => {
  const base = `http://127.0.0.1:${front.port}`;
  const link = tls ? { scheme: "http" as const, baseUrl: base, tls, insecure: false } : undefined;
  return blobStage.run(
    stageCtx(base, loopbackRef(new URL(base).host, repo, "1.0"), {
      options: { timeoutMs },
      deps: { env },
      facts: { manifest: resolved(), ...(link ? { link } : {}) },
    }),
  );
};

test("more than 10 redirects → BLOB_REDIRECT_LOOP (too many), as Go stops after 10", async () => {
  const out = await run("chain/app");
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_REDIRECT_LOOP"]);
  expect(out.findings[0]!.detail).toStartWith("more than 10 redirects: ");
  expect((out.evidence.config as any).hops.length).toBe(11);
});

test("a CDN that accepts and never answers → BLOB_REDIRECT_UNREACHABLE (the blob host hangs), bounded by the timeout", async () => {
  const t0 = performance.now();
  const out = await run("hang/app", 800);
  expect(performance.now() - t0).toBeLessThan(3000);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_REDIRECT_UNREACHABLE"]);
  const f = out.findings[0]!;
  expect(f.detail).toStartWith(
    `127.0.0.1:${front.port} redirects blobs to 127.0.0.1:${silentPort}, which fails at HTTP (connected, no answer): `,
  );
  const hops = (f.evidence.config as any).hops;
  expect(hops[1].tcp[0].ok).toBe(true);
  expect(hops[1].error.kind).toBe("timeout");
});

test("a CDN whose certificate this machine does not trust → BLOB_REDIRECT_UNREACHABLE at tls; with the CA added it works", async () => {
  const out = await run("tlscdn/app", 3000, { ca: [], verify: true });
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_REDIRECT_UNREACHABLE"]);
  expect(out.findings[0]!.detail).toStartWith(
    `127.0.0.1:${front.port} redirects blobs to 127.0.0.1:${tlsCdn.port}, which fails at TLS: tls: failed to verify certificate: x509: certificate signed by unknown authority`,
  );
  const hop = (out.evidence.config as any).hops[1];
  expect(hop.tls.ok).toBe(true);
  expect(hop.tls.verified).toBe(false);
  expect(hop.tls.chain[0].issuer).toContain("Corp Inspection CA");
  expect(out.findings[0]!.fixes[0]).toContain("Exempt 127.0.0.1 from inspection");
  const ok = await run("tlscdn/app", 3000, { ca: [ca.cert], verify: true });
  expect(ok.findings).toEqual([]);
  expect((ok.evidence.config as any).status).toBe(206);
  expect((ok.evidence.config as any).verified).toBe(true);
});

test("206 with a Content-Range other than the one asked for → BLOB_RANGE_UNSUPPORTED", async () => {
  const out = await run("badrange/app");
  expect(out.findings.map((f) => f.code)).toContain("BLOB_RANGE_UNSUPPORTED");
  const f = out.findings.find((x) => x.code === "BLOB_RANGE_UNSUPPORTED")!;
  expect(f.detail).toBe(
    `127.0.0.1:${front.port} answered 206 with Content-Range bytes 0-9/${img.config.bytes.length} to Range: bytes=0-${img.config.bytes.length - 1}`,
  );
  expect((f.evidence.config as any).rangeProblem).toContain("Content-Range bytes 0-9/");
});

test.each([
  ["ftp/app", 'unsupported protocol scheme "ftp" in the redirect'],
  ["badloc/app", "invalid Location header in the redirect"],
])("a redirect Go would refuse (%s) → BLOB_FETCH_FAILED, not a crash", async (repo, msg) => {
  const out = await run(repo);
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_FETCH_FAILED"]);
  expect(out.findings[0]!.detail).toContain(msg);
});

test("the CDN goes through HTTPS_PROXY (the registry on loopback does not) and the proxy refuses it → BLOB_REDIRECT_UNREACHABLE via the proxy", async () => {
  const out = await run("proxied/app", 3000, undefined, { HTTPS_PROXY: proxy.url });
  expect(out.findings.map((f) => f.code)).toEqual(["BLOB_REDIRECT_UNREACHABLE"]);
  const f = out.findings[0]!;
  expect(f.detail).toContain(`redirects blobs to cdn.pd.test:8443, which fails at connect: `);
  expect(f.detail).toContain(`(via proxy ${proxy.url}`);
  expect(f.fixes.join("\n")).toContain(`Add cdn.pd.test to the proxy's allow-list`);
  const hops = (f.evidence.config as any).hops;
  expect([hops[0].proxy, hops[1].proxy]).toEqual([null, proxy.url]);
  expect(hops[1].dns).toBeUndefined(); // the proxy resolves the CDN, not this host
});
