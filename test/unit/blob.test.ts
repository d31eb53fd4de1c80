import { describe, expect, test } from "bun:test";
import { authorizationAllowed, checkRange, readBody } from "../../src/registry/blob";
import { pickLayer } from "../../src/stages/blob";

describe("checkRange (Range: bytes=0-1023 of a blob)", () => {
  test.each([
    ["206 exact", 206, "bytes 0-1023/5000", 1023, 5000, true],
    ["206, blob smaller than the range", 206, "bytes 0-99/100", 1023, 100, true],
    ["206, unknown total", 206, "bytes 0-1023/*", 1023, 5000, true],
    ["200 whole blob", 200, undefined, 1023, 5000, false],
    ["206 without Content-Range", 206, undefined, 1023, 5000, false],
    ["206 wrong start", 206, "bytes 1-1024/5000", 1023, 5000, false],
    ["206 wrong end", 206, "bytes 0-511/5000", 1023, 5000, false],
    ["206 wrong total", 206, "bytes 0-1023/4000", 1023, 5000, false],
    ["206 garbage", 206, "0-1023", 1023, 5000, false],
    ["416", 416, "bytes */5000", 1023, 5000, false],
  ])("%s", (_n, status, cr, end, size, ok) => {
    const r = checkRange(status as number, cr as string | undefined, 0, end as number, size as number);
    expect(r.ok).toBe(ok as boolean);
    expect(r.problem === null).toBe(ok as boolean);
  });
});

describe("pickLayer", () => {
  const l = (size: number) => ({ mediaType: "x", digest: `sha256:${size}`, size });
  test.each([
    [[l(10), l(600_000), l(5_000_000)], 600_000],
    [[l(10), l(300)], 10],
    [[l(9_000_000), l(524_288)], 524_288],
    [[], null],
  ])("%j", (layers, want) => expect(pickLayer(layers)?.size ?? null).toBe(want));
});

describe("readBody", () => {
  const stream = (chunks: Uint8Array[], stallAfter = false) =>
    new ReadableStream<Uint8Array>({
      async pull(c) {
        const next = chunks.shift();
        if (next) c.enqueue(next);
        else if (stallAfter) await new Promise(() => {});
        else c.close();
      },
    });
  test("stops at max and keeps exactly max bytes", async () => {
    const r = await readBody(stream([new Uint8Array(600), new Uint8Array(600)]), 1000, 1000, true);
    expect(r.count).toBe(1000);
    expect(r.bytes!.length).toBe(1000);
    expect(r.cutByDeadline).toBe(false);
  });
  test("a stalled body is cut by the deadline", async () => {
    const r = await readBody(stream([new Uint8Array(10)], true), 1000, 200, false);
    expect(r.count).toBe(10);
    expect(r.cutByDeadline).toBe(true);
    expect(r.bytes).toBeNull();
  });
});

describe("authorizationAllowed (the registry's token never reaches a CDN)", () => {
  test.each([
    ["https://registry.example.com/v2/x/blobs/sha256:a", "https://registry.example.com", false, true],
    // Another port is another service: no Authorization there (issue 7, credential routing).
    ["https://REGISTRY.example.com:8443/v2/x", "https://registry.example.com", false, false],
    ["https://REGISTRY.example.com:443/v2/x", "https://registry.example.com", false, true],
    ["https://production.cloudflare.docker.com/x", "https://registry-1.docker.io", false, false],
    ["https://cdn.registry.example.com/x", "https://registry.example.com", false, false],
    ["http://registry.example.com/x", "https://registry.example.com", false, false],
    ["http://127.0.0.1:5000/x", "http://127.0.0.1:5000", true, true],
    ["http://127.0.0.9:9/x", "http://127.0.0.1:5000", true, false],
  ])("%s from %s (insecure %p) → %p", (url, base, insecure, want) => expect(authorizationAllowed(url, base, insecure)).toBe(want));
});
