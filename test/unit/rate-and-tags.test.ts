import { expect, test } from "bun:test";
import { parseArgs } from "../../src/cli/args";
import { tagsPage } from "../../src/lab/wire";
import { parseRate, RateLimit } from "../../src/pull/rate-limit";
import { nextLink } from "../../src/pull/tags";

test("--limit-rate: curl's and wget's syntax, binary suffixes; what does not parse is misuse (exit 2)", () => {
  expect(parseRate("10M")).toBe(10 * 1024 * 1024);
  expect(parseRate("500k")).toBe(500 * 1024);
  expect(parseRate("1.5G")).toBe(1.5 * 1024 ** 3);
  expect(parseRate("300000")).toBe(300000);
  for (const bad of ["", "fast", "10 M", "-5M", "0", "10MiB/s", "1e6"]) expect(parseRate(bad)).toBeNull();
  const r = parseArgs(["pull", "x:1", "--limit-rate", "ten"]);
  expect(r.ok).toBe(false);
  expect(!r.ok && r.error).toContain('--limit-rate takes bytes per second such as 10M or 500k, not "ten"');
  expect(parseArgs(["check", "x:1", "--limit-rate", "1M"]).ok).toBe(false);
  expect(parseArgs(["pull", "x:1", "-q", "--json"]).ok).toBe(false);
  expect(parseArgs(["pull", "-a", "x", "-f", "c.yaml"]).ok).toBe(false);
});

test("the shared bucket: one budget for every taker, whatever thread; a burst of 20 ms", () => {
  const r = RateLimit.create(5000);
  const now = 1_000_000_000n;
  // The first 100 bytes (20 ms at 5000 B/s) are free; then each 100 bytes is due 20 ms later.
  expect(r.reserve(100, now)).toBe(0);
  expect(r.reserve(100, now)).toBe(20);
  const twin = RateLimit.attach(r.buffer);
  expect(twin.bytesPerSecond).toBe(5000);
  expect(twin.reserve(100, now)).toBe(40);
  // Time passing pays the debt back, but an idle bucket never saves more than the burst.
  expect(r.reserve(100, now + 10_000_000n)).toBe(0);
  expect(r.reserve(100, now + 10_000_000n)).toBe(20);
});

test("tags/list pages: the Link header's next page on the registry's origin only; the lab pages as the spec says", () => {
  const base = "http://127.0.0.1:5000/v2/team/app/tags/list?n=2";
  expect(nextLink('</v2/team/app/tags/list?last=b&n=2>; rel="next"', base)).toBe("http://127.0.0.1:5000/v2/team/app/tags/list?last=b&n=2");
  expect(nextLink('<http://evil.example/v2/x/tags/list>; rel="next"', base)).toBeNull();
  expect(nextLink('</v2/team/app/tags/list?last=a>; rel="prev"', base)).toBeNull();
  expect(nextLink(null, base)).toBeNull();
  const q = (s: string) => new URLSearchParams(s);
  expect(tagsPage(["a", "b", "c"], q("n=2"), "/v2/r/tags/list")).toEqual({
    tags: ["a", "b"],
    headers: { Link: '</v2/r/tags/list?last=b&n=2>; rel="next"' },
  });
  expect(tagsPage(["a", "b", "c"], q("last=b&n=2"), "/v2/r/tags/list")).toEqual({ tags: ["c"], headers: {} });
  expect(tagsPage(["a", "b", "c"], q(""), "/v2/r/tags/list")).toEqual({ tags: ["a", "b", "c"], headers: {} });
});
