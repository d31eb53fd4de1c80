import { afterAll, expect, test } from "bun:test";
import { classifyTcpError, tcpProbe } from "../../src/net/tcp";
import { freePort } from "../peers/require";
import { blackhole, resetServer, silentServer } from "../peers/tcp-faults";

test.each([
  ["ECONNREFUSED", "refused"],
  ["ETIMEDOUT", "timeout"],
  ["ECONNRESET", "reset"],
  ["EPIPE", "reset"],
  ["EHOSTUNREACH", "unreachable"],
  ["ENETUNREACH", "unreachable"],
  ["EADDRNOTAVAIL", "unreachable"],
  ["EWHATEVER", "other"],
  [undefined, "other"],
] as const)("classifyTcpError(%p) = %p", (code, kind) => {
  expect(classifyTcpError(code)).toBe(kind);
});

const stops: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const s of stops) await s();
});

test("a listening port connects and reports the time", async () => {
  const peer = await silentServer();
  stops.push(peer.stop);
  const p = await tcpProbe("127.0.0.1", peer.port, { timeoutMs: 1500 });
  expect(p).toMatchObject({ address: "127.0.0.1", family: 4, port: peer.port, ok: true });
  expect(p.durationMs).toBeLessThan(1500);
});

test("a closed port is refused with Go's text", async () => {
  const port = await freePort();
  const p = await tcpProbe("127.0.0.1", port, { timeoutMs: 1500 });
  expect(p.ok).toBe(false);
  expect(p.error).toMatchObject({
    kind: "refused",
    code: "ECONNREFUSED",
    message: `dial tcp 127.0.0.1:${port}: connect: connection refused`,
  });
});

test("IPv6 loopback: refused, family 6, bracketed in the message", async () => {
  const port = await freePort();
  const p = await tcpProbe("::1", port, { timeoutMs: 1500 });
  expect(p.family).toBe(6);
  expect(p.error?.message).toContain(`[::1]:${port}`);
});

test("dropped SYNs (full accept queue) time out on our own timer", async () => {
  const peer = await blackhole();
  stops.push(peer.stop);
  const t0 = Date.now();
  const p = await tcpProbe("127.0.0.1", peer.port, { timeoutMs: 700 });
  expect(p.ok).toBe(false);
  expect(p.error?.kind).toBe("timeout");
  expect(p.error?.message).toContain("i/o timeout");
  expect(Date.now() - t0).toBeGreaterThanOrEqual(650);
  expect(Date.now() - t0).toBeLessThan(1500);
});

test("an aborted signal ends the probe at once", async () => {
  const peer = await blackhole();
  stops.push(peer.stop);
  const ac = new AbortController();
  setTimeout(() => ac.abort(), 50);
  const t0 = Date.now();
  const p = await tcpProbe("127.0.0.1", peer.port, { timeoutMs: 5000, signal: ac.signal });
  expect(p.ok).toBe(false);
  expect(p.error?.code).toBe("ABORTED");
  expect(Date.now() - t0).toBeLessThan(1000);
});

test("the reset server resets after the first bytes", async () => {
  const peer = await resetServer();
  stops.push(peer.stop);
  const net = await import("node:net");
  const code = await new Promise<string>((resolve) => {
    const s = net.connect(peer.port, "127.0.0.1", () => s.write("hello"));
    s.on("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? "?"));
    s.on("close", () => resolve("closed"));
  });
  expect(code).toBe("ECONNRESET");
});
