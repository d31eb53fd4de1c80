import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import { type FaultPeer, resetServer, silentServer } from "../peers/tcp-faults";
import { runConnect } from "./connect-helpers";

// Docker's HTTP fallback for an insecure registry: when HTTPS fails outright (a reset, a
// silent handshake), it retries the same address over plain HTTP. A middlebox that resets TLS
// but lets plain HTTP through makes the registry usable over HTTP — for Docker only.
let sniReset: net.Server;
let sniPort = 0;
let reset: FaultPeer;
let silent: FaultPeer;

beforeAll(async () => {
  // Resets whatever starts like a TLS record (0x16), answers HTTP otherwise: a real socket
  // behaviour of SNI-filtering middleboxes in front of a plain-HTTP registry.
  sniReset = net.createServer((s) => {
    s.once("data", (d: Buffer) => {
      if (d[0] === 0x16) return s.resetAndDestroy();
      s.end("HTTP/1.1 200 OK\r\nDocker-Distribution-Api-Version: registry/2.0\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}");
    });
  });
  await new Promise<void>((r) => sniReset.listen(0, "127.0.0.1", r));
  sniPort = (sniReset.address() as net.AddressInfo).port;
  reset = await resetServer();
  silent = await silentServer();
});
afterAll(async () => {
  sniReset?.close();
  await reset?.stop();
  await silent?.stop();
});

test("insecure registry: TLS reset but plain HTTP answers ⇒ usable over http, CONNECT_RESET is a warning naming the retry", async () => {
  const r = await runConnect({ hostname: "127.0.0.1", port: sniPort, addresses: ["127.0.0.1"] });
  // Plain HTTP is what the pull will use: said too (info on loopback).
  expect(r.codes).toEqual(["CONNECT_RESET", "TLS_INSECURE_IN_USE"]);
  const f = r.f("CONNECT_RESET");
  expect(f.severity).toBe("warning");
  expect(f.detail).toContain("retries over plain HTTP, which answered (HTTP/1.1 200 OK)");
  expect((f.evidence.plainHttpRetry as { ok: boolean }).ok).toBe(true);
  expect(r.provides?.link).toMatchObject({ scheme: "http", baseUrl: `http://127.0.0.1:${sniPort}`, insecure: true });
});

test("insecure registry: TLS reset and plain HTTP reset too ⇒ error, no link, the retry is in the evidence", async () => {
  const r = await runConnect({ hostname: "127.0.0.1", port: reset.port, addresses: ["127.0.0.1"] });
  const f = r.f("CONNECT_RESET");
  expect(f.severity).toBe("error");
  expect((f.evidence.plainHttpRetry as { ok: boolean }).ok).toBe(false);
  expect(r.provides).toBeUndefined();
});

test("secure registry: no plain-HTTP retry at all (Docker never falls back), TLS reset is an error", async () => {
  const r = await runConnect({ hostname: "registry.test", port: sniPort, addresses: ["0.0.0.0"] });
  const f = r.f("CONNECT_RESET");
  expect(f.severity).toBe("error");
  expect(f.evidence.plainHttpRetry).toBeUndefined();
  expect(r.provides).toBeUndefined();
});

test("insecure registry whose TLS handshake hangs and plain HTTP hangs too: ends within the timeouts", async () => {
  const started = Date.now();
  const r = await runConnect({ hostname: "127.0.0.1", port: silent.port, addresses: ["127.0.0.1"], timeoutMs: 700 });
  expect(r.codes).toContain("TLS_HANDSHAKE_FAILED");
  expect(r.f("TLS_HANDSHAKE_FAILED").severity).toBe("error");
  expect(Date.now() - started).toBeLessThan(3000);
});
