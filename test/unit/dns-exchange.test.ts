import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import dgram from "node:dgram";
import * as packet from "dns-packet";
import { exchange, parseServer } from "../../src/net/dns-exchange";
import { replyTo, type ScriptedDns, startScriptedDns } from "../peers/dnsmasq";

describe("parseServer (--dns SERVER[:PORT])", () => {
  const cases: [string, string | null][] = [
    ["10.0.0.2", "10.0.0.2:53"],
    ["10.0.0.2:5353", "10.0.0.2:5353"],
    ["[fd00::1]:5353", "[fd00::1]:5353"],
    ["[fd00::1]", "[fd00::1]:53"],
    ["fd00::1", "[fd00::1]:53"],
    ["dns.example.com", null],
    ["10.0.0.2:0", null],
    ["10.0.0.2:99999", null],
    ["", null],
  ];
  for (const [spec, want] of cases) test(spec || "(empty)", () => expect(parseServer(spec)?.display ?? null).toBe(want));
});

describe("exchange over real sockets", () => {
  let truncating: ScriptedDns;
  let silent: ScriptedDns;
  const A = (name: string, data: string): packet.Answer => ({ type: "A", name, data, ttl: 60 });
  beforeAll(async () => {
    // UDP says "truncated, ask over TCP"; the TCP listener gives the full answer.
    truncating = await startScriptedDns({
      udp: (q) => replyTo(q, { truncated: true }),
      tcp: (q) =>
        replyTo(q, { answers: [{ type: "CNAME", name: "big.pd.test", data: "cdn.pd.test", ttl: 60 }, A("cdn.pd.test", "10.7.7.7")] }),
    });
    silent = await startScriptedDns({ udp: () => "drop" });
  });
  afterAll(async () => {
    await Promise.all([truncating.stop(), silent.stop()]);
  });

  test("a truncated UDP reply is asked again over TCP", async () => {
    const r = await exchange(parseServer(truncating.server)!, "big.pd.test", "A", { timeoutMs: 1000 });
    expect(r).toMatchObject({
      transport: "tcp",
      truncated: true,
      rcode: "NOERROR",
      answers: ["10.7.7.7"],
      cnames: ["big.pd.test → cdn.pd.test"],
    });
    expect(truncating.seen).toEqual(["udp A big.pd.test", "tcp A big.pd.test"]);
  });

  test("replies with another id are ignored until the right one comes", async () => {
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    sock.on("message", (msg, rinfo) => {
      const q = packet.decode(msg);
      sock.send(
        packet.encode(replyTo(q, { id: ((q.id ?? 0) + 1) & 0xffff, answers: [A("x.pd.test", "6.6.6.6")] })),
        rinfo.port,
        rinfo.address,
      );
      setTimeout(() => sock.send(packet.encode(replyTo(q, { answers: [A("x.pd.test", "10.1.1.1")] })), rinfo.port, rinfo.address), 20);
    });
    try {
      const r = await exchange(parseServer(`127.0.0.1:${sock.address().port}`)!, "x.pd.test", "A", { timeoutMs: 1000 });
      expect(r.answers).toEqual(["10.1.1.1"]);
      expect(r.ignoredReplies).toBe(1);
    } finally {
      sock.close();
    }
  });

  test("a server that never answers times out on time, with Go's message", async () => {
    const t = performance.now();
    const r = await exchange(parseServer(silent.server)!, "x.pd.test", "AAAA", { timeoutMs: 300 });
    expect(performance.now() - t).toBeLessThan(800);
    expect(r.errorKind).toBe("timeout");
    expect(r.error).toMatch(new RegExp(`^read udp 127\\.0\\.0\\.1:\\d+->${silent.server.replace(/\./g, "\\.")}: i/o timeout$`));
  });

  test("the caller's signal cancels a query", async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 50);
    const t = performance.now();
    const r = await exchange(parseServer(silent.server)!, "x.pd.test", "A", { timeoutMs: 5000, signal: ac.signal });
    expect(performance.now() - t).toBeLessThan(1000);
    expect(r.errorKind).toBe("aborted");
  });

  test("nothing listening: ICMP port unreachable ⇒ connection refused", async () => {
    const sock = dgram.createSocket("udp4");
    await new Promise<void>((r) => sock.bind(0, "127.0.0.1", () => r()));
    const port = sock.address().port;
    await new Promise<void>((r) => sock.close(() => r()));
    const r = await exchange(parseServer(`127.0.0.1:${port}`)!, "x.pd.test", "A", { timeoutMs: 1000 });
    expect(r.errorKind).toBe("refused");
    expect(r.error).toContain("read: connection refused");
  });

  test("use-vc asks over TCP only", async () => {
    truncating.seen.length = 0;
    const r = await exchange(parseServer(truncating.server)!, "big.pd.test", "A", { timeoutMs: 1000, useTcp: true });
    expect(r).toMatchObject({ transport: "tcp", truncated: false, answers: ["10.7.7.7"] });
    expect(truncating.seen).toEqual(["tcp A big.pd.test"]);
  });
});
