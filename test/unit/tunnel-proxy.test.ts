import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { Secret } from "../../src/model/secret";
import { openTunnel, TunnelError } from "../../src/net/tunnel";
import { freePort } from "../peers/require";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";

/** A TCP echo server standing in for the registry behind the proxy. */
let echo: net.Server;
let echoPort: number;
let open: TinyproxyPeer;
let authed: TinyproxyPeer;
let restricted: TinyproxyPeer;
const servers: net.Server[] = [];

async function listen(handler: (s: net.Socket) => void): Promise<number> {
  const srv = net.createServer(handler);
  servers.push(srv);
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  return (srv.address() as net.AddressInfo).port;
}

async function failure(p: Promise<unknown>): Promise<TunnelError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(TunnelError);
    return e as TunnelError;
  }
  throw new Error("expected the tunnel to fail");
}

beforeAll(async () => {
  echoPort = await listen((s) => s.pipe(s));
  echo = servers[0]!;
  [open, authed, restricted] = await Promise.all([
    startTinyproxy(),
    startTinyproxy({ basicAuth: { user: "alice", password: "s3cret-pw" } }),
    startTinyproxy({ connectPorts: [443] }),
  ]);
});
afterAll(async () => {
  await Promise.all([open?.stop(), authed?.stop(), restricted?.stop()]);
  for (const s of servers) s.close();
  void echo;
});

describe("openTunnel through a real tinyproxy", () => {
  test("CONNECT 200: the socket reaches the target", async () => {
    const t = await openTunnel({ proxyUrl: open.url, auth: null, host: "127.0.0.1", port: echoPort, timeoutMs: 3000 });
    expect(t.status).toBe(200);
    expect(t.proxyAddress).toBe(`127.0.0.1:${open.port}`);
    const got = await new Promise<string>((resolve) => {
      t.socket.once("data", (d) => resolve(d.toString()));
      t.socket.resume();
      t.socket.write("ping");
    });
    expect(got).toBe("ping");
    t.socket.destroy();
  });

  test("407 without credentials, with the Basic challenge; 200 with them; 407 with a wrong password", async () => {
    const e = await failure(openTunnel({ proxyUrl: authed.url, auth: null, host: "127.0.0.1", port: echoPort, timeoutMs: 3000 }));
    expect(e.kind).toBe("auth-required");
    expect(e.status).toBe(407);
    expect(e.proxyAuthenticate).toMatch(/^Basic/i);
    expect(e.message).toBe("Proxy Authentication Required");
    const ok = await openTunnel({
      proxyUrl: authed.url,
      auth: { username: "alice", password: new Secret("s3cret-pw") },
      host: "127.0.0.1",
      port: echoPort,
      timeoutMs: 3000,
    });
    expect(ok.status).toBe(200);
    ok.socket.destroy();
    const wrong = await failure(
      openTunnel({
        proxyUrl: authed.url,
        auth: { username: "alice", password: new Secret("wrong-pw") },
        host: "127.0.0.1",
        port: echoPort,
        timeoutMs: 3000,
      }),
    );
    expect(wrong.kind).toBe("auth-required");
    expect(JSON.stringify({ ...wrong, message: wrong.message })).not.toContain("wrong-pw");
  });

  test("ConnectPort restriction: 403 is 'refused' with Go's status text", async () => {
    const e = await failure(openTunnel({ proxyUrl: restricted.url, auth: null, host: "127.0.0.1", port: echoPort, timeoutMs: 3000 }));
    expect(e.kind).toBe("refused");
    expect(e.status).toBe(403);
    expect(e.statusLine).toMatch(/^HTTP\/1\.[01] 403 Access violation$/);
    expect(e.message).toBe("Access violation"); // what docker would print after the URL
  });

  test("https:// proxy URL on tinyproxy's plain port: the TLS handshake never completes, within the timeout", async () => {
    const t0 = Date.now();
    const e = await failure(
      openTunnel({ proxyUrl: `https://127.0.0.1:${open.port}`, auth: null, host: "127.0.0.1", port: echoPort, timeoutMs: 600 }),
    );
    expect(e.kind).toBe("protocol");
    expect(e.phase).toBe("proxy-tls");
    // tinyproxy waits for a request line: usually the ClientHello has none and the handshake times
    // out; when its random bytes happen to hold a newline, tinyproxy answers 400 in plain HTTP
    // at once. Docker prints one or the other for the same proxy; both are the same finding.
    expect(e.message).toMatch(/TLS handshake timeout|first record does not look like a TLS handshake/);
    expect(Date.now() - t0).toBeLessThan(2000);
  });
});

describe("openTunnel failures without tinyproxy", () => {
  test("closed port: unreachable, in Docker's words", async () => {
    const port = await freePort();
    const e = await failure(
      openTunnel({ proxyUrl: `http://127.0.0.1:${port}`, auth: null, host: "registry.example", port: 443, timeoutMs: 2000 }),
    );
    expect(e.kind).toBe("unreachable");
    expect(e.code).toBe("ECONNREFUSED");
    expect(e.message).toBe(`proxyconnect tcp: dial tcp 127.0.0.1:${port}: connect: connection refused`);
  });

  test("a proxy that accepts and stays silent ends in a timeout within timeoutMs", async () => {
    const port = await listen(() => {});
    const t0 = Date.now();
    const e = await failure(
      openTunnel({ proxyUrl: `http://127.0.0.1:${port}`, auth: null, host: "registry.example", port: 443, timeoutMs: 400 }),
    );
    expect(e.kind).toBe("timeout");
    expect(e.phase).toBe("connect");
    expect(Date.now() - t0).toBeLessThan(2000);
  });

  test("a server that does not speak HTTP is a protocol error; a closed connection too", async () => {
    const ssh = await listen((s) => s.write("SSH-2.0-OpenSSH_9.2\r\n"));
    const e = await failure(openTunnel({ proxyUrl: `http://127.0.0.1:${ssh}`, auth: null, host: "r.example", port: 443, timeoutMs: 2000 }));
    expect(e.kind).toBe("protocol");
    expect(e.message).toContain("does not speak HTTP");
    const closer = await listen((s) => s.end());
    const c = await failure(
      openTunnel({ proxyUrl: `http://127.0.0.1:${closer}`, auth: null, host: "r.example", port: 443, timeoutMs: 2000 }),
    );
    expect(c.kind).toBe("protocol");
  });

  test("https:// proxy URL on a port that answers in plain HTTP: Docker's TLS record error", async () => {
    const port = await listen((s) => s.end("HTTP/1.0 400 Bad Request\r\nContent-Length: 0\r\n\r\n"));
    const e = await failure(
      openTunnel({ proxyUrl: `https://127.0.0.1:${port}`, auth: null, host: "r.example", port: 443, timeoutMs: 2000 }),
    );
    expect(e.kind).toBe("protocol");
    expect(e.phase).toBe("proxy-tls");
    expect(e.message).toBe("proxyconnect tcp: tls: first record does not look like a TLS handshake");
  });

  test("the signal cancels a hanging CONNECT", async () => {
    const port = await listen(() => {});
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 100);
    const e = await failure(
      openTunnel({ proxyUrl: `http://127.0.0.1:${port}`, auth: null, host: "r.example", port: 443, timeoutMs: 10_000, signal: ac.signal }),
    );
    expect(e.code).toBe("ABORTED");
  });

  test("a hostile proxy: a response head that never ends stops at 64 KiB; a CONNECT answer dripped a byte at a time ends at the deadline", async () => {
    // Floods "HTTP/1.1 200 OK\r\nX: aaaa…" without ever ending the head.
    const flood = await listen((s) => {
      s.write("HTTP/1.1 200 Connection established\r\nX-Filler: ");
      const chunk = Buffer.alloc(16 * 1024, 0x61);
      const pump = () => {
        while (!s.destroyed && s.write(chunk));
        if (!s.destroyed) s.once("drain", pump);
      };
      pump();
      s.on("error", () => {});
    });
    const e = await failure(
      openTunnel({ proxyUrl: `http://127.0.0.1:${flood}`, auth: null, host: "r.example", port: 443, timeoutMs: 3000 }),
    );
    expect(e.kind).toBe("protocol");
    expect(e.message).toContain(`more than ${64 * 1024} bytes without ending its response head`);
    const text = "HTTP/1.1 200 Connection established\r\n\r\n";
    const drip = await listen((s) => {
      let i = 0;
      const t = setInterval(() => (s.destroyed || i >= text.length ? clearInterval(t) : s.write(text[i++]!)), 100);
      s.on("error", () => clearInterval(t));
      s.on("close", () => clearInterval(t));
    });
    const t0 = Date.now();
    const d = await failure(openTunnel({ proxyUrl: `http://127.0.0.1:${drip}`, auth: null, host: "r.example", port: 443, timeoutMs: 800 }));
    expect(d.kind).toBe("timeout");
    expect(Date.now() - t0).toBeLessThan(2500);
  });

  test("credentials in the proxy URL never reach the error", async () => {
    const port = await freePort();
    const e = await failure(
      openTunnel({ proxyUrl: `http://bob:hunter2-pw@127.0.0.1:${port}`, auth: null, host: "r.example", port: 443, timeoutMs: 2000 }),
    );
    expect(e.proxy).not.toContain("hunter2-pw");
    expect(e.message).not.toContain("hunter2-pw");
  });
});
