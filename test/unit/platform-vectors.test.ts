import { describe, expect, test } from "bun:test";
import type { Platform } from "../../src/model/facts";
import {
  anyOf,
  formatPlatform,
  formatPlatformAll,
  type MatchComparer,
  newMatcher,
  normalizePlatform,
  only,
  onlyOS,
  onlyStrict,
  ordered,
  parsePlatform,
  platformVector,
  rankPlatforms,
  selectPlatform,
  sortAll,
  windowsHost,
} from "../../src/registry/platform";
import { MAX_VARIANT_STEPS } from "../../src/registry/platform-compare";
import { readVectors } from "../helpers/vectors";

// Recorded from containerd/platforms on a linux/amd64 host (see the vectors' README).
const HOST: Platform = { os: "linux", architecture: "amd64" };
const vectors = readVectors<{ cases: any[] }>("platforms.json") as { cases: any[] };
const byOp = (op: string) => vectors.cases.filter((c) => c.op === op).map((c) => [c.id, c] as [string, any]);

/** The vectors spell every field (""/[] = unset); our Platform omits unset fields. */
function full(p: Platform | null | undefined) {
  if (!p) return p;
  return {
    os: p.os ?? "",
    architecture: p.architecture ?? "",
    variant: p.variant ?? "",
    "os.version": p["os.version"] ?? "",
    "os.features": p["os.features"] ?? [],
  };
}
function plat(v: any): Platform {
  const p: Platform = { os: v.os ?? "", architecture: v.architecture ?? "" };
  if (v.variant) p.variant = v.variant;
  if (v["os.version"]) p["os.version"] = v["os.version"];
  if (v["os.features"]?.length) p["os.features"] = v["os.features"];
  return p;
}

test("the vector file has every kind of case", () => {
  expect(byOp("parse").length).toBe(101);
  expect(byOp("normalize").length).toBe(27);
  expect(byOp("match").length).toBe(331);
  expect(byOp("select").length).toBe(129);
});

describe("parse", () => {
  test.each(byOp("parse"))("%s", (_id, c) => {
    if (!c.expect.ok) {
      expect(() => parsePlatform(c.input, HOST)).toThrow(c.expect.error);
      let msg = "";
      try {
        parsePlatform(c.input, HOST);
      } catch (e) {
        msg = (e as Error).message;
      }
      expect(msg).toBe(c.expect.error);
      return;
    }
    const p = parsePlatform(c.input, HOST);
    expect(full(p)).toEqual(c.expect.platform);
    expect(full(normalizePlatform(p))).toEqual(c.expect.normalized);
    expect(formatPlatform(p)).toBe(c.expect.format);
    expect(formatPlatformAll(p)).toBe(c.expect.format_all);
  });
});

describe("normalize", () => {
  test.each(byOp("normalize"))("%s", (_id, c) => {
    const p = plat(c.platform);
    expect(full(normalizePlatform(p))).toEqual(c.expect.normalized);
    expect(formatPlatformAll(p)).toBe(c.expect.format_all);
  });
});

function request(c: any): Platform {
  return c.request_platform ? plat(c.request_platform) : parsePlatform(c.request, HOST);
}

describe("match", () => {
  test.each(byOp("match"))("%s", (_id, c) => {
    const req = request(c);
    const cand = c.candidate_platform ? plat(c.candidate_platform) : parsePlatform(c.candidate, HOST);
    expect(full(normalizePlatform(req))).toEqual(c.expect.request_normalized);
    expect({
      only: only(req).match(cand),
      only_strict: onlyStrict(req).match(cand),
      only_os: onlyOS(req).match(cand),
      new_matcher: newMatcher(req)(cand),
    }).toEqual({ only: c.expect.only, only_strict: c.expect.only_strict, only_os: c.expect.only_os, new_matcher: c.expect.new_matcher });
  });
});

const STRATEGIES: Record<string, (p: Platform) => MatchComparer> = {
  only,
  only_strict: onlyStrict,
  only_os: onlyOS,
  ordered: (p) => ordered(p),
  any: (p) => anyOf(p),
  windows_host: windowsHost,
};

describe("select", () => {
  test.each(byOp("select"))("%s", (_id, c) => {
    const req = request(c);
    const entries: (Platform | null)[] = c.entries
      ? c.entries.map((e: any) => (e ? plat(e) : null))
      : c.entries_str.map((s: string) => parsePlatform(s, HOST));
    // `only` is what docker pull uses: selectPlatform must pick exactly what it picked.
    expect(selectPlatform(req, entries)).toBe(c.expect.only.picked);
    for (const [name, want] of Object.entries(c.expect) as [string, any][]) {
      if (name === "request_normalized") continue;
      const mc = STRATEGIES[name]!(req);
      expect({ name, order: rankPlatforms(mc, entries) }).toEqual({ name, order: want.order });
      if (want.sorted_all) expect({ name, sorted: sortAll(mc, entries) }).toEqual({ name, sorted: want.sorted_all });
    }
  });
});

describe("absurd variants (hostile --platform or index)", () => {
  test("--platform linux/amd64/v99999999 ends at once: the 64 nearest levels, then 386 (containerd would list 10^8 levels)", () => {
    // Before: platformVector counted down to v1 and the doctor hung building 10^8 matchers.
    const t0 = performance.now();
    const want = parsePlatform("linux/amd64/v99999999", HOST);
    const list: Platform[] = [
      { os: "linux", architecture: "amd64", variant: "v2" },
      { os: "linux", architecture: "386" },
      { os: "linux", architecture: "amd64", variant: "v99999990" },
    ];
    expect(rankPlatforms(only(want), list)).toEqual([2, 1]);
    expect(platformVector(want).length).toBe(1 + MAX_VARIANT_STEPS + 1);
    // Past 2^53 (where a count-down could not step) no lower level is listed, as Go's Atoi fails past int64.
    expect(platformVector({ os: "linux", architecture: "arm", variant: "v99999999999999999999" }).length).toBe(1);
    expect(performance.now() - t0).toBeLessThan(100);
  });
});
