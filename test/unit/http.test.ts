import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import { Secret } from "../../src/model/secret";
import { MemoryTrace } from "../../src/model/trace";
import { readBody } from "../../src/registry/blob";
import { createHttpClient, type HttpClientConfig, NetError } from "../../src/registry/http";
import { testDeps } from "../helpers/context";
import { selfSigned } from "../helpers/pki";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";

const stops: (() => void)[] = [];
afterAll(() => {
  for (const s of stops) s();
});

function serve(fetch: (req: Request) => Response | Promise<Response>, tls?: { cert: string; key: string }) {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch, ...(tls ? { tls } : {}) });
  stops.push(() => s.stop(true));
  return s.port;
}

/** A raw HTTP server: writes exactly `response` to every request (repeated headers stay separate lines). */
async function rawServer(onConn: (c: net.Socket) => void): Promise<number> {
  const s = net.createServer(onConn);
  stops.push(() => s.close());
  await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
  return (s.address() as net.AddressInfo).port;
}

const cfg = (over: Partial<HttpClientConfig> = {}): HttpClientConfig => ({ deps: testDeps(), timeoutMs: 2000, ...over });

async function expectNetError(p: Promise<unknown>): Promise<NetError> {
  try {
    await p;
  } catch (e) {
    expect(e).toBeInstanceOf(NetError);
    return e as NetError;
  }
  throw new Error("expected a NetError");
}

let tls: { cert: string; key: string };
let proxy: TinyproxyPeer, authProxy: TinyproxyPeer;
beforeAll(async () => {
  const pair = selfSigned({ cn: "registry.test", sans: ["DNS:registry.test", "IP:127.0.0.1"] });
  stops.push(pair.cleanup);
  tls = { cert: pair.cert, key: pair.key };
  [proxy, authProxy] = await Promise.all([startTinyproxy(), startTinyproxy({ basicAuth: { user: "pxuser", password: "px-pass-123" } })]);
  stops.push(
    () => void proxy.stop(),
    () => void authProxy.stop(),
  );
});

describe("HttpClient over real sockets", () => {
  test("dials the dns stage's addresses for the resolved host name, sends Authorization, traces it redacted", async () => {
    let seen = "";
    const port = serve((req) => {
      seen = `${req.headers.get("host")} ${req.headers.get("authorization")}`;
      return new Response("ok", { headers: { "x-a": "1" } });
    });
    const trace = new MemoryTrace();
    const c = createHttpClient(
      cfg({ trace, resolution: { hostname: "registry.test", addresses: [{ address: "127.0.0.1", family: 4 }], via: "test" } }),
    );
    const r = await c.request({
      method: "GET",
      url: `http://registry.test:${port}/v2/?scope=repository:a:pull&signature=s3cr3t`,
      authorization: new Secret("Bearer sekrit-token-value"),
    });
    await c.close();
    expect(r.status).toBe(200);
    expect(r.remoteAddress).toBe("127.0.0.1");
    expect(seen).toBe(`registry.test:${port} Bearer sekrit-token-value`);
    const text = JSON.stringify(trace.events);
    expect(text).not.toContain("sekrit-token-value");
    expect(text).not.toContain("s3cr3t");
    expect(text).toContain("scope=repository");
  });

  test("the next address is tried when the first refuses (as Go's dialer does)", async () => {
    const port = serve(() => new Response("ok"));
    const c = createHttpClient(
      cfg({
        resolution: {
          hostname: "registry.test",
          addresses: [
            { address: "127.0.0.2", family: 4 },
            { address: "127.0.0.1", family: 4 },
          ],
          via: "test",
        },
      }),
    );
    // 127.0.0.2 has nothing on this port (the server listens on 127.0.0.1 only).
    const r = await c.request({ method: "GET", url: `http://registry.test:${port}/` });
    await c.close();
    expect(r.status).toBe(200);
    expect(r.remoteAddress).toBe("127.0.0.1");
  });

  test("other hosts are resolved with resolveHost (/etc/hosts of deps)", async () => {
    const port = serve(() => new Response("ok"));
    const c = createHttpClient(cfg());
    const r = await c.request({ method: "GET", url: `http://localhost:${port}/` });
    await c.close();
    expect(r.status).toBe(200);
  });

  test("IPv6 literal hosts ([::1]:port)", async () => {
    const s = Bun.serve({ hostname: "::1", port: 0, fetch: (req) => new Response(req.headers.get("host")) });
    stops.push(() => s.stop(true));
    const c = createHttpClient(cfg());
    const r = await c.request({ method: "GET", url: `http://[::1]:${s.port}/v2/` });
    await c.close();
    expect(new TextDecoder().decode(r.body)).toBe(`[::1]:${s.port}`);
    expect(r.remoteAddress).toBe("::1");
  });

  test("repeated WWW-Authenticate lines stay separate in rawHeaders and are joined in headers", async () => {
    const port = await rawServer((c) =>
      c.once("data", () =>
        c.end(
          'HTTP/1.1 401 Unauthorized\r\nWWW-Authenticate: Basic realm="b"\r\nWWW-Authenticate: Bearer realm="https://a/token"\r\nContent-Length: 0\r\n\r\n',
        ),
      ),
    );
    const c = createHttpClient(cfg());
    const r = await c.request({ method: "GET", url: `http://127.0.0.1:${port}/v2/` });
    await c.close();
    expect(r.rawHeaders.filter(([k]) => k === "www-authenticate").map(([, v]) => v)).toEqual([
      'Basic realm="b"',
      'Bearer realm="https://a/token"',
    ]);
    expect(r.headers["www-authenticate"]).toBe('Basic realm="b", Bearer realm="https://a/token"');
    expect(r.statusText).toBe("Unauthorized");
  });

  test("redirects are never followed", async () => {
    const port = serve(
      () => new Response(null, { status: 307, headers: { location: "https://cdn.example.com/blob?X-Amz-Signature=abc" } }),
    );
    const c = createHttpClient(cfg());
    const r = await c.request({ method: "GET", url: `http://127.0.0.1:${port}/v2/x/blobs/sha256:1` });
    await c.close();
    expect(r.status).toBe(307);
    expect(r.headers.location).toContain("cdn.example.com");
  });

  test("bodies are capped at maxBodyBytes (truncated=true)", async () => {
    const port = serve(() => new Response(new Uint8Array(200_000).fill(65)));
    const c = createHttpClient(cfg());
    const r = await c.request({ method: "GET", url: `http://127.0.0.1:${port}/`, maxBodyBytes: 1000 });
    const d = await c.request({ method: "GET", url: `http://127.0.0.1:${port}/` });
    await c.close();
    expect(r.body.length).toBe(1000);
    expect(r.truncated).toBe(true);
    expect(d.body.length).toBe(64 * 1024);
  });

  test("sensitive bodies (token responses) are never previewed in the trace", async () => {
    const port = serve(() => Response.json({ token: "opaque-token-abcdef" }));
    const trace = new MemoryTrace();
    const c = createHttpClient(cfg({ trace }));
    await c.request({ method: "GET", url: `http://127.0.0.1:${port}/token`, sensitiveBody: true });
    await c.close();
    expect(JSON.stringify(trace.events)).not.toContain("opaque-token-abcdef");
  });

  test("stream() hands back the body as a web stream", async () => {
    const port = serve(() => new Response(new Uint8Array(300_000).fill(7)));
    const c = createHttpClient(cfg());
    const r = await c.stream({ method: "GET", url: `http://127.0.0.1:${port}/blob` });
    const bytes = new Uint8Array(await new Response(r.body).arrayBuffer());
    await c.close();
    expect(bytes.length).toBe(300_000);
  });

  test("a reader that stops once it has its bytes is one traced request, not a second aborted one", async () => {
    // The blob probe reads exactly the ranged length and cancels before the stream reports its end;
    // --verbose then showed a phantom "GET … Request aborted" after every probed blob.
    const port = serve(() => new Response(new Uint8Array(487).fill(1), { status: 206 }));
    const trace = new MemoryTrace();
    const c = createHttpClient(cfg({ trace }));
    for (let i = 0; i < 5; i++) {
      const r = await c.stream({ method: "GET", url: `http://127.0.0.1:${port}/blob` });
      const read = await readBody(r.body, 487, 2000, false);
      expect(read.count).toBe(487);
    }
    await Bun.sleep(20);
    await c.close();
    const http = trace.events.filter((e: any) => e.kind === "http");
    expect(http.map((e: any) => [e.status, e.error ?? null])).toEqual(Array(5).fill([206, null]));
  });
});

describe("transport failures become NetError", () => {
  test("refused", async () => {
    const c = createHttpClient(cfg());
    const e = await expectNetError(c.request({ method: "GET", url: "http://127.0.0.1:1/v2/" }));
    await c.close();
    expect(e).toMatchObject({ kind: "refused", phase: "connect", host: "127.0.0.1:1", address: "127.0.0.1", code: "ECONNREFUSED" });
  });

  test("no answer within timeoutMs (waiting for headers)", async () => {
    const port = await rawServer(() => {});
    const c = createHttpClient(cfg({ timeoutMs: 800 }));
    const t0 = Date.now();
    const e = await expectNetError(c.request({ method: "GET", url: `http://127.0.0.1:${port}/v2/` }));
    await c.close();
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(e).toMatchObject({ kind: "timeout", phase: "response" });
  });

  test("a body that stalls (stream) fails in phase body", async () => {
    const port = await rawServer((c) => c.once("data", () => c.write("HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\nabc")));
    const c = createHttpClient(cfg({ timeoutMs: 800 }));
    const r = await c.stream({ method: "GET", url: `http://127.0.0.1:${port}/blob` });
    const e = await expectNetError(new Response(r.body).arrayBuffer());
    await c.close();
    expect(e).toMatchObject({ kind: "timeout", phase: "body" });
  });

  test("cancelled by deps.signal (Ctrl-C)", async () => {
    const port = await rawServer(() => {});
    const ac = new AbortController();
    const c = createHttpClient(cfg({ deps: testDeps({ signal: ac.signal }) }));
    setTimeout(() => ac.abort(), 100);
    const e = await expectNetError(c.request({ method: "GET", url: `http://127.0.0.1:${port}/v2/` }));
    await c.close();
    expect(e.kind).toBe("aborted");
  });

  test("https to a plain-http server: tls", async () => {
    const port = serve(() => new Response("plain"));
    const c = createHttpClient(cfg());
    const e = await expectNetError(c.request({ method: "GET", url: `https://127.0.0.1:${port}/v2/` }));
    await c.close();
    expect(e).toMatchObject({ kind: "tls", phase: "tls" });
  });

  test("unknown host name: dns", async () => {
    const c = createHttpClient(cfg({ timeoutMs: 800, dnsServers: ["127.0.0.1:1"] }));
    const e = await expectNetError(c.request({ method: "GET", url: "http://no-such-host.pd.invalid/v2/" }));
    await c.close();
    expect(e).toMatchObject({ kind: "dns", phase: "dns", host: "no-such-host.pd.invalid" });
  });
});

describe("TLS settings", () => {
  test("an unknown CA fails verification; certs.d CA or verify:false make it pass", async () => {
    const port = serve(() => new Response("secure"), tls);
    const url = `https://registry.test:${port}/v2/`;
    const resolution = { hostname: "registry.test", addresses: [{ address: "127.0.0.1", family: 4 as const }], via: "test" };
    const strict = createHttpClient(cfg({ resolution }));
    const e = await expectNetError(strict.request({ method: "GET", url }));
    await strict.close();
    expect(e.kind).toBe("tls");
    const withCa = createHttpClient(cfg({ resolution, tls: { ca: [tls.cert], verify: true } }));
    expect((await withCa.request({ method: "GET", url })).status).toBe(200);
    await withCa.close();
    const insecure = createHttpClient(cfg({ resolution, tls: { ca: [], verify: false } }));
    expect((await insecure.request({ method: "GET", url })).status).toBe(200);
    await insecure.close();
  });
});

describe("through a real proxy (tinyproxy)", () => {
  test("http target: forwarded through the proxy", async () => {
    const port = serve(() => new Response("ok"));
    const c = createHttpClient(cfg({ route: { url: proxy.url, auth: null, reason: "HTTP_PROXY" } }));
    const r = await c.request({ method: "GET", url: `http://127.0.0.1:${port}/v2/` });
    await c.close();
    expect(r.status).toBe(200);
    // Go forwards plain-http requests to the proxy with an absolute URI (no CONNECT).
    await Bun.sleep(50);
    expect(proxy.logs()).toContain(`GET http://127.0.0.1:${port}/v2/`);
  });

  test("https target: CONNECT tunnel, then TLS to the registry", async () => {
    const port = serve(() => new Response("through tunnel"), tls);
    const c = createHttpClient(
      cfg({ route: { url: proxy.url, auth: null, reason: "HTTPS_PROXY" }, tls: { ca: [tls.cert], verify: true } }),
    );
    const r = await c.request({ method: "GET", url: `https://127.0.0.1:${port}/v2/` });
    await c.close();
    expect(new TextDecoder().decode(r.body)).toBe("through tunnel");
  });

  test("proxy asking for credentials: 407 → NetError proxy; with route.auth it passes", async () => {
    const port = serve(() => new Response("ok"), tls);
    const url = `https://127.0.0.1:${port}/v2/`;
    const bare = createHttpClient(
      cfg({ route: { url: authProxy.url, auth: null, reason: "HTTPS_PROXY" }, tls: { ca: [], verify: false } }),
    );
    const e = await expectNetError(bare.request({ method: "GET", url }));
    await bare.close();
    expect(e).toMatchObject({ kind: "proxy", code: "HTTP_407" });
    const trace = new MemoryTrace();
    const ok = createHttpClient(
      cfg({
        trace,
        route: { url: authProxy.url, auth: { username: "pxuser", password: new Secret("px-pass-123") }, reason: "HTTPS_PROXY" },
        tls: { ca: [], verify: false },
      }),
    );
    expect((await ok.request({ method: "GET", url })).status).toBe(200);
    await ok.close();
    expect(JSON.stringify(trace.events)).not.toContain("px-pass-123");
  });

  test("http target through a proxy asking for credentials: 407 → NetError proxy; with route.auth it is forwarded, credentials sent to the proxy only", async () => {
    let seen: string | null = "unset";
    const port = serve((req) => {
      seen = req.headers.get("proxy-authorization");
      return new Response("ok");
    });
    const url = `http://127.0.0.1:${port}/v2/`;
    const bare = createHttpClient(cfg({ route: { url: authProxy.url, auth: null, reason: "HTTP_PROXY" } }));
    const e = await expectNetError(bare.request({ method: "GET", url }));
    await bare.close();
    expect(e).toMatchObject({ kind: "proxy", code: "HTTP_407" });
    const ok = createHttpClient(
      cfg({ route: { url: authProxy.url, auth: { username: "pxuser", password: new Secret("px-pass-123") }, reason: "HTTP_PROXY" } }),
    );
    const r = await ok.request({ method: "GET", url });
    const again = await ok.request({ method: "GET", url });
    await ok.close();
    expect([r.status, again.status]).toEqual([200, 200]);
    // tinyproxy strips Proxy-Authorization before forwarding: the registry never sees it.
    expect(seen).toBeNull();
  });

  test("proxy down: NetError with the proxy's failure", async () => {
    const c = createHttpClient(cfg({ route: { url: "http://127.0.0.1:1", auth: null, reason: "HTTPS_PROXY" } }));
    const e = await expectNetError(c.request({ method: "GET", url: "https://registry.example.com/v2/" }));
    await c.close();
    expect(e.kind).toBe("refused");
    expect(e.address).toBe("127.0.0.1");
  });
});
