import { afterAll, expect, test } from "bun:test";
import net from "node:net";
import { SharedConnections } from "../../src/model/connections";
import { createHttpClient, type HttpClientConfig } from "../../src/registry/http";
import { testDeps } from "../helpers/context";

const stops: (() => void)[] = [];
afterAll(() => {
  for (const s of stops) s();
});

/**
 * A raw HTTP/1.1 server that counts connections and answers each request with `answer(n)`,
 * n = the request's number on its connection (1 = the first); null = close the socket unanswered.
 */
async function server(answer: (n: number, head: string) => string | null): Promise<{ port: number; connections: () => number }> {
  let connections = 0;
  const s = net.createServer((c) => {
    connections++;
    let n = 0;
    let buf = "";
    c.on("data", (d) => {
      buf += d.toString("latin1");
      for (let i = buf.indexOf("\r\n\r\n"); i >= 0; i = buf.indexOf("\r\n\r\n")) {
        const head = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const out = answer(++n, head);
        if (out === null) return void c.destroy();
        c.write(out);
      }
    });
    c.on("error", () => {});
  });
  stops.push(() => s.close());
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return { port: (s.address() as net.AddressInfo).port, connections: () => connections };
}

const ok = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n{}";
const okHead = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nContent-Type: application/json\r\n\r\n";

test("clients of one run with the same settings share one kept-alive connection, HEADs included", async () => {
  const srv = await server((_n, head) => (head.startsWith("HEAD") ? okHead : ok));
  const connections = new SharedConnections();
  const settings: HttpClientConfig = { deps: testDeps(), timeoutMs: 2000, connections };
  const url = `http://127.0.0.1:${srv.port}/v2/`;
  // As the stages do: each its own client, each closed at its end.
  for (const method of ["GET", "HEAD", "HEAD", "GET"] as const) {
    const c = createHttpClient(settings);
    expect((await c.request({ method, url })).status).toBe(200);
    await c.close();
  }
  expect(srv.connections()).toBe(1);
  await connections.close();
});

test("without a shared set each client opens its own connection", async () => {
  const srv = await server(() => ok);
  const url = `http://127.0.0.1:${srv.port}/v2/`;
  for (let i = 0; i < 2; i++) {
    const c = createHttpClient({ deps: testDeps(), timeoutMs: 2000 });
    await c.request({ method: "GET", url });
    await c.close();
  }
  expect(srv.connections()).toBe(2);
});

test("a kept-alive connection closed under a GET: sent again on a fresh one, as Go's transport does", async () => {
  // The second request on any connection finds it closed: what a server's idle timeout racing the request looks like.
  const srv = await server((n) => (n === 1 ? ok : null));
  const connections = new SharedConnections();
  const settings: HttpClientConfig = { deps: testDeps(), timeoutMs: 2000, connections };
  const url = `http://127.0.0.1:${srv.port}/v2/`;
  const c = createHttpClient(settings);
  expect((await c.request({ method: "GET", url })).status).toBe(200);
  expect((await c.request({ method: "GET", url })).status).toBe(200);
  expect(srv.connections()).toBe(2);
  await connections.close();
});

test("a fresh connection closed unanswered is a failure, not retried", async () => {
  const srv = await server(() => null);
  const connections = new SharedConnections();
  const c = createHttpClient({ deps: testDeps(), timeoutMs: 2000, connections });
  await expect(c.request({ method: "GET", url: `http://127.0.0.1:${srv.port}/v2/` })).rejects.toThrow();
  expect(srv.connections()).toBe(1);
  await connections.close();
});

test("a POST is never sent twice", async () => {
  const srv = await server((n) => (n === 1 ? ok : null));
  const connections = new SharedConnections();
  const c = createHttpClient({ deps: testDeps(), timeoutMs: 2000, connections });
  const url = `http://127.0.0.1:${srv.port}/token`;
  await c.request({ method: "GET", url });
  await expect(c.request({ method: "POST", url, body: "x=1" })).rejects.toThrow();
  expect(srv.connections()).toBe(1);
  await connections.close();
});
