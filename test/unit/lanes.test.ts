import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { randomFillSync } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import { dropWarmLanes, Lanes, prewarmLanes, SPREAD_BYTES, warmLanes } from "../../src/pull/lanes";
import type { OpenOptions } from "../../src/pull/transport";
import { tempDir } from "../helpers/context";

// How many blob Workers a pull runs (src/pull/lanes.ts): one while the bytes in flight stay
// under SPREAD_BYTES, a second beside it beyond; Workers started ahead are taken first.
const body = randomFillSync(new Uint8Array(300_000));
const digest = new Bun.CryptoHasher("sha256").update(body).digest("hex");
let server: ReturnType<typeof Bun.serve>;
let work: { dir: string; cleanup: () => void };
beforeAll(() => {
  work = tempDir("pd-lanes-");
  server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: () => new Response(body) });
});
afterAll(() => {
  server?.stop(true);
  work?.cleanup();
});
afterEach(() => dropWarmLanes());

const opts = (): OpenOptions => ({
  headers: {},
  signal: new AbortController().signal,
  init: { method: "GET", redirect: "manual", decompress: false },
  tls: null,
});

/** One transfer through `lanes`, declared as moving `bytes`; the file it wrote must be the body. */
async function transfer(lanes: Lanes, bytes: number, name: string) {
  const res = await lanes.open(`http://127.0.0.1:${server.port}/blob`, opts(), bytes);
  expect(res.status).toBe(200);
  const file = path.join(work.dir, name);
  const r = await res.toFile!({ path: file, offset: 0, size: body.length, algorithm: "sha256", onBytes: () => {} });
  expect(r).toEqual({ total: body.length, digest });
  expect(new Uint8Array(readFileSync(file))).toEqual(body);
}

test("small blobs in flight together run on one Worker", async () => {
  const lanes = new Lanes(2);
  try {
    await Promise.all([1, 2, 3, 4].map((i) => transfer(lanes, 1 << 20, `small-${i}`)));
    expect(lanes.started).toBe(1);
  } finally {
    lanes.close();
  }
});

test("a second Worker starts once the bytes in flight reach SPREAD_BYTES", async () => {
  const lanes = new Lanes(2);
  try {
    await Promise.all([transfer(lanes, SPREAD_BYTES / 2, "big-1"), transfer(lanes, SPREAD_BYTES / 2, "big-2")]);
    expect(lanes.started).toBe(2);
  } finally {
    lanes.close();
  }
});

test("never more Workers than asked for", async () => {
  const lanes = new Lanes(1);
  try {
    await Promise.all([transfer(lanes, SPREAD_BYTES, "one-1"), transfer(lanes, SPREAD_BYTES, "one-2")]);
    expect(lanes.started).toBe(1);
  } finally {
    lanes.close();
  }
});

test("Workers started ahead are taken first, and those left over are stopped", async () => {
  prewarmLanes(2);
  prewarmLanes(2);
  expect(warmLanes()).toBe(2);
  const lanes = new Lanes(2);
  try {
    await transfer(lanes, 1 << 20, "warm-1");
    expect(lanes.started).toBe(1);
    expect(warmLanes()).toBe(1);
  } finally {
    lanes.close();
  }
  dropWarmLanes(1);
  expect(warmLanes()).toBe(1);
  dropWarmLanes();
  expect(warmLanes()).toBe(0);
});
