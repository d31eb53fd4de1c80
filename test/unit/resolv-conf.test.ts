import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { nameList, parseResolvConf, readResolvConf } from "../../src/net/resolv-conf";
import { tempDir } from "../helpers/context";

describe("parseResolvConf (Go's dnsReadConfig)", () => {
  const cases: { name: string; text: string; want: Partial<ReturnType<typeof parseResolvConf>> }[] = [
    {
      name: "empty ⇒ Go's default servers and options",
      text: "",
      want: { servers: ["127.0.0.1:53", "[::1]:53"], defaultServers: true, ndots: 1, timeoutMs: 5000, attempts: 2, search: [] },
    },
    {
      name: "nameservers, IPv6 bracketed",
      text: "nameserver 10.0.0.2\nnameserver fd00::53\n",
      want: { servers: ["10.0.0.2:53", "[fd00::53]:53"], defaultServers: false },
    },
    {
      name: "at most three nameservers",
      text: "nameserver 1.1.1.1\nnameserver 2.2.2.2\nnameserver 3.3.3.3\nnameserver 4.4.4.4\n",
      want: { servers: ["1.1.1.1:53", "2.2.2.2:53", "3.3.3.3:53"] },
    },
    {
      name: "a host name as nameserver is ignored",
      text: "nameserver dns.example.com\nnameserver 10.0.0.2\n",
      want: { servers: ["10.0.0.2:53"] },
    },
    { name: "IPv6 with zone", text: "nameserver fe80::1%eth0\n", want: { servers: ["[fe80::1%eth0]:53"] } },
    {
      name: "comments with # and ; at line start only",
      text: "# nameserver 9.9.9.9\n; nameserver 8.8.8.8\nnameserver 10.0.0.2\n",
      want: { servers: ["10.0.0.2:53"] },
    },
    {
      name: "search is rooted, '.' dropped",
      text: "search corp.example.com example.com .\n",
      want: { search: ["corp.example.com.", "example.com."] },
    },
    { name: "domain replaces search (last wins)", text: "search a.example\ndomain b.example\n", want: { search: ["b.example."] } },
    { name: "search after domain wins", text: "domain b.example\nsearch a.example\n", want: { search: ["a.example."] } },
    {
      name: "options",
      text: "options ndots:5 timeout:2 attempts:3 rotate single-request use-vc\n",
      want: { ndots: 5, timeoutMs: 2000, attempts: 3, rotate: true, singleRequest: true, useTcp: true },
    },
    { name: "ndots clamped to 15", text: "options ndots:99\n", want: { ndots: 15 } },
    { name: "timeout/attempts at least 1", text: "options timeout:0 attempts:0\n", want: { timeoutMs: 1000, attempts: 1 } },
    { name: "tabs and CRLF", text: "nameserver\t10.0.0.2\r\noptions\tndots:2\r\n", want: { servers: ["10.0.0.2:53"], ndots: 2 } },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const got = parseResolvConf(c.text);
      for (const [k, v] of Object.entries(c.want)) expect(got[k as keyof typeof got]).toEqual(v as never);
    });
  }

  test("unknown options and lines are reported as problems", () => {
    const got = parseResolvConf("options inet6 edns0 trust-ad\nsortlist 10.0.0.0\n");
    expect(got.problems).toEqual(["option inet6 ignored by Go's resolver", "line ignored by Go's resolver: sortlist 10.0.0.0"]);
  });

  test("a missing file gives Go's defaults and says why", () => {
    const { dir, cleanup } = tempDir();
    try {
      const got = readResolvConf(path.join(dir, "nope"));
      expect(got.servers).toEqual(["127.0.0.1:53", "[::1]:53"]);
      expect(got.problems[0]).toContain("ENOENT");
      writeFileSync(path.join(dir, "r"), "nameserver 10.9.9.9\n");
      expect(readResolvConf(path.join(dir, "r")).servers).toEqual(["10.9.9.9:53"]);
    } finally {
      cleanup();
    }
  });
});

describe("nameList (Go's dnsConfig.nameList)", () => {
  const search = ["corp.example.", "example."];
  const cases: [string, number, string[], string[]][] = [
    // name, ndots, search, names in order
    ["registry-1.docker.io", 1, search, ["registry-1.docker.io.", "registry-1.docker.io.corp.example.", "registry-1.docker.io.example."]],
    ["registry", 1, search, ["registry.corp.example.", "registry.example.", "registry."]],
    ["registry-1.docker.io", 5, search, ["registry-1.docker.io.corp.example.", "registry-1.docker.io.example.", "registry-1.docker.io."]],
    ["rooted.example.", 1, search, ["rooted.example."]],
    ["a.b", 0, [], ["a.b."]],
    ["hidden.onion", 1, search, ["hidden.onion.corp.example.", "hidden.onion.example."]], // avoidDNS only drops names ending in .onion
    ["x".repeat(254), 1, [], []],
  ];
  for (const [name, ndots, s, want] of cases) {
    test(`${name.slice(0, 30)} ndots:${ndots}`, () => expect(nameList(name, { ndots, search: s })).toEqual(want));
  }
});
