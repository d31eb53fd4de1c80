import { afterAll, beforeAll, expect, test } from "bun:test";
import net from "node:net";
import tls from "node:tls";
import { BunWire, type Wire, type WireTls } from "../../src/net/bun-wire";
import { type CA, fullChain, issueServerCert, type KeyPair, makeCA } from "../helpers/pki";
import { freePort } from "../peers/require";

/*
 * BunWire against node's own sockets, on the same servers: the classifiers read its errors as they
 * read node's, so the codes, the words and the order of the events must be node's.
 */

let ca: CA;
let leaf: KeyPair;
let tlsServer: Bun.TCPSocketListener<undefined>;
let plainServer: Bun.TCPSocketListener<undefined>;
let bigServer: Bun.TCPSocketListener<undefined>;
const BIG = 8 * 1024 * 1024;

beforeAll(() => {
  ca = makeCA("Wire Test Root");
  leaf = issueServerCert(ca, { cn: "registry.test", sans: ["DNS:registry.test", "IP:127.0.0.1"] });
  tlsServer = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    tls: { cert: Bun.file(fullChain(leaf)), key: leaf.key },
    socket: { data: (s) => void s.write("pong"), open() {} },
  });
  plainServer = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: { data: (s) => void s.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"), open() {} },
  });
  // Echoes the byte count of what it received once the client half-closes… or once BIG bytes came.
  let got = 0;
  bigServer = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      data(s, d) {
        got += d.length;
        if (got >= BIG) s.end(String(got));
      },
      open() {
        got = 0;
      },
    },
  });
});
afterAll(() => {
  for (const s of [tlsServer, plainServer, bigServer]) s.stop(true);
  ca.cleanup();
});

/** Every event a socket emits, in order, until 'close' (or 300 ms). */
function events(w: Wire | net.Socket, write?: string): Promise<string[]> {
  return new Promise((resolve) => {
    const seen: string[] = [];
    const done = () => resolve(seen);
    const timer = setTimeout(done, 300);
    w.on("connect", () => seen.push("connect"));
    w.on("secureConnect", () => {
      seen.push("secureConnect");
      if (write) w.write(write);
    });
    w.on("data", (d: Buffer) => seen.push(`data:${d.toString("latin1").slice(0, 20)}`));
    w.on("error", (e: NodeJS.ErrnoException) => seen.push(`error:${e.code}:${e.message}`));
    w.on("close", () => {
      clearTimeout(timer);
      seen.push("close");
      done();
    });
  });
}

test("refused: node's code and words, 'error' then 'close'", async () => {
  const port = await freePort();
  const bun = await events(BunWire.connect("127.0.0.1", port));
  const node = await events(net.connect({ host: "127.0.0.1", port }));
  expect(bun).toEqual(node);
  expect(bun[0]).toBe(`error:ECONNREFUSED:connect ECONNREFUSED 127.0.0.1:${port}`);
});

test("a connect that fails during the call itself (a link-local address with a zone) is reported to the listeners added after it, as node reports it", async () => {
  const port = await freePort();
  const bun = await events(BunWire.connect("fe80::1%lo", port));
  const node = await events(net.connect({ host: "fe80::1%lo", port }));
  expect(bun).toEqual(node);
  expect(bun[0]).toStartWith("error:");
});

const tlsCases: [string, () => WireTls, string | null][] = [
  ["verified", () => ({ serverName: "registry.test", ca: [ca.cert], rejectUnauthorized: true }), null],
  ["unknown CA, rejected", () => ({ serverName: "registry.test", rejectUnauthorized: true }), "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
  ["unknown CA, not rejected", () => ({ serverName: "registry.test", rejectUnauthorized: false }), "UNABLE_TO_VERIFY_LEAF_SIGNATURE"],
  ["wrong name, rejected", () => ({ serverName: "other.test", ca: [ca.cert], rejectUnauthorized: true }), "ERR_TLS_CERT_ALTNAME_INVALID"],
  [
    "wrong name, not rejected",
    () => ({ serverName: "other.test", ca: [ca.cert], rejectUnauthorized: false }),
    "ERR_TLS_CERT_ALTNAME_INVALID",
  ],
];

test.each(tlsCases.map(([name, , code]) => [name, code]))(
  "TLS %s: the same events as node:tls (authorization error %p)",
  async (name, code) => {
    const opts = tlsCases.find((c) => c[0] === name)![1]();
    const port = tlsServer.port;
    const w = BunWire.connect("127.0.0.1", port, opts);
    const bun = await events(w, "ping");
    const n = tls.connect({
      host: "127.0.0.1",
      port,
      servername: opts.serverName,
      rejectUnauthorized: opts.rejectUnauthorized,
      ca: opts.ca,
    });
    const node = (await events(n, "ping")).filter((e) => e !== "connect");
    expect(bun.filter((e) => e !== "connect")).toEqual(node);
    expect(w.authorizationError?.code ?? null).toBe(code);
  },
);

test("TLS to a plain-HTTP server: ERR_SSL_WRONG_VERSION_NUMBER, as node:tls says it", async () => {
  const bun = await events(BunWire.connect("127.0.0.1", plainServer.port, { rejectUnauthorized: false }));
  expect(bun.find((e) => e.startsWith("error:"))).toStartWith("error:ERR_SSL_WRONG_VERSION_NUMBER:");
  expect(bun.at(-1)).toBe("close");
});

test("the TLS upgrade of a connected socket: the raw side still shows the server's first bytes", async () => {
  const raw = BunWire.connect("127.0.0.1", plainServer.port);
  await new Promise((r) => raw.once("connect", r));
  const first: string[] = [];
  raw.on("data", (d: Buffer) => first.push(d.toString("latin1")));
  const seen = await events(raw.startTls({ rejectUnauthorized: false }));
  expect(first.join("")).toStartWith("HTTP/1.1 400");
  expect(seen.find((e) => e.startsWith("error:"))).toStartWith("error:ERR_SSL_WRONG_VERSION_NUMBER:");
});

test("destroy(): 'close' comes after the caller's code has run, never in the middle of it", async () => {
  const w = BunWire.connect("127.0.0.1", plainServer.port);
  await new Promise((r) => w.once("connect", r));
  const order: string[] = [];
  w.on("close", () => order.push("close"));
  w.destroy();
  order.push("after destroy");
  await Bun.sleep(10);
  expect(order).toEqual(["after destroy", "close"]);
  expect(w.destroyed).toBe(true);
});

test("a write larger than the socket takes at once is sent whole", async () => {
  const w = BunWire.connect("127.0.0.1", bigServer.port);
  const answer = new Promise<string>((resolve) => w.on("data", (d: Buffer) => resolve(d.toString())));
  w.write(new Uint8Array(BIG).fill(7));
  expect(await answer).toBe(String(BIG));
  w.destroy();
});
