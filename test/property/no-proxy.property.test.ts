import { describe, expect, test } from "bun:test";
import fc from "fast-check";
import { joinHostPort, parseNoProxy, useProxy } from "../../src/net/no-proxy";
import { decideProxy } from "../../src/net/proxy-env";

/**
 * NO_PROXY matching as golang.org/x/net/http/httpproxy does it. The 202 recorded vectors
 * (test/unit/no-proxy.test.ts) pin the cases; these properties hold over every generated
 * host and NO_PROXY value. A reference model is used only for IPv4 CIDRs (mask arithmetic).
 */

const label = fc
  .string({ unit: fc.constantFrom(..."abcdefghijklmnopqrstuvwxyz0123456789-"), minLength: 1, maxLength: 8 })
  .filter((l) => !l.startsWith("-") && !l.endsWith("-"));
/** A DNS name that is not an IP literal and not "localhost". */
const domain = fc
  .array(label, { minLength: 1, maxLength: 4 })
  .map((ls) => ls.join("."))
  .filter((d) => d !== "localhost" && !/^[0-9.]+$/.test(d));
const mixedCase = (s: string, flips: boolean[]) =>
  [...s].map((c, i) => (flips[i % Math.max(1, flips.length)] ? c.toUpperCase() : c)).join("");
const octet = fc.integer({ min: 0, max: 255 });
/** A non-loopback IPv4 address (loopback is always direct, whatever NO_PROXY says). */
const ipv4 = fc.tuple(
  octet.filter((o) => o !== 127),
  octet,
  octet,
  octet,
);
const v4 = (o: number[]) => o.join(".");
const ipv6 = fc
  .array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 })
  .filter((g) => !(g.slice(0, 7).every((x) => x === 0) && g[7]! <= 1))
  .map((g) => g.map((x) => x.toString(16)).join(":"));
const port = fc.integer({ min: 1, max: 65535 }).map(String);
const host = fc.oneof(domain, ipv4.map(v4), ipv6);
const addr = fc.tuple(host, port).map(([h, p]) => joinHostPort(h, p));
/** NO_PROXY entries of every kind, with the spacing people type. */
const entry = fc.oneof(
  domain,
  domain.map((d) => `.${d}`),
  domain.map((d) => `*.${d}`),
  fc.tuple(domain, port).map(([d, p]) => `${d}:${p}`),
  ipv4.map(v4),
  fc.tuple(ipv4, fc.integer({ min: 0, max: 32 })).map(([o, n]) => `${v4(o)}/${n}`),
  ipv6,
  fc.tuple(ipv6, port).map(([h, p]) => `[${h}]:${p}`),
  fc.string({ maxLength: 12 }),
);
const spaced = (e: fc.Arbitrary<string>) => fc.tuple(fc.constantFrom("", " ", "  "), e, fc.constantFrom("", " ")).map((xs) => xs.join(""));
const noProxy = fc.array(spaced(entry), { maxLength: 6 }).map((es) => es.join(","));
const decide = (a: string, v: string) => useProxy(a, parseNoProxy(v)).useProxy;

describe("never throws", () => {
  test("any NO_PROXY value and any address", () => {
    const anyText = fc.oneof(
      noProxy,
      fc.string({ unit: "binary", maxLength: 60 }),
      fc.string({ unit: fc.constantFrom(..."[]:./*%,0123456789abcdef "), maxLength: 40 }),
    );
    fc.assert(
      fc.property(anyText, fc.oneof(addr, anyText), (v, a) => {
        const d = useProxy(a, parseNoProxy(v));
        expect(typeof d.useProxy).toBe("boolean");
        expect(d.bypass === null).toBe(d.useProxy);
      }),
      { numRuns: 4000 },
    );
  }, 20_000);

  test("the whole decision for a registry URL, with any proxy variables", () => {
    const anyText = fc.oneof(
      fc.string({ unit: "binary", maxLength: 40 }),
      fc.constantFrom("http://proxy:3128", "http://u:p@proxy:3128", "proxy:3128", "socks5://p:1080", "://x", "%zz"),
    );
    fc.assert(
      fc.property(fc.tuple(host, port), fc.constantFrom("http", "https"), anyText, anyText, noProxy, ([h, p], scheme, http, https, no) => {
        const url = `${scheme}://${joinHostPort(h, p)}/v2/`;
        const d = decideProxy(url, {
          httpProxy: http,
          httpsProxy: https,
          noProxy: no,
          cgi: false,
          from: { http: "HTTP_PROXY", https: "HTTPS_PROXY", no: "NO_PROXY" },
        });
        expect(d.proxy === null || d.bypass === null).toBe(true);
      }),
      { numRuns: 2000 },
    );
  }, 20_000);
});

describe("matching rules", () => {
  test("case does not matter (the literal host 'localhost' aside: Go compares it before lower-casing)", () => {
    fc.assert(
      fc.property(addr, noProxy, fc.array(fc.boolean(), { minLength: 1, maxLength: 8 }), (a, v, flips) => {
        expect(decide(a, mixedCase(v, flips))).toBe(decide(a, v));
        expect(decide(mixedCase(a, flips), v)).toBe(decide(a, v));
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test('"*" as an entry sends every address direct', () => {
    fc.assert(
      fc.property(addr, fc.array(spaced(entry), { maxLength: 3 }), fc.array(spaced(entry), { maxLength: 3 }), (a, before, after) => {
        expect(decide(a, [...before, " * ", ...after].join(","))).toBe(false);
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("an exact host entry matches that host, on any port; order and other entries do not matter", () => {
    fc.assert(
      fc.property(host, port, fc.array(spaced(entry), { maxLength: 4 }), fc.nat(), (h, p, others, at) => {
        const list = [...others];
        list.splice(at % (list.length + 1), 0, ` ${h} `);
        expect(decide(joinHostPort(h, p), list.join(","))).toBe(false);
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("a domain entry matches it and its subdomains; '.d' and '*.d' only subdomains; never a longer name", () => {
    fc.assert(
      fc.property(domain, label, port, (d, sub, p) => {
        const exact = joinHostPort(d, p);
        const child = joinHostPort(`${sub}.${d}`, p);
        const glued = joinHostPort(`${sub}${d}`, p);
        expect([decide(exact, d), decide(child, d), decide(glued, d)]).toEqual([false, false, true]);
        for (const e of [`.${d}`, `*.${d}`]) expect([decide(exact, e), decide(child, e), decide(glued, e)]).toEqual([true, false, true]);
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("'name:port' matches that port only; domain entries never match an IP literal", () => {
    fc.assert(
      fc.property(domain, port, port, fc.oneof(ipv4.map(v4), ipv6), (d, p, q, ip) => {
        expect(decide(joinHostPort(d, p), `${d}:${p}`)).toBe(false);
        expect(decide(joinHostPort(d, q), `${d}:${p}`)).toBe(p !== q);
        expect(decide(joinHostPort(ip, p), `${d},.${d},*.${d}`)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("IPv4 CIDRs match exactly the addresses under their mask (checked against mask arithmetic)", () => {
    const n32 = (o: number[]) => ((o[0]! << 24) | (o[1]! << 16) | (o[2]! << 8) | o[3]!) >>> 0;
    fc.assert(
      fc.property(ipv4, ipv4, fc.integer({ min: 0, max: 32 }), port, fc.boolean(), (h, net, bits, p, nearby) => {
        // Half the time the host shares the network's first octets, so matches are common.
        const hostOctets = nearby ? [net[0]!, net[1]!, h[2]!, h[3]!] : h;
        if (hostOctets[0] === 127) return;
        const mask = bits === 0 ? 0 : (0xffffffff << (32 - bits)) >>> 0;
        const inside = (n32(hostOctets) & mask) >>> 0 === (n32(net) & mask) >>> 0;
        expect(decide(joinHostPort(v4(hostOctets), p), `${v4(net)}/${bits}`)).toBe(!inside);
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("IPv6 CIDRs match exactly the addresses under their mask; '[v6]:port' only that port", () => {
    const groups = fc.array(fc.integer({ min: 0, max: 0xffff }), { minLength: 8, maxLength: 8 });
    const big = (g: number[]) => g.reduce((acc, x) => (acc << 16n) | BigInt(x), 0n);
    fc.assert(
      fc.property(
        groups,
        groups,
        fc.integer({ min: 0, max: 128 }),
        fc.integer({ min: 0, max: 8 }),
        port,
        port,
        (h, net, bits, shared, p, q) => {
          const hostGroups = [...net.slice(0, shared), ...h.slice(shared)];
          // ::1 is loopback and IPv4-mapped addresses are IPv4 to Go: both have rules of their own.
          if (
            hostGroups.slice(0, 5).every((x) => x === 0) &&
            (hostGroups[5] === 0xffff || (hostGroups[5] === 0 && hostGroups[6] === 0 && hostGroups[7]! <= 1))
          )
            return;
          const text = (g: number[]) => g.map((x) => x.toString(16)).join(":");
          const shift = BigInt(128 - bits);
          const inside = big(hostGroups) >> shift === big(net) >> shift;
          expect(decide(joinHostPort(text(hostGroups), p), `${text(net)}/${bits}`)).toBe(!inside);
          expect(decide(joinHostPort(text(hostGroups), q), `[${text(hostGroups)}]:${p}`)).toBe(p !== q);
        },
      ),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("adding entries never sends a direct address through the proxy", () => {
    fc.assert(
      fc.property(addr, noProxy, noProxy, (a, v, w) => {
        if (!decide(a, v)) {
          expect(decide(a, `${v},${w}`)).toBe(false);
          expect(decide(a, `${w},${v}`)).toBe(false);
        }
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("localhost and loopback addresses are always direct, whatever NO_PROXY says", () => {
    const loop = fc.oneof(
      fc.constant("localhost"),
      fc.constant("::1"),
      fc.tuple(octet, octet, octet).map(([a, b, c]) => `127.${a}.${b}.${c}`),
      fc.constant("::ffff:127.0.0.1"),
    );
    fc.assert(
      fc.property(loop, port, noProxy, (h, p, v) => {
        expect(decide(joinHostPort(h, p), v)).toBe(false);
      }),
      { numRuns: 2000 },
    );
  }, 20_000);
});
