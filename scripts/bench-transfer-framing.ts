/**
 * Framing checks for the raw HTTP/1.1 loops of bench-transfer-loops.ts (and fetch beside
 * them, for comparison): a node:net server answers each path with hand-made bytes, and
 * each loop's outcome is printed. Exits 1 if a raw loop does not do what the adoption
 * plan in docs/performance.md ("Receive loop experiments (session 2)") relies on.
 *
 *   bun scripts/bench-transfer-framing.ts
 */
import { mkdtempSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { LOOPS } from "./bench-transfer-loops";

const body = (n: number) => Buffer.alloc(n, 0x61);
const head = (status: string, headers: string[]) =>
  Buffer.from(`HTTP/1.1 ${status}\r\n${headers.map((h) => `${h}\r\n`).join("")}\r\n`, "latin1");

/** path → what the server writes (pieces, with a pause between them), then whether it closes. */
const CASES: Record<string, { send: Buffer[]; close: boolean; size: number; expect: string }> = {
  "/ok": { send: [head("200 OK", ["Content-Length: 10"]), body(10)], close: false, size: 10, expect: "ok 10" },
  "/head-in-pieces": {
    send: [...[...head("200 OK", ["Content-Length: 10"])].map((b) => Buffer.from([b])), body(10)],
    close: false,
    size: 10,
    expect: "ok 10",
  },
  "/longer-than-content-length": { send: [head("200 OK", ["Content-Length: 10"]), body(25)], close: false, size: 10, expect: "ok 10" },
  "/cut-mid-body": { send: [head("200 OK", ["Content-Length: 20"]), body(7)], close: true, size: 20, expect: "cut 7" },
  // The lab's truncate-blob shape: 250 000 bytes then FIN at once. fetch's stream may drop what was queued
  // (docs/performance.md, "Bun's fetch for blob bodies"); a data callback that writes as it receives must not.
  "/cut-at-250000": {
    send: [Buffer.concat([head("200 OK", ["Content-Length: 500000"]), body(250000)])],
    close: true,
    size: 500000,
    expect: "cut 250000",
  },
  "/more-than-descriptor": { send: [head("200 OK", ["Content-Length: 20"]), body(20)], close: false, size: 10, expect: "too-long" },
  "/chunked": {
    send: [head("200 OK", ["Transfer-Encoding: chunked"]), Buffer.from("a\r\naaaaaaaaaa\r\n0\r\n\r\n")],
    close: false,
    size: 10,
    expect: "fallback",
  },
  "/no-length": { send: [head("200 OK", []), body(10)], close: true, size: 10, expect: "fallback" },
  "/continue-first": {
    send: [head("100 Continue", []), head("200 OK", ["Content-Length: 10"]), body(10)],
    close: false,
    size: 10,
    expect: "fallback",
  },
  "/two-lengths": {
    send: [head("200 OK", ["Content-Length: 10", "Content-Length: 12"]), body(12)],
    close: false,
    size: 12,
    expect: "fallback",
  },
  "/redirect": {
    send: [head("307 Temporary Redirect", ["Location: http://127.0.0.1:1/x", "Content-Length: 0"])],
    close: false,
    size: 10,
    expect: "status 307",
  },
  "/not-http": { send: [Buffer.from("SSH-2.0-OpenSSH\r\n\r\n")], close: true, size: 10, expect: "error" },
};

/** One server per case (a fresh port), so fetch's connection pool cannot carry one case's stray bytes into the next. */
async function serve(): Promise<{ base: string; close(): void }> {
  const server = net.createServer((sock) => {
    let req = "";
    sock.on("data", async (d) => {
      req += d.toString("latin1");
      if (!req.includes("\r\n\r\n")) return;
      const c = CASES[req.split(" ")[1]];
      req = "";
      for (const piece of c?.send ?? [head("404 Not Found", ["Content-Length: 0"])]) {
        sock.write(piece);
        await Bun.sleep(2);
      }
      if (c?.close) sock.destroy();
    });
    sock.on("error", () => {});
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  return { base: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, close: () => server.close() };
}
const dir = mkdtempSync(path.join(os.tmpdir(), "pd-framing-"));

async function outcome(loop: string, p: string, size: number): Promise<string> {
  const { base, close } = await serve();
  try {
    const o = await LOOPS[loop](base + p, { "Accept-Encoding": "identity" });
    if (o.head.status !== 200) return (o.cancel(), `status ${o.head.status}`);
    const r = await o.toFile(path.join(dir, `${loop}${p.replace(/\//g, "-")}`), size, () => {});
    return `ok ${r.total}`;
  } catch (e) {
    const x = e as Error & { code?: string; kind?: string; total?: number };
    if (x.code === "EFALLBACK") return "fallback";
    if (x.kind === "too-long") return "too-long";
    if (x.total !== undefined) return `cut ${x.total}`;
    return `error`;
  } finally {
    close();
  }
}

let wrong = 0;
console.log(`${"case".padEnd(30)}${"expected (raw)".padEnd(16)}${"raw-bunconnect".padEnd(16)}${"raw-nodenet".padEnd(16)}fetch-writesync`);
const REPEAT: Record<string, number> = { "/cut-at-250000": 30 };
for (const [p, c] of Object.entries(CASES)) {
  const seen: Set<string>[] = [new Set(), new Set(), new Set()];
  for (let i = 0; i < (REPEAT[p] ?? 1); i++) {
    const got = await Promise.all(
      ["raw-bunconnect", "raw-nodenet", "fetch-writesync"].map((l) =>
        Promise.race([outcome(l, p, c.size), Bun.sleep(3000).then(() => "hang")]),
      ),
    );
    got.forEach((g, k) => seen[k].add(g));
  }
  const col = (k: number) => [...seen[k]].join(" | ").padEnd(16);
  if ([0, 1].some((k) => seen[k].size !== 1 || !seen[k].has(c.expect))) wrong++;
  console.log(`${p.padEnd(30)}${c.expect.padEnd(16)}${col(0)}${col(1)}${col(2)}${REPEAT[p] ? `  (${REPEAT[p]} runs each)` : ""}`);
}
rmSync(dir, { recursive: true, force: true });
console.log(wrong ? `${wrong} case(s) not as expected` : "every raw outcome as expected");
process.exit(wrong ? 1 : 0);
