import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import { buildImage } from "../../src/lab/image";
import type { ResolvedManifest } from "../../src/model/facts";
import { blobStage } from "../../src/stages/blob";
import { loopbackRef, stageCtx } from "./manifest-facts";

/**
 * Redirect chains a registry front can produce: more than Go's 10 redirects, and a CDN that
 * accepts the connection and never answers (the classic "layers hang").
 */
const img = buildImage({ label: "redirects" });
let front: ReturnType<typeof Bun.serve>;
let silent: net.Server;
let silentPort = 0;
const sockets: net.Socket[] = [];

beforeAll(async () => {
  silent = net.createServer((s) => sockets.push(s));
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
  silentPort = (silent.address() as net.AddressInfo).port;
  front = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const u = new URL(req.url);
      const hop = Number(u.searchParams.get("hop") ?? "0");
      if (u.pathname.startsWith("/v2/chain/")) return new Response(null, { status: 302, headers: { location: `${u.pathname}?hop=${hop + 1}` } });
      if (u.pathname.startsWith("/v2/hang/")) return new Response(null, { status: 307, headers: { location: `http://127.0.0.1:${silentPort}${u.pathname}` } });
      return new Response(null, { status: 404 });
    },
  });
});
afterAll(() => {
  for (const s of sockets) s.destroy();
  silent?.close();
  front?.stop(true);
});

function resolved(): ResolvedManifest {
  return {
    digest: img.digest,
    mediaType: img.mediaType,
    index: null,
    image: { digest: img.digest, mediaType: img.mediaType, size: img.manifest.length, raw: img.manifest, config: { mediaType: img.config.mediaType, digest: img.config.digest, size: img.config.bytes.length }, layers: img.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })) },
    platform: "linux/amd64",
  };
}
const run = (repo: string, timeoutMs = 3000) => {
  const base = `http://127.0.0.1:${front.port}`;
  return blobStage.run(stageCtx(base, loopbackRef(new URL(base).host, repo, "1.0"), { options: { timeoutMs }, facts: { manifest: resolved() } }));
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
  expect(f.detail).toStartWith(`127.0.0.1:${front.port} redirects blobs to 127.0.0.1:${silentPort}, which fails at http: `);
  const hops = (f.evidence.config as any).hops;
  expect(hops[1].tcp[0].ok).toBe(true);
  expect(hops[1].error.kind).toBe("timeout");
});
