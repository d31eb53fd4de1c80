import { describe, expect, test } from "bun:test";
import type { ResolvedAddress } from "../../src/model/facts";
import { precedence, sortLikeGo } from "../../src/net/dns-order";

const v4 = (address: string): ResolvedAddress => ({ address, family: 4 });
const v6 = (address: string): ResolvedAddress => ({ address, family: 6 });

describe("RFC 6724 order as Go applies it", () => {
  const table: [string, number][] = [
    ["::1", 50],
    ["2600:1f18::1", 40],
    ["::ffff:10.0.0.1", 35],
    ["2002:c000:0204::1", 30],
    ["2001:0:4136:e378::1", 5],
    ["fd00::123", 3],
    ["fec0::1", 1],
  ];
  for (const [a, p] of table) test(`precedence ${a} = ${p}`, () => expect(precedence(v6(a))).toBe(p));
  test("precedence of IPv4 is 35", () => expect(precedence(v4("10.0.0.1"))).toBe(35));

  test("loopback IPv6 (routable here) before IPv4; answer order kept within a precedence", async () => {
    expect(await sortLikeGo([v4("127.0.0.2"), v4("127.0.0.1"), v6("::1")])).toEqual([v6("::1"), v4("127.0.0.2"), v4("127.0.0.1")]);
  });

  test("a ULA goes after IPv4 (lower precedence, or no route at all)", async () => {
    expect(await sortLikeGo([v6("fd00::123"), v4("10.1.2.3")])).toEqual([v4("10.1.2.3"), v6("fd00::123")]);
  });
});
