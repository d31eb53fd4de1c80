import { afterAll, describe, expect, test } from "bun:test";
import { type FaultHost, startFloodRegistry, startSilentHost } from "../../src/lab/faults-protocol-hosts";
import { type Handler, startWire } from "../../src/lab/wire";
import { MemoryTrace } from "../../src/model/trace";
import { createHttpClient, type HttpClientConfig, NetError } from "../../src/registry/http";
import { MAX_RESPONSE_HEADER_BYTES, toNetError } from "../../src/registry/http-errors";
import { escapeControls, joinHeaders, preview, safeHeaderValue } from "../../src/registry/http-util";
import { fetchToken, MAX_TOKEN_BODY_BYTES, TokenError } from "../../src/registry/token";
import { testDeps } from "../helpers/context";

/**
 * The HTTP layer against hostile servers (issue 7): one deadline for the whole exchange, heads
 * over the header limit or with forbidden bytes as protocol errors, header and body text made
 * safe for evidence and terminals, and reading that stops at its limit.
 */
const closers: (() => Promise<void>)[] = [];
afterAll(async () => {
  for (const c of closers) await c();
});

const cfg = (over: Partial<HttpClientConfig> = {}): HttpClientConfig => ({ deps: testDeps(), timeoutMs: 1000, ...over });

async function wire(handler: Handler): Promise<string> {
  const w = await startWire("127.0.0.1", 0, handler);
  closers.push(() => w.close());
  return `http://127.0.0.1:${w.port}`;
}

async function host(h: Promise<FaultHost>): Promise<FaultHost> {
  const x = await h;
  closers.push(() => x.close());
  return x;
}

async function failure(p: Promise<unknown>): Promise<NetError> {
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e).toBeInstanceOf(NetError);
  return e as NetError;
}

const enc = new TextEncoder();

/** The whole-exchange deadline of the drip tests. */
const TIMEOUT = 800;
/**
 * How late past TIMEOUT a run may end on a loaded 2-core machine (other test runs share it, so
 * the timer's callback can wait its turn), like the TIMEOUT + 1500 of the stage fault tests
 * with room for a busier machine. The drips below take 20 s and more to finish, and a timer that
 * each byte reset would never fire, so a bound this far below either still proves the deadline.
 */
const LOADED_MARGIN_MS = 2500;
/** The clock starts before the request, so a run ends at TIMEOUT or later; this much below allows only for timer rounding. */
const TIMER_EARLY_MS = 100;

describe("one deadline for the whole exchange", () => {
  test("a response dripped a byte every 200 ms (each byte resets undici's inactivity timers) ends at timeoutMs", async () => {
    // 240 bytes at 5 bytes a second: 48 s to drip in full.
    const body = enc.encode(`HTTP/1.1 200 OK\r\nContent-Length: 200\r\n\r\n${"x".repeat(200)}`);
    const url = await wire((_req, res) => res.sendRaw(body, "close", 5));
    const client = createHttpClient(cfg({ timeoutMs: TIMEOUT }));
    const t = performance.now();
    const e = await failure(client.request({ method: "GET", url: `${url}/v2/` }));
    const ms = performance.now() - t;
    await client.close();
    expect(e.kind).toBe("timeout");
    expect(e.message).toContain(`within ${TIMEOUT} ms`);
    expect(ms).toBeGreaterThan(TIMEOUT - TIMER_EARLY_MS);
    expect(ms).toBeLessThan(TIMEOUT + LOADED_MARGIN_MS);
  });

  test("a body dripped after a complete head also ends at timeoutMs (phase body)", async () => {
    // 400 bytes at 20 bytes a second: 20 s to drip in full.
    const url = await wire((_req, res) => res.sendPaced(200, { "Content-Type": "application/json" }, enc.encode("x".repeat(400)), 20));
    const client = createHttpClient(cfg({ timeoutMs: TIMEOUT }));
    const t = performance.now();
    const e = await failure(client.request({ method: "GET", url: `${url}/v2/` }));
    await client.close();
    expect([e.kind, e.phase]).toEqual(["timeout", "body"]);
    expect(performance.now() - t).toBeLessThan(TIMEOUT + LOADED_MARGIN_MS);
  });

  test("a host that accepts and never answers: timeout while waiting for the response", async () => {
    const silent = await host(startSilentHost(false));
    const client = createHttpClient(cfg({ timeoutMs: 600 }));
    const e = await failure(client.request({ method: "GET", url: `${silent.url}/v2/` }));
    await client.close();
    expect([e.kind, e.phase]).toEqual(["timeout", "response"]);
  });
});

describe("heads the doctor refuses to read", () => {
  test(`headers over ${MAX_RESPONSE_HEADER_BYTES / (1024 * 1024)} MiB (a 2 MiB WWW-Authenticate) are a protocol error naming the limit`, async () => {
    const url = await wire((_req, res) =>
      res.send(401, { "WWW-Authenticate": `Bearer realm="x",scope="${"a".repeat(2 * 1024 * 1024)}"` }, "{}"),
    );
    const client = createHttpClient(cfg());
    const e = await failure(client.request({ method: "GET", url: `${url}/v2/` }));
    await client.close();
    expect([e.kind, e.phase, e.code]).toEqual(["protocol", "response", "UND_ERR_HEADERS_OVERFLOW"]);
    expect(e.message).toContain("response headers larger than 1 MiB (pulldoctor's limit; Docker's Go client accepts up to 10 MiB)");
  });

  test("a 64 KiB WWW-Authenticate is read, as Docker's Go client reads it (Node's default limit would refuse it)", async () => {
    const url = await wire((_req, res) => res.send(401, { "WWW-Authenticate": `Bearer realm="x",scope="${"a".repeat(64 * 1024)}"` }, "{}"));
    const client = createHttpClient(cfg());
    const r = await client.request({ method: "GET", url: `${url}/v2/` });
    await client.close();
    expect(r.headers["www-authenticate"]!.length).toBeGreaterThan(64 * 1024);
  });

  test("an ESC in a header value is a malformed head (undici calls it a length mismatch)", async () => {
    const url = await wire((_req, res) => res.send(200, { Server: new Uint8Array([0x61, 0x1b, 0x5b, 0x33, 0x31, 0x6d]) }, "{}"));
    const client = createHttpClient(cfg());
    const e = await failure(client.request({ method: "GET", url: `${url}/v2/` }));
    await client.close();
    expect(e.kind).toBe("protocol");
    expect(e.message).toContain("a malformed HTTP response head");
  });

  test("toNetError: a length mismatch in the body is still a reset, not a protocol error", () => {
    const err = Object.assign(new Error("Response body length does not match content-length header"), {
      code: "UND_ERR_RES_CONTENT_LENGTH_MISMATCH",
    });
    const base = { host: "h:1", viaProxy: null, aborted: false, deadline: false, timeoutMs: 1000 };
    expect(toNetError(err, { ...base, phase: "body" }).kind).not.toBe("protocol");
    expect(toNetError(err, { ...base, phase: "response" }).kind).toBe("protocol");
    expect(toNetError(Object.assign(new Error("bad"), { code: "HPE_INVALID_HEADER_TOKEN" }), { ...base, phase: "response" }).kind).toBe(
      "protocol",
    );
  });
});

describe("header and body text is safe for evidence and terminals", () => {
  test("invalid UTF-8 and C1 controls in header values are escaped as \\xNN; tabs, quotes and backslashes stay", async () => {
    const bad = new Uint8Array([0x61, 0xff, 0xfe, 0xc3, 0x28, 0x80, 0x9b, 0x62]);
    const url = await wire((_req, res) => res.send(200, { "Content-Type": bad, "WWW-Authenticate": 'Bearer realm="a\\"b"' }, "{}"));
    const trace = new MemoryTrace();
    const client = createHttpClient(cfg({ trace }));
    const r = await client.request({ method: "GET", url: `${url}/v2/` });
    await client.close();
    expect(r.headers["content-type"]).toBe("a\\xff\\xfe\\xc3(\\x80\\x9bb");
    expect(r.rawHeaders).toContainEqual(["www-authenticate", 'Bearer realm="a\\"b"']);
    expect(JSON.stringify(trace.events)).toContain("a\\\\xff\\\\xfe");
  });

  test("safeHeaderValue, joinHeaders, escapeControls, preview", () => {
    expect(safeHeaderValue("registry/2.0")).toBe("registry/2.0");
    expect(safeHeaderValue("a\tb")).toBe("a\tb");
    expect(safeHeaderValue("é\u0085")).toBe("\\xe9\\x85");
    expect(joinHeaders({ "X-A": ["1\u009b", "2"] })).toEqual({
      headers: { "x-a": "1\\x9b, 2" },
      raw: [
        ["x-a", "1\\x9b"],
        ["x-a", "2"],
      ],
    });
    expect(escapeControls("ok\nline\ttab é")).toBe("ok\nline\ttab é");
    expect(escapeControls("\u001b[2J\r\u007f\u009b")).toBe("\\x1b[2J\\x0d\\x7f\\x9b");
    expect(escapeControls("a\ud800b\udc00c😀")).toBe("a\\ud800b\\udc00c😀");
    expect(preview(enc.encode("<title>\u001b[31mx</title>"), "text/html")).toBe("<title>\\x1b[31mx</title>");
  });
});

describe("reading stops at its limit", () => {
  test(`a 100 MiB token answer: TokenError invalid naming ${MAX_TOKEN_BODY_BYTES / 1024} KiB; the flood stops soon after`, async () => {
    const flood = await host(startFloodRegistry("token", 100 * 1024 * 1024));
    const client = createHttpClient(cfg({ timeoutMs: 5000 }));
    const e = await fetchToken({
      realm: `${flood.url}/token`,
      service: "flood",
      scopes: ["repository:a/b:pull"],
      credential: null,
      sendCredentials: false,
      client,
      now: () => new Date(),
    }).then(
      () => null,
      (err: unknown) => err,
    );
    await client.close();
    expect(e).toBeInstanceOf(TokenError);
    expect((e as TokenError).kind).toBe("invalid");
    expect((e as TokenError).info.invalid).toContain("larger than 64 KiB");
    await Bun.sleep(100);
    // Socket buffers hold a few MiB at most: nowhere near the 100 MiB announced.
    expect(flood.sent()).toBeLessThan(16 * 1024 * 1024);
  });

  test("a 1 GiB chunked manifest: the body is cut at maxBodyBytes (truncated) and the flood stops", async () => {
    const flood = await host(startFloodRegistry("manifest", 1024 * 1024 * 1024));
    const client = createHttpClient(cfg({ timeoutMs: 5000 }));
    const r = await client.request({ method: "GET", url: `${flood.url}/v2/a/b/manifests/latest`, maxBodyBytes: 4 * 1024 * 1024 });
    await client.close();
    expect([r.status, r.truncated, r.body.length]).toEqual([200, true, 4 * 1024 * 1024]);
    await Bun.sleep(100);
    expect(flood.sent()).toBeLessThan(24 * 1024 * 1024);
  });
});

describe("a Location is followed, so it is percent-encoded, not escaped as text", () => {
  test("bytes outside printable ASCII become %XX (Go's EscapedPath); printable ones are kept; a plain Location is untouched", async () => {
    const { safeLocation } = await import("../../src/registry/http-util");
    expect(safeLocation("https://cdn.example/a/b?sig=1")).toBe("https://cdn.example/a/b?sig=1");
    expect(safeLocation("http://h/x\xff\xfe\xc3(\x9b")).toBe("http://h/x%FF%FE%C3(%9B");
    expect(safeLocation("http://h/a b\x1b[31m")).toBe("http://h/a%20b%1B[31m");
    // Never a backslash escape: the URL parser would read "\\" as "/" and request another path.
    expect(new URL(safeLocation("http://h/x\xff")).pathname).toBe("/x%FF");
  });
});
