import { expect, test } from "bun:test";
import net from "node:net";
import { type BlobResponse, rawEligible, rawGet } from "../../src/pull/raw-get";
import { issueServerCert, makeCA } from "../helpers/pki";

/** A server that answers each request with these pieces (1 ms apart), then maybe closes. */
async function serve(pieces: (string | Buffer)[], close = false) {
  let n = 0;
  const requests: string[] = [];
  const closedAt: number[] = [];
  const server = net.createServer((sock) => {
    n++;
    let req = "";
    sock.on("error", () => {});
    sock.on("close", () => closedAt.push(performance.now()));
    sock.on("data", async (d) => {
      req += d.toString("latin1");
      if (!req.includes("\r\n\r\n")) return;
      requests.push(req);
      req = "";
      for (const p of pieces) {
        sock.write(p);
        await Bun.sleep(1);
      }
      if (close) sock.destroy();
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as net.AddressInfo).port;
  return { url: `http://127.0.0.1:${port}/v2/x/blobs/sha256:00?a=1`, connections: () => n, requests, closedAt, stop: () => server.close() };
}
const ok = (n: number, extra = "") => [`HTTP/1.1 200 OK\r\nContent-Length: ${n}\r\n${extra}\r\n`, Buffer.alloc(n, 0x61)];
const never = new AbortController().signal;
const init = { method: "GET", redirect: "manual", decompress: false, proxy: false } as unknown as BunFetchRequestInit;

async function readAll(r: BlobResponse): Promise<{ got: number; err: { code?: string; message: string } | null }> {
  const reader = r.body!.getReader();
  let got = 0;
  try {
    for (;;) {
      const c = await reader.read();
      if (c.done) return { got, err: null };
      got += c.value.length;
    }
  } catch (e) {
    return { got, err: e as Error };
  }
}

test("one Content-Length body, the head arriving a byte at a time: the request as fetch words it, every byte, then done", async () => {
  const [h, b] = ok(10);
  const s = await serve([...[...Buffer.from(h as string)].map((c) => Buffer.from([c]) as Buffer), b as Buffer]);
  const r = (await rawGet(s.url, { Host: "registry.test:5000", "Accept-Encoding": "identity" }, init, never))!;
  expect([r.status, r.statusText, r.headers.get("content-length"), r.bodyUsed]).toEqual([200, "OK", "10", false]);
  expect(await readAll(r)).toEqual({ got: 10, err: null });
  expect(r.bodyUsed).toBe(true);
  const req = s.requests[0]!;
  expect(req.startsWith("GET /v2/x/blobs/sha256:00?a=1 HTTP/1.1\r\nHost: registry.test:5000\r\n")).toBe(true);
  expect(req).toContain("Accept-Encoding: identity\r\n");
  expect(req).toContain("Connection: close\r\n");
  s.stop();
});

test("bytes past Content-Length are not the body", async () => {
  const s = await serve([`${ok(10)[0]}${"a".repeat(25)}`]);
  expect(await readAll((await rawGet(s.url, {}, init, never))!)).toEqual({ got: 10, err: null });
  s.stop();
});

test("a cut keeps every byte received (250 000 of 500 000, then FIN; 10 times), then fails as fetch words it", async () => {
  const s = await serve([Buffer.concat([Buffer.from("HTTP/1.1 200 OK\r\nContent-Length: 500000\r\n\r\n"), Buffer.alloc(250000, 1)])], true);
  for (let i = 0; i < 10; i++) {
    const { got, err } = await readAll((await rawGet(s.url, {}, init, never))!);
    expect([got, err?.code, err?.message]).toEqual([250000, "ECONNRESET", "ECONNRESET: The socket connection was closed unexpectedly."]);
  }
  s.stop();
});

test("a connection closed before the head fails as fetch's does (the request was out: no second GET)", async () => {
  const s = await serve(["HTTP/1.1 200 OK\r\nContent-"], true);
  const e = await rawGet(s.url, {}, init, never).then(
    () => null,
    (x) => x,
  );
  expect([e?.code, s.connections()]).toEqual(["ECONNRESET", 1]);
  s.stop();
});

test("every other framing, a malformed head, a 1xx or a head over 64 KiB goes to fetch (null)", async () => {
  for (const head of [
    "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    "HTTP/1.1 200 OK\r\n\r\naaaa",
    "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\na",
    "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\naa",
    "HTTP/1.1 200 OK\r\nContent-Length: 1e3\r\n\r\na",
    "HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n",
    "HTTP/2 200\r\nContent-Length: 1\r\n\r\na",
    "SSH-2.0-OpenSSH_9.2\r\n\r\n",
    `HTTP/1.1 200 OK\r\nX-Big: ${"b".repeat(70000)}\r\nContent-Length: 1\r\n\r\na`,
  ]) {
    const s = await serve([head], true);
    expect(await rawGet(s.url, {}, init, never)).toBeNull();
    s.stop();
  }
});

test("a redirect's and an error's head and body come back as they are (the main thread decides)", async () => {
  const s = await serve(["HTTP/1.1 307 Temporary Redirect\r\nLocation: https://cdn.test/b\r\nContent-Length: 0\r\n\r\n"]);
  const r = (await rawGet(s.url, {}, init, never))!;
  expect([r.status, r.statusText, r.headers.get("location")]).toEqual([307, "Temporary Redirect", "https://cdn.test/b"]);
  expect(await readAll(r)).toEqual({ got: 0, err: null });
  s.stop();
  const body = '{"errors":[{"code":"UNAUTHORIZED"}]}';
  const u = await serve([
    `HTTP/1.1 401 Unauthorized\r\nContent-Length: ${body.length}\r\nWww-Authenticate: a\r\nWww-Authenticate: b\r\n\r\n${body}`,
  ]);
  const r2 = (await rawGet(u.url, {}, init, never))!;
  expect([r2.status, r2.headers.get("www-authenticate"), (await readAll(r2)).got]).toEqual([401, "a, b", body.length]);
  u.stop();
});

test("a header with CR/LF or a name that is no token goes to fetch before anything is sent (no request splitting)", async () => {
  const s = await serve(ok(1));
  expect(await rawGet(s.url, { Authorization: "Bearer x\r\nX-Evil: 1" }, init, never)).toBeNull();
  expect(await rawGet(s.url, { "Bad Name": "1" }, init, never)).toBeNull();
  expect(await rawGet(s.url, { Authorization: "Bearer \u0001x" }, init, never)).toBeNull();
  expect(await rawGet(s.url, { Authorization: "Bearer \u20acx" }, init, never)).toBeNull();
  await Bun.sleep(20);
  expect(s.connections()).toBe(0);
  s.stop();
});

test("a reader that stops (too long, disk full) and cancels closes the connection", async () => {
  const s = await serve(ok(32 << 20));
  const r = (await rawGet(s.url, {}, init, never))!;
  const reader = r.body!.getReader();
  await reader.read();
  await reader.cancel();
  const err = await reader.read().then(
    () => null,
    (e) => String(e?.message),
  );
  expect(err).toBe("cancelled");
  await Bun.sleep(50);
  expect(s.closedAt.length).toBe(1);
  s.stop();
});

test("an abort mid-body rejects with its reason; a body not read yet waits in the kernel, then arrives whole", async () => {
  const big = 64 << 20;
  let written = false;
  const server = net.createServer((sock) => {
    sock.on("error", () => {});
    sock.once("data", () => {
      sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${big}\r\n\r\n`);
      sock.write(Buffer.alloc(big, 7), () => {
        written = true;
      });
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const url = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}/b`;
  const r = (await rawGet(url, {}, init, never))!;
  await Bun.sleep(150);
  // Paused: the kernel's buffers fill and the server cannot hand over the rest.
  expect(written).toBe(false);
  expect(await readAll(r)).toEqual({ got: big, err: null });
  const ac = new AbortController();
  const r2 = (await rawGet(url, {}, init, ac.signal))!;
  const reader = r2.body!.getReader();
  await reader.read();
  ac.abort(new Error("interrupted"));
  const why = await (async () => {
    for (;;) if ((await reader.read()).done) return "done";
  })().catch((e) => String(e?.message));
  expect(why).toBe("interrupted");
  server.close();
});

test("https: the CA and the name are verified; an unknown CA, a wrong name or an IP without its SAN go to fetch", async () => {
  const ca = makeCA("raw-get CA");
  const leaf = issueServerCert(ca, { cn: "registry.test", sans: ["DNS:registry.test"] });
  const srv = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    tls: { cert: leaf.cert, key: leaf.key },
    fetch: () => new Response(new Uint8Array(1000)),
  });
  const url = `https://127.0.0.1:${srv.port}/blob`;
  const tls = (t: object) => ({ ...init, tls: t }) as BunFetchRequestInit;
  try {
    expect(await rawGet(url, {}, tls({ serverName: "registry.test" }), never)).toBeNull();
    const r = (await rawGet(url, {}, tls({ ca: [ca.cert], serverName: "registry.test", rejectUnauthorized: true }), never))!;
    expect([r.status, await readAll(r)]).toEqual([200, { got: 1000, err: null }]);
    expect(await rawGet(url, {}, tls({ ca: [ca.cert], serverName: "other.test", rejectUnauthorized: true }), never)).toBeNull();
    expect(await rawGet(url, {}, tls({ ca: [ca.cert], rejectUnauthorized: true }), never)).toBeNull();
    // --insecure-registry (rejectUnauthorized: false): an unknown CA is accepted, as fetch accepts it.
    const insecure = (await rawGet(url, {}, tls({ rejectUnauthorized: false }), never))!;
    expect((await readAll(insecure)).got).toBe(1000);
  } finally {
    srv.stop(true);
    ca.cleanup();
  }
});

test("only direct http/https GETs take the raw path; through a proxy fetch does the CONNECT", async () => {
  expect(rawEligible("http://r/x", init)).toBe(true);
  expect(rawEligible("https://r/x", { ...init, proxy: "http://p:3128" })).toBe(false);
  expect(rawEligible("http://r/x", { ...init, method: "HEAD" })).toBe(false);
  expect(rawEligible("file:///etc/passwd", init)).toBe(false);
  const s = await serve(ok(1));
  expect(await rawGet(s.url, {}, { ...init, proxy: "http://127.0.0.1:9" }, never)).toBeNull();
  expect(s.connections()).toBe(0);
  s.stop();
});

test("in a blob Worker: a Content-Length body takes the raw loop, a chunked one fetch, each with one head and the same file", async () => {
  const { Lanes } = await import("../../src/pull/lanes");
  const { mkdtempSync, readFileSync, rmSync } = await import("node:fs");
  const { tmpdir } = await import("node:os");
  const path = await import("node:path");
  const data = Buffer.alloc(3 << 20, 0x5a);
  const seen: string[] = [];
  const server = net.createServer((sock) => {
    sock.on("error", () => {});
    sock.once("data", (d) => {
      const req = d.toString("latin1");
      seen.push(/connection: ([\w-]+)/i.exec(req)?.[1] ?? "");
      if (req.startsWith("GET /chunked"))
        sock.end(`HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n${data.length.toString(16)}\r\n${data}\r\n0\r\n\r\n`);
      else sock.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Length: ${data.length}\r\n\r\n`), data]));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const base = `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`;
  const dir = mkdtempSync(path.join(tmpdir(), "raw-get-"));
  const lanes = new Lanes(1);
  try {
    const digest = new Bun.CryptoHasher("sha256").update(data).digest("hex");
    for (const route of ["/blob", "/chunked"]) {
      const o = { headers: { "Accept-Encoding": "identity" }, signal: never, init, tls: null };
      const res = await lanes.open(base + route, o);
      const file = path.join(dir, route.slice(1));
      const job = { path: file, offset: 0, size: data.length, algorithm: "sha256" as const, onBytes: () => {} };
      expect([res.status, await res.toFile!(job)]).toEqual([200, { total: data.length, digest }]);
      expect(readFileSync(file).equals(data)).toBe(true);
    }
    // The raw loop asks with Connection: close; the chunked answer is dropped and the GET sent again by fetch (keep-alive).
    expect(seen).toEqual(["close", "close", "keep-alive"]);
  } finally {
    lanes.close();
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
