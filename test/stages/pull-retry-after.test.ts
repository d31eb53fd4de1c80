import { expect, test } from "bun:test";
import { RETRY_AFTER_CAP_MS } from "../../src/pull/pull-blob";
import { backoffDelay, DEFAULT_RETRY } from "../../src/pull/schedule";
import { bodyWatchdog, LOW_SPEED_BYTES } from "../../src/pull/watchdog";
import { parseRetryAfter } from "../../src/registry/blob";

// Retry-After (RFC 9110 §10.2.3) as the pull and the blob probe read it, and the numbers the
// time rules rest on.
const NOW = Date.parse("2026-01-01T00:00:00Z");

test.each([
  ["1", 1000],
  [" 120 ", 120_000],
  ["0", 0],
  ["Thu, 01 Jan 2026 00:01:00 GMT", 60_000],
  ["Wed, 31 Dec 2025 23:00:00 GMT", 0],
  ["-5", null],
  ["1.5", null],
  ["soon", null],
  ["99999999999", null],
  ["", null],
] as const)("Retry-After %p → %p ms", (value, want) => expect(parseRetryAfter(value, NOW)).toBe(want));

test("absent Retry-After is null (the backoff alone paces the retry)", () => {
  expect(parseRetryAfter(null)).toBeNull();
  expect(parseRetryAfter(undefined)).toBeNull();
});

test("the limits: 60 s Retry-After cap, 5 attempts with 0.5 s doubling backoff (±20 %), a 1 KiB low-speed floor", () => {
  expect(RETRY_AFTER_CAP_MS).toBe(60_000);
  expect(DEFAULT_RETRY).toEqual({ attempts: 5, backoffMs: 500, maxBackoffMs: 8000 });
  expect([1, 2, 3, 4].map((n) => backoffDelay(DEFAULT_RETRY, n, () => 0.5))).toEqual([500, 1000, 2000, 4000]);
  expect(LOW_SPEED_BYTES).toBe(1024);
});

test("the body watchdog: a link that moves 2 KiB per window lives; one that moves 100 B per window is ended, saying why", async () => {
  const run = (bytesPerTick: number) =>
    new Promise<string | null>((resolve) => {
      const abort = new AbortController();
      const w = bodyWatchdog(200, 0, abort);
      let total = 0;
      const feed = setInterval(() => {
        total += bytesPerTick;
        w.progress(total);
      }, 20);
      const finish = () => {
        clearInterval(feed);
        w.stop();
        resolve(w.reason());
      };
      abort.signal.addEventListener("abort", finish);
      setTimeout(finish, 700);
    });
  expect(await run(205)).toBeNull();
  expect(await run(10)).toMatch(/^only \d+ bytes in 200 ms \(below the 1024 bytes per --timeout window/);
});

test("the body watchdog: no byte for the window ⇒ ended as no data", async () => {
  const abort = new AbortController();
  const w = bodyWatchdog(150, 0, abort);
  await new Promise((r) => abort.signal.addEventListener("abort", r));
  w.stop();
  expect(w.reason()).toBe("no data for 150 ms");
});
