import { expect, test } from "bun:test";
import net from "node:net";
import fc from "fast-check";
import { isIP, isIPv4, isIPv6 } from "../../src/net/ip";

/** src/net/ip.ts answers as node:net does, on edge cases and on strings built from address parts. */

const same = (s: string) => {
  expect([s, isIP(s)]).toEqual([s, net.isIP(s) as 0 | 4 | 6]);
  expect([s, isIPv4(s), isIPv6(s)]).toEqual([s, net.isIPv4(s), net.isIPv6(s)]);
};

test("edge cases", () => {
  for (const s of [
    "",
    "1.2.3.4",
    "01.2.3.4",
    "1.2.3.256",
    "255.255.255.255",
    "1.2.3",
    "1.2.3.4.5",
    " 1.2.3.4",
    "::",
    "::1",
    "1::",
    ":::",
    "1:2:3:4:5:6:7:8",
    "1:2:3:4:5:6:7:8:9",
    "1:2:3:4:5:6:7::",
    "::2:3:4:5:6:7:8",
    "1::2::3",
    "::ffff:1.2.3.4",
    "::ffff:1.2.3.04",
    "1:2:3:4:5:6:1.2.3.4",
    "1:2:3:4:5:6:7:1.2.3.4",
    "1.2.3.4::",
    "fe80::1%eth0",
    "fe80::1%",
    "fe80::1%eth 0",
    "fe80::1%a%b",
    "12345::",
    "g::",
    "[::1]",
    "::1:",
    ":1::",
    "1:",
    "abcd:ef01:2345:6789:abcd:ef01:2345:6789",
    "ABCD::EF",
    "1.2.3.4%eth0",
    "localhost",
  ])
    same(s);
});

test("random strings of address characters", () => {
  const part = fc.oneof(
    fc.constantFrom("", "0", "00", "1", "25", "255", "256", "ffff", "FFFF", "12345", "g", "1.2.3.4", "01.1.1.1", "%eth0", "%", " "),
    fc.integer({ min: 0, max: 0xfffff }).map((n) => n.toString(16)),
    fc.integer({ min: 0, max: 300 }).map(String),
  );
  const sep = fc.constantFrom(":", "::", ".", ":::", "");
  fc.assert(
    fc.property(fc.array(fc.tuple(part, sep), { maxLength: 10 }), (xs) => same(xs.map(([p, s]) => p + s).join(""))),
    { numRuns: 5000 },
  );
  fc.assert(fc.property(fc.string({ maxLength: 40 }), same), { numRuns: 2000 });
});
