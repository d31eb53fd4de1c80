import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import { Agent, request } from "undici-npm";
import { type BlobHost, startBlobHost } from "../../src/lab/blob-host";
import { bigLayer, hiddenImage } from "../../src/lab/fault-catalogue-transfer";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";

// The transfer fault kinds on the wire: what a client really receives from each.
const img = hiddenImage("lab-unit");
const layer = bigLayer(img);
let lab: LabRegistry;
let cdn: BlobHost;
const blob = (repo: string) => `${lab.url}/v2/${repo}/blobs/${layer.digest}`;

beforeAll(async () => {
  lab = await startLabRegistry();
  cdn = await startBlobHost([layer]);
  lab.addImage("long/app", "1.0", img, [{ kind: "long-body", extra: "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged" }]);
  lab.addImage("status/app", "1.0", img, [{ kind: "blob-status", statuses: [500, 502, 503] }]);
  lab.addImage("ra/app", "1.0", img, [{ kind: "blob-status", statuses: [429], retryAfter: "7", forever: true }]);
  lab.addImage("loop/app", "1.0", img, [{ kind: "redirect-chain", hops: "loop" }]);
  lab.addImage("chain/app", "1.0", img, [{ kind: "redirect-chain", hops: 3 }]);
  lab.addImage("silent/app", "1.0", img, [{ kind: "silent-blob" }]);
  lab.addImage("drip/app", "1.0", img, [{ kind: "drip-blob", bytesPerSecond: 1 }]);
  lab.addImage("cdn/app", "1.0", img, [{ kind: "blob-redirect", to: cdn.url, digest: layer.digest }]);
});
afterAll(async () => {
  await cdn?.stop();
  await lab?.stop();
});

/** Everything the server writes on one connection after one GET, until it has been quiet for `quietMs` (or `forMs` in all). */
function rawGet(path: string, quietMs = 300, forMs?: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const s = net.connect(lab.port, "127.0.0.1", () => s.write(`GET ${path} HTTP/1.1\r\nHost: lab\r\n\r\n`));
    const end = () => {
      s.destroy();
      resolve(Buffer.concat(chunks));
    };
    let t: ReturnType<typeof setTimeout> = setTimeout(end, 2000);
    s.on("data", (c: Buffer) => {
      chunks.push(c);
      if (forMs) return;
      clearTimeout(t);
      t = setTimeout(end, quietMs);
    });
    s.on("error", reject);
    if (forMs)
      setTimeout(() => {
        clearTimeout(t);
        end();
      }, forMs);
  });
}

test("long-body: the whole blob as announced, then the extra bytes on the same connection, left open", async () => {
  const raw = await rawGet(`/v2/long/app/blobs/${layer.digest}`);
  const head = raw.indexOf("\r\n\r\n");
  expect(raw.subarray(0, head).toString()).toContain(`Content-Length: ${layer.bytes.length}`);
  expect(Buffer.compare(raw.subarray(head + 4, head + 4 + layer.bytes.length), Buffer.from(layer.bytes))).toBe(0);
  expect(raw.subarray(head + 4 + layer.bytes.length).toString()).toBe("HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nforged");
  // Bun's fetch (the pull's first attempts) and undici (the doctor's client) honour Content-Length
  // and never take the forged bytes for the next answer on their kept-alive connection.
  const agent = new Agent();
  try {
    for (let i = 0; i < 3; i++) {
      const r = await fetch(blob("long/app"));
      expect(Buffer.compare(Buffer.from(await r.arrayBuffer()), Buffer.from(layer.bytes))).toBe(0);
      const u = await request(blob("long/app"), { dispatcher: agent });
      expect(u.statusCode).toBe(200);
      expect(Buffer.compare(Buffer.from(await u.body.arrayBuffer()), Buffer.from(layer.bytes))).toBe(0);
    }
  } finally {
    await agent.close();
  }
});

test("blob-status: 500, 502, 503, then the blob, per blob; forever: the same status with its Retry-After", async () => {
  const seen: number[] = [];
  for (let i = 0; i < 5; i++) {
    const r = await fetch(blob("status/app"));
    await r.arrayBuffer();
    seen.push(r.status);
  }
  expect(seen).toEqual([500, 502, 503, 200, 500]);
  for (let i = 0; i < 2; i++) {
    const r = await fetch(blob("ra/app"));
    await r.arrayBuffer();
    expect([r.status, r.headers.get("retry-after")]).toEqual([429, "7"]);
  }
});

test("redirect-chain: a loop points at itself; hops: N redirects, then the blob", async () => {
  const loop = await fetch(blob("loop/app"), { redirect: "manual" });
  expect(loop.status).toBe(302);
  expect(loop.headers.get("location")).toBe(`/v2/loop/app/blobs/${layer.digest}`);
  let url = blob("chain/app");
  let hops = 0;
  for (;;) {
    const r = await fetch(url, { redirect: "manual" });
    await r.arrayBuffer();
    if (r.status !== 307) {
      expect(r.status).toBe(200);
      break;
    }
    hops++;
    url = new URL(r.headers.get("location")!, url).toString();
  }
  expect(hops).toBe(3);
});

test("silent-blob: the request is read and never answered", async () => {
  const t0 = performance.now();
  await expect(fetch(blob("silent/app"), { signal: AbortSignal.timeout(400) })).rejects.toThrow();
  expect(performance.now() - t0).toBeGreaterThanOrEqual(380);
});

test("drip-blob: the head itself comes a byte a second", async () => {
  const raw = await rawGet(`/v2/drip/app/blobs/${layer.digest}`, 0, 1500);
  expect(raw.length).toBeGreaterThan(0);
  expect(raw.length).toBeLessThan(5);
  expect(raw.toString()).toBe("HTTP/1.1 200 OK".slice(0, raw.length));
});

test("blob-redirect with a digest sends that blob to the second host, which records every request's headers", async () => {
  const r = await fetch(blob("cdn/app"), { headers: { Range: "bytes=0-9", "X-Probe": "yes" } });
  expect(r.status).toBe(206);
  expect(Buffer.compare(Buffer.from(await r.arrayBuffer()), Buffer.from(layer.bytes.subarray(0, 10)))).toBe(0);
  const last = cdn.requests.at(-1)!;
  expect(last.path).toBe(`/blobs/${layer.digest}`);
  expect(last.headers).toMatchObject({ range: "bytes=0-9", "x-probe": "yes" });
  const config = await fetch(`${lab.url}/v2/cdn/app/blobs/${img.config.digest}`, { redirect: "manual" });
  expect(config.status).toBe(200);
  await config.arrayBuffer();
});

test("every fault's layers are its own: none comes from the local store after another fault's pull", async () => {
  const { FAULTS } = await import("../../src/lab/fault-catalogue");
  const { probedImage } = await import("../../src/lab/fault-catalogue-transfer");
  const digests = FAULTS.flatMap((f) => [bigLayer(hiddenImage(f.name)).digest, probedImage(f.name).layers[0]!.digest]);
  // blob-short-body and blob-drip-layer once shared one (their names are as long): the drip was never met.
  expect(bigLayer(hiddenImage("blob-short-body")).digest).not.toBe(bigLayer(hiddenImage("blob-drip-layer")).digest);
  expect(new Set(digests).size).toBe(digests.length);
  // Building and hashing every fault's layers is ~2 s of CPU alone; a loaded 2-core machine needs more than bun's 5 s.
}, 30_000);
