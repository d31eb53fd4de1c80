import { afterAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { ChunkedDecoder, H1Error, HeadReader, parseHead } from "../../src/registry/h1-parse";
import { H1Pool } from "../../src/registry/h1-pool";
import { MAX_RESPONSE_HEADER_BYTES } from "../../src/registry/http-errors";

/**
 * The diagnosis's HTTP/1.1 client (h1-client.ts, h1-parse.ts): framing as strict as the llhttp
 * it replaced, with llhttp's codes, and connections kept alive only when it is safe.
 */
const head = (s: string) => Buffer.from(`${s}\r\n\r\n`, "latin1");
const code = (f: () => unknown) => {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(H1Error);
    return (e as H1Error).code;
  }
  return "no error";
};

describe("parseHead", () => {
  test("status, reason, repeated headers as arrays, values as latin1 bytes, OWS trimmed", () => {
    const h = parseHead(head("HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Bearer a\r\nwww-authenticate:  Basic b \r\nX: \xff"), "GET");
    expect(h.status).toBe(401);
    expect(h.statusText).toBe("Unauthorized");
    expect(h.headers["www-authenticate"]).toEqual(["Bearer a", "Basic b"]);
    expect(h.headers.x).toBe("\xff");
    expect(h.framing).toEqual({ kind: "close" });
    expect(h.keepAlive).toBe(true);
  });
  test("a status line without a reason is read; HTTP/1.0 closes unless keep-alive", () => {
    expect(parseHead(head("HTTP/1.1 200"), "GET").statusText).toBe("");
    expect(parseHead(head("HTTP/1.0 200 OK\r\nContent-Length: 0"), "GET").keepAlive).toBe(false);
    expect(parseHead(head("HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0"), "GET").keepAlive).toBe(true);
    expect(parseHead(head("HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0"), "GET").keepAlive).toBe(false);
  });
  test("framing: HEAD, 204 and 304 have no body; chunked; Content-Length", () => {
    expect(parseHead(head("HTTP/1.1 200 OK\r\nContent-Length: 9"), "HEAD").framing).toEqual({ kind: "none" });
    expect(parseHead(head("HTTP/1.1 204 No Content"), "GET").framing).toEqual({ kind: "none" });
    expect(parseHead(head("HTTP/1.1 304 Not Modified\r\nContent-Length: 9"), "GET").framing).toEqual({ kind: "none" });
    expect(parseHead(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked"), "GET").framing).toEqual({ kind: "chunked" });
    expect(parseHead(head("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip"), "GET").framing).toEqual({ kind: "close" });
    expect(parseHead(head("HTTP/1.1 200 OK\r\nContent-Length: 12"), "GET").framing).toEqual({ kind: "length", bytes: 12 });
  });
  test("what llhttp refuses is refused with its code", () => {
    expect(code(() => parseHead(head("SSH-2.0-OpenSSH_9.2"), "GET"))).toBe("HPE_INVALID_CONSTANT");
    expect(code(() => parseHead(head("HTTP/1.1 2000 OK"), "GET"))).toBe("HPE_INVALID_STATUS");
    expect(code(() => parseHead(head("HTTP/1.1 200 OK\r\nServer: a\x1b[31m"), "GET"))).toBe("HPE_INVALID_HEADER_TOKEN");
    expect(code(() => parseHead(head("HTTP/1.1 200 OK\r\nBad Name: x"), "GET"))).toBe("HPE_INVALID_HEADER_TOKEN");
    expect(code(() => parseHead(head("HTTP/1.1 200 OK\r\nA: b\r\n folded"), "GET"))).toBe("HPE_INVALID_HEADER_TOKEN");
    expect(code(() => parseHead(head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 1"), "GET"))).toBe(
      "HPE_UNEXPECTED_CONTENT_LENGTH",
    );
    expect(code(() => parseHead(head("HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked"), "GET"))).toBe(
      "HPE_UNEXPECTED_CONTENT_LENGTH",
    );
    expect(code(() => parseHead(head("HTTP/1.1 200 OK\r\nContent-Length: -1"), "GET"))).toBe("HPE_INVALID_CONTENT_LENGTH");
  });
  test("HeadReader finds the blank line however the bytes arrive, and refuses a head past the limit", () => {
    const b = Buffer.from("HTTP/1.1 200 OK\r\nA: b\r\n\r\nbody");
    for (let cut = 1; cut < b.length; cut++) {
      const r = new HeadReader();
      const first = r.push(b.subarray(0, cut));
      const got = first ?? r.push(b.subarray(cut));
      expect(got?.head.toString()).toBe("HTTP/1.1 200 OK\r\nA: b\r\n\r\n");
      expect(first ? Buffer.concat([first.rest, b.subarray(cut)]).toString() : got?.rest.toString()).toBe("body");
    }
    const dripped = new HeadReader();
    for (const byte of b.subarray(0, 24)) expect(dripped.push(Buffer.from([byte]))).toBeNull();
    expect(dripped.push(b.subarray(24))?.rest.toString()).toBe("body");
    const flood = new HeadReader();
    expect(flood.push(Buffer.alloc(MAX_RESPONSE_HEADER_BYTES, 0x61))).toBeNull();
    expect(code(() => flood.push(Buffer.from("a")))).toBe("UND_ERR_HEADERS_OVERFLOW");
  });
});

describe("ChunkedDecoder", () => {
  test("chunks split anywhere, extensions and trailers; what follows the message is returned", () => {
    const wire = Buffer.from("5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nTrailer: x\r\n\r\nNEXT");
    for (let cut = 1; cut < wire.length; cut++) {
      const d = new ChunkedDecoder();
      const a = d.push(wire.subarray(0, cut));
      const b = a.done ? { data: [], done: true, rest: Buffer.alloc(0) } : d.push(wire.subarray(cut));
      expect(Buffer.concat([...a.data, ...b.data]).toString()).toBe("hello world");
      expect(b.done).toBe(true);
      expect((a.done ? Buffer.concat([a.rest, wire.subarray(cut)]) : b.rest).toString()).toBe("NEXT");
    }
  });
  test("a size that is not hex, or data not followed by CRLF, is an error", () => {
    expect(code(() => new ChunkedDecoder().push(Buffer.from("zz\r\n")))).toBe("HPE_INVALID_CHUNK_SIZE");
    expect(code(() => new ChunkedDecoder().push(Buffer.from("2\r\nabX\r\n")))).toBe("HPE_STRICT");
  });
});

describe("H1Pool over a real socket", () => {
  const servers: net.Server[] = [];
  afterAll(() => {
    for (const s of servers) s.close();
  });
  /** A server that answers each request with the next of `answers` on the same connection; counts connections. */
  async function server(answers: string[]): Promise<{ port: number; conns: () => number; requests: string[] }> {
    let conns = 0;
    const requests: string[] = [];
    const s = net.createServer((c) => {
      conns++;
      c.on("data", (d) => {
        requests.push(d.toString("latin1"));
        const a = answers.shift();
        if (a !== undefined) c.write(a);
      });
    });
    servers.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    return { port: (s.address() as net.AddressInfo).port, conns: () => conns, requests };
  }
  const pool = (port: number) =>
    new H1Pool((_o, done) => {
      const s = net.connect({ port, host: "127.0.0.1" });
      s.once("connect", () => done(null, s));
      s.once("error", (e) => done(e, null));
    });
  const text = async (body: AsyncIterable<Uint8Array>) => {
    const parts: Uint8Array[] = [];
    for await (const c of body) parts.push(c);
    return Buffer.concat(parts).toString();
  };
  const req = (port: number, method = "GET") => ({
    origin: `http://127.0.0.1:${port}`,
    path: "/v2/",
    method,
    headers: { "user-agent": "t" },
    signal: new AbortController().signal,
  });

  test("a 100 Continue, then a chunked answer, then a Content-Length one: one connection", async () => {
    const srv = await server([
      "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nde",
      "HTTP/1.1 200 OK\r\nContent-Length: 7\r\n\r\n",
    ]);
    const p = pool(srv.port);
    expect(await text((await p.request(req(srv.port))).body)).toBe("abc");
    expect(await text((await p.request(req(srv.port))).body)).toBe("de");
    const h = await p.request(req(srv.port, "HEAD"));
    expect([h.statusCode, await text(h.body)]).toEqual([200, ""]);
    expect(srv.conns()).toBe(1);
    expect(srv.requests[0]).toBe(`GET /v2/ HTTP/1.1\r\nhost: 127.0.0.1:${srv.port}\r\nuser-agent: t\r\n\r\n`);
    await p.close();
  });

  test("bytes beyond the announced length, or Connection: close, retire the connection", async () => {
    const srv = await server(["HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\naEXTRA", "HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nb"]);
    const p = pool(srv.port);
    expect(await text((await p.request(req(srv.port))).body)).toBe("a");
    // "EXTRA" is not an answer to anything: the next request goes out on a fresh connection.
    expect(await text((await p.request(req(srv.port))).body)).toBe("b");
    expect(srv.conns()).toBe(2);
    await p.close();
  });

  test("a body cut short fails with undici's code; a header value with CR LF is refused before sending", async () => {
    const port = await new Promise<number>((r) => {
      const s = net.createServer((c) => c.once("data", () => c.end("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")));
      servers.push(s);
      s.listen(0, "127.0.0.1", () => r((s.address() as net.AddressInfo).port));
    });
    const p = pool(port);
    const r = await p.request(req(port));
    const e = await text(r.body).then(
      () => null,
      (err) => err,
    );
    expect(e?.code).toBe("UND_ERR_SOCKET");
    const bad = p.request({ ...req(port), headers: { authorization: "Bearer x\r\nX-Evil: 1" } });
    await expect(bad).rejects.toMatchObject({ code: "UND_ERR_INVALID_ARG" });
    await p.close();
  });
});
