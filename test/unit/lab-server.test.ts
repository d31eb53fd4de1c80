import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import http from "node:http";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { buildImage, buildIndex, noise, sha256 } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { requireBinary } from "../peers/require";

const big = buildImage({ label: "big", layers: [[{ name: "data.bin", content: noise(200_000, 7) }]] });
const layer = big.layers[0]!;
let lab: LabRegistry;
const ACCEPT_ALL =
  "application/vnd.docker.distribution.manifest.v2+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, */*";

beforeAll(async () => {
  lab = await startLabRegistry();
  lab.addImage("ok/app", "1.0", big);
  lab.addImage("trunc/app", "1.0", big, [{ kind: "truncate-blob", digest: layer.digest, afterBytes: 1000 }]);
  lab.addImage("corrupt/app", "1.0", big, [{ kind: "corrupt-blob" }]);
  lab.addImage("stall/app", "1.0", big, [{ kind: "stall-blob", afterBytes: 500 }]);
  lab.addImage("drop/app", "1.0", big, [{ kind: "drop-connection", digest: layer.digest, afterBytes: 50_000, times: 1 }]);
  lab.addImage("norange/app", "1.0", big, [{ kind: "no-range" }]);
  lab.addImage("redirect/app", "1.0", big, [{ kind: "blob-redirect", to: "http://127.0.0.9:9" }]);
  lab.addImage("limited/app", "1.0", big, [{ kind: "rate-limited" }]);
  lab.addImage("tampered/app", "1.0", big, [{ kind: "digest-mismatch" }]);
  lab.addImage("multi/app", "1.0", buildIndex([big, buildImage({ platform: { os: "linux", architecture: "arm64" } })]));
});
afterAll(async () => {
  await lab?.stop();
});

/** node:http GET: what arrived before the socket ended, and how it ended. */
function rawGet(
  url: string,
  headers: Record<string, string> = {},
  timeoutMs = 2000,
): Promise<{ status: number; headers: http.IncomingHttpHeaders; bytes: number; ended: "complete" | "aborted" | "timeout" }> {
  return new Promise((resolve, reject) => {
    let settle: ((ended: "aborted") => void) | null = null;
    const req = http.get(url, { headers, agent: false }, (res) => {
      let bytes = 0;
      const timer = setTimeout(() => {
        req.destroy();
        resolve({ status: res.statusCode!, headers: res.headers, bytes, ended: "timeout" });
      }, timeoutMs);
      settle = (ended) => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, headers: res.headers, bytes, ended });
      };
      res.on("data", (c: Buffer) => (bytes += c.length));
      res.on("end", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, headers: res.headers, bytes, ended: "complete" });
      });
      res.on("aborted", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, headers: res.headers, bytes, ended: "aborted" });
      });
      res.on("error", () => {
        clearTimeout(timer);
        resolve({ status: res.statusCode!, headers: res.headers, bytes, ended: "aborted" });
      });
    });
    req.on("error", (e) => (settle ? settle("aborted") : reject(e)));
  });
}

describe("registry protocol", () => {
  test("/v2/ answers 200 with the API version header when no repository needs auth", async () => {
    const r = await fetch(`${lab.url}/v2/`);
    expect(r.status).toBe(200);
    expect(r.headers.get("docker-distribution-api-version")).toBe("registry/2.0");
  });

  test("manifest HEAD and GET by tag and by digest carry Docker-Content-Digest", async () => {
    const head = await fetch(`${lab.url}/v2/ok/app/manifests/1.0`, { method: "HEAD", headers: { Accept: ACCEPT_ALL } });
    expect(head.status).toBe(200);
    expect(head.headers.get("docker-content-digest")).toBe(big.digest);
    expect(head.headers.get("content-length")).toBe(String(big.manifest.length));
    const get = await fetch(`${lab.url}/v2/ok/app/manifests/${big.digest}`, { headers: { Accept: ACCEPT_ALL } });
    expect(sha256(new Uint8Array(await get.arrayBuffer()))).toBe(big.digest);
    expect(get.headers.get("content-type")).toBe(big.mediaType);
  });

  test("an OCI manifest is refused to a client that does not accept OCI (distribution's negotiation)", async () => {
    const r = await fetch(`${lab.url}/v2/ok/app/manifests/1.0`, {
      headers: { Accept: "application/vnd.docker.distribution.manifest.v2+json" },
    });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("MANIFEST_UNKNOWN");
  });

  test("unknown tag ⇒ MANIFEST_UNKNOWN; unknown repository's tags/list ⇒ NAME_UNKNOWN; tags/list lists tags", async () => {
    const m = await fetch(`${lab.url}/v2/ok/app/manifests/1.O`, { headers: { Accept: ACCEPT_ALL } });
    expect(m.status).toBe(404);
    expect(await m.json()).toEqual({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "1.O" } }] });
    const n = await fetch(`${lab.url}/v2/nope/app/tags/list`);
    expect(((await n.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("NAME_UNKNOWN");
    expect(await (await fetch(`${lab.url}/v2/multi/app/tags/list`)).json()).toEqual({ name: "multi/app", tags: ["1.0"] });
  });

  test("blob Range ⇒ 206 with Content-Range; a bad range ⇒ 416", async () => {
    const r = await fetch(`${lab.url}/v2/ok/app/blobs/${layer.digest}`, { headers: { Range: "bytes=100-199" } });
    expect(r.status).toBe(206);
    expect(r.headers.get("content-range")).toBe(`bytes 100-199/${layer.bytes.length}`);
    expect(new Uint8Array(await r.arrayBuffer()) as Uint8Array).toEqual(layer.bytes.subarray(100, 200));
    const bad = await fetch(`${lab.url}/v2/ok/app/blobs/${layer.digest}`, { headers: { Range: `bytes=${layer.bytes.length}-` } });
    expect(bad.status).toBe(416);
  });
});

test("a TLS ClientHello gets a plain HTTP 400, as Go's server answers (the client sees an HTTP response to HTTPS)", async () => {
  const tls = await import("node:tls");
  const err = await new Promise<Error>((resolve) => {
    const s = tls.connect({ host: "127.0.0.1", port: lab.port, servername: "localhost", rejectUnauthorized: false }, () =>
      resolve(new Error("handshake succeeded")),
    );
    s.on("error", resolve);
  });
  expect(err.message).not.toBe("handshake succeeded");
  const raw = await new Promise<string>((resolve) => {
    const s = net.connect(lab.port, "127.0.0.1", () => s.write(Buffer.from([0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5])));
    let got = "";
    s.on("data", (d) => (got += d.toString("latin1")));
    s.on("close", () => resolve(got));
  });
  expect(raw).toStartWith("HTTP/1.1 400 Bad Request\r\n");
});

describe("faults against real clients", () => {
  test("truncate-blob: full Content-Length announced, 1000 bytes sent, socket closed", async () => {
    const r = await rawGet(`${lab.url}/v2/trunc/app/blobs/${layer.digest}`);
    expect(r.status).toBe(200);
    expect(Number(r.headers["content-length"])).toBe(layer.bytes.length);
    expect(r.bytes).toBe(1000);
    expect(r.ended).toBe("aborted");
    // The config blob is not named by the fault and is served whole.
    const c = await fetch(`${lab.url}/v2/trunc/app/blobs/${big.config.digest}`);
    expect(sha256(new Uint8Array(await c.arrayBuffer()))).toBe(big.config.digest);
  });

  test("corrupt-blob: same length, wrong digest", async () => {
    const r = await fetch(`${lab.url}/v2/corrupt/app/blobs/${layer.digest}`);
    const b = new Uint8Array(await r.arrayBuffer());
    expect(b.length).toBe(layer.bytes.length);
    expect(sha256(b)).not.toBe(layer.digest);
  });

  test("stall-blob: 500 bytes then silence until the client gives up", async () => {
    // fetch's stream reader: Bun's node:http client reports a stalled body as aborted.
    const ac = new AbortController();
    const r = await fetch(`${lab.url}/v2/stall/app/blobs/${layer.digest}`, { signal: ac.signal });
    const reader = r.body!.getReader();
    let bytes = 0;
    const t0 = Date.now();
    const timer = setTimeout(() => ac.abort(), 600);
    let outcome = "complete";
    try {
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.length;
      }
    } catch {
      outcome = "timeout";
    }
    clearTimeout(timer);
    expect(outcome).toBe("timeout");
    expect(bytes).toBe(500);
    expect(Date.now() - t0).toBeGreaterThanOrEqual(550);
  });

  test("drop-connection: the first request is reset mid-body, a ranged resume completes the blob", async () => {
    const url = `${lab.url}/v2/drop/app/blobs/${layer.digest}`;
    const first = await rawGet(url);
    expect(first.ended).toBe("aborted");
    expect(first.bytes).toBeLessThanOrEqual(50_000);
    const rest = await fetch(url, { headers: { Range: `bytes=${first.bytes}-` } });
    expect(rest.status).toBe(206);
    const tail = new Uint8Array(await rest.arrayBuffer());
    expect(first.bytes + tail.length).toBe(layer.bytes.length);
    expect(tail as Uint8Array).toEqual(layer.bytes.subarray(first.bytes));
  });

  test("no-range: Range ignored, 200 with the whole blob and no Accept-Ranges", async () => {
    const r = await fetch(`${lab.url}/v2/norange/app/blobs/${layer.digest}`, { headers: { Range: "bytes=0-9" } });
    expect(r.status).toBe(200);
    expect(r.headers.get("accept-ranges")).toBeNull();
    expect((await r.arrayBuffer()).byteLength).toBe(layer.bytes.length);
  });

  test("blob-redirect: 307 to the unreachable host with a signed URL", async () => {
    const r = await fetch(`${lab.url}/v2/redirect/app/blobs/${layer.digest}`, { redirect: "manual" });
    expect(r.status).toBe(307);
    expect(r.headers.get("location")).toStartWith(`http://127.0.0.9:9/blobs/${layer.digest}?X-Amz-Signature=`);
    await expect(fetch(r.headers.get("location")!)).rejects.toThrow();
  });

  test("rate-limited: 429 TOOMANYREQUESTS with Docker Hub's headers, on HEAD too", async () => {
    for (const method of ["HEAD", "GET"]) {
      const r = await fetch(`${lab.url}/v2/limited/app/manifests/1.0`, { method, headers: { Accept: ACCEPT_ALL } });
      expect(r.status).toBe(429);
      expect(r.headers.get("ratelimit-limit")).toBe("100;w=21600");
      expect(r.headers.get("ratelimit-remaining")).toBe("0;w=21600");
      expect(r.headers.get("docker-ratelimit-source")).toBe("127.0.0.1");
      if (method === "GET") expect(((await r.json()) as { errors: { code: string }[] }).errors[0]!.code).toBe("TOOMANYREQUESTS");
    }
  });

  test("digest-mismatch: the header digest is not the digest of the bytes", async () => {
    const r = await fetch(`${lab.url}/v2/tampered/app/manifests/1.0`, { headers: { Accept: ACCEPT_ALL } });
    expect(r.headers.get("docker-content-digest")).toBe(big.digest);
    expect(sha256(new Uint8Array(await r.arrayBuffer()))).not.toBe(big.digest);
  });
});

describe("token auth and the scenarios", () => {
  let demo: LabRegistry;
  beforeAll(async () => {
    demo = await startLabRegistry({ scenarios: true });
  });
  afterAll(async () => {
    await demo?.stop();
  });

  test("/v2/ challenges; anonymous tokens work for public repositories and are refused for the private one", async () => {
    const v2 = await fetch(`${demo.url}/v2/`);
    expect(v2.status).toBe(401);
    expect(v2.headers.get("www-authenticate")).toBe(`Bearer realm="${demo.url}/token",service="pulldoctor-lab"`);
    const anon = await fetch(`${demo.url}/token?service=pulldoctor-lab&scope=repository:demo/healthy:pull`);
    expect(anon.status).toBe(200);
    const refused = await fetch(`${demo.url}/token?service=pulldoctor-lab&scope=repository:demo/private:pull`);
    expect(refused.status).toBe(401);
    const wrong = await fetch(`${demo.url}/token?service=pulldoctor-lab&scope=repository:demo/private:pull`, {
      headers: { Authorization: `Basic ${btoa("demo:nope")}` },
    });
    expect(await wrong.json()).toEqual({ details: "incorrect username or password" });
    const ok = await fetch(`${demo.url}/token?service=pulldoctor-lab&scope=repository:demo/private:pull`, {
      headers: { Authorization: `Basic ${btoa("demo:s3cret-demo")}` },
    });
    const { token } = (await ok.json()) as { token: string };
    const m = await fetch(`${demo.url}/v2/demo/private/manifests/1.0`, {
      method: "HEAD",
      headers: { Accept: ACCEPT_ALL, Authorization: `Bearer ${token}` },
    });
    expect(m.status).toBe(200);
    const denied = await fetch(`${demo.url}/v2/demo/private/manifests/1.0`, { method: "HEAD", headers: { Accept: ACCEPT_ALL } });
    expect(denied.status).toBe(401);
    expect(denied.headers.get("www-authenticate")).toContain(`scope="repository:demo/private:pull"`);
  });

  test("the OAuth2 POST form issues a token (with a refresh token) for the right password only", async () => {
    const post = (body: Record<string, string>) =>
      fetch(`${demo.url}/token`, {
        method: "POST",
        headers: { "Content-Type": "application/x-www-form-urlencoded" },
        body: new URLSearchParams(body).toString(),
      });
    const bad = await post({
      grant_type: "password",
      username: "demo",
      password: "wrong",
      scope: "repository:demo/private:pull",
      service: "pulldoctor-lab",
      client_id: "pulldoctor",
    });
    expect(bad.status).toBe(401);
    const ok = await post({
      grant_type: "password",
      username: "demo",
      password: "s3cret-demo",
      access_type: "offline",
      scope: "repository:demo/private:pull",
      service: "pulldoctor-lab",
      client_id: "pulldoctor",
    });
    const body = (await ok.json()) as { access_token: string; refresh_token: string };
    expect(body.refresh_token).toStartWith("lab-refresh-");
    const again = await post({
      grant_type: "refresh_token",
      refresh_token: body.refresh_token,
      scope: "repository:demo/private:pull",
      service: "pulldoctor-lab",
      client_id: "pulldoctor",
    });
    const { access_token } = (await again.json()) as { access_token: string };
    const m = await fetch(`${demo.url}/v2/demo/private/tags/list`, { headers: { Authorization: `Bearer ${access_token}` } });
    expect(await m.json()).toEqual({ name: "demo/private", tags: ["1.0"] });
  });

  test("skopeo (a real registry client) copies the healthy image and the private one with credentials", async () => {
    const skopeo = requireBinary("skopeo", "skopeo");
    const dir = mkdtempSync(path.join(os.tmpdir(), "pd-lab-"));
    try {
      // Asynchronous: the lab serves from this same process.
      const run = async (args: string[]) => {
        const p = Bun.spawn([skopeo, ...args], { stderr: "pipe", stdout: "pipe", env: { ...process.env, HOME: dir } });
        const [stderr, exitCode] = await Promise.all([new Response(p.stderr).text(), p.exited]);
        return { stderr, exitCode };
      };
      const healthy = await run([
        "copy",
        "--src-tls-verify=false",
        `docker://${demo.host}/demo/healthy:latest`,
        `oci:${dir}/healthy:latest`,
      ]);
      expect(healthy.stderr).not.toContain("FATA");
      expect(healthy.exitCode).toBe(0);
      expect(readdirSync(`${dir}/healthy`)).toContain("index.json");
      const anon = await run(["inspect", "--tls-verify=false", `docker://${demo.host}/demo/private:1.0`]);
      expect(anon.exitCode).not.toBe(0);
      const authed = await run(["inspect", "--tls-verify=false", "--creds", "demo:s3cret-demo", `docker://${demo.host}/demo/private:1.0`]);
      expect(authed.stderr).toBe("");
      expect(authed.exitCode).toBe(0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("_catalog lists the repositories anonymous users may read", async () => {
    const { repositories } = (await (await fetch(`${demo.url}/v2/_catalog`)).json()) as { repositories: string[] };
    expect(repositories).toContain("demo/healthy");
    expect(repositories).toContain("demo/app");
    expect(repositories).not.toContain("demo/private");
  });

  test("the not-a-registry scenario answers HTML", async () => {
    const s = demo.scenarios.find((x) => x.id === "not-registry")!;
    const r = await fetch(`http://${s.image.split("/")[0]}/v2/`);
    expect(r.headers.get("content-type")).toContain("text/html");
  });
});

describe("over TLS", () => {
  let secure: LabRegistry;
  let certs: string;
  beforeAll(async () => {
    secure = await startLabRegistry({ tls: true, scenarios: true });
    certs = secure.writeCertsDir(mkdtempSync(path.join(os.tmpdir(), "pd-lab-certs-")));
    secure.addImage("drop/app", "1.0", big, [{ kind: "drop-connection", digest: layer.digest, afterBytes: 20_000, times: 1 }]);
  });
  afterAll(async () => {
    await secure?.stop();
    rmSync(certs, { recursive: true, force: true });
  });

  test("HTTPS with the lab CA (laid out as certs.d) verifies for 127.0.0.1; skopeo verifies it too", async () => {
    expect(secure.url).toStartWith("https://127.0.0.1:");
    const r = await fetch(`${secure.url}/v2/`, { tls: { ca: secure.caPem! } } as RequestInit);
    expect(r.status).toBe(401);
    expect(r.headers.get("www-authenticate")).toContain(`realm="${secure.url}/token"`);
    await expect(fetch(`${secure.url}/v2/`)).rejects.toThrow();
    const skopeo = requireBinary("skopeo", "skopeo");
    const p = Bun.spawn([skopeo, "inspect", "--cert-dir", path.join(certs, secure.host), `docker://${secure.host}/demo/healthy:latest`], {
      stdout: "pipe",
      stderr: "pipe",
      env: { ...process.env, HOME: certs },
    });
    const [stderr, code] = await Promise.all([new Response(p.stderr).text(), p.exited]);
    expect(stderr).toBe("");
    expect(code).toBe(0);
  });

  test("a dropped connection over TLS cuts the body; the ranged retry completes it", async () => {
    const url = `${secure.url}/v2/drop/app/blobs/${layer.digest}`;
    const first = await fetch(url, { tls: { ca: secure.caPem! } } as RequestInit)
      .then((r) => r.arrayBuffer())
      .then(
        () => "complete",
        () => "cut",
      );
    expect(first).toBe("cut");
    const again = await fetch(url, { headers: { Range: "bytes=100-" }, tls: { ca: secure.caPem! } } as RequestInit);
    expect(again.status).toBe(206);
    expect((await again.arrayBuffer()).byteLength).toBe(layer.bytes.length - 100);
  });
});

describe("protocol faults (src/lab/faults-protocol.ts) on the wire", () => {
  /** Sends one raw request; resolves with the bytes received until the socket ends or `ms` pass. */
  function rawExchange(port: number, request: string, ms: number): Promise<{ bytes: Buffer; ended: boolean; firstByteMs: number | null }> {
    return new Promise((resolve) => {
      const chunks: Buffer[] = [];
      const t0 = performance.now();
      let first: number | null = null;
      const s = net.connect(port, "127.0.0.1", () => s.write(request));
      const done = (ended: boolean) => {
        clearTimeout(timer);
        s.destroy();
        resolve({ bytes: Buffer.concat(chunks), ended, firstByteMs: first });
      };
      const timer = setTimeout(() => done(false), ms);
      s.on("data", (c: Buffer) => {
        first ??= performance.now() - t0;
        chunks.push(c);
      });
      s.on("end", () => done(true));
      s.on("error", () => done(true));
    });
  }
  const get = (path: string, method = "GET") => `${method} ${path} HTTP/1.1\r\nHost: lab\r\nAccept: */*\r\n\r\n`;
  let p: LabRegistry;
  beforeAll(async () => {
    p = await startLabRegistry();
    p.addImage("drip/app", "1.0", big, [{ kind: "drip", on: "manifest", bytesPerSecond: 20 }]);
    p.addImage("stall/app", "1.0", big, [{ kind: "stall-after-head", on: "manifest" }]);
    p.addImage("chunked/app", "1.0", big, [{ kind: "oversize-manifest", bytes: 300_000, framing: "chunked", headLength: 600 }]);
    p.addImage("close/app", "1.0", big, [{ kind: "oversize-manifest", bytes: 300_000, framing: "close" }]);
    p.addImage("bytes/app", "1.0", big, [{ kind: "bad-header-bytes" }]);
  });
  afterAll(async () => {
    await p?.stop();
  });

  test("drip: the head itself trickles (a few bytes in 300 ms, not the whole response)", async () => {
    const r = await rawExchange(p.port, get("/v2/drip/app/manifests/1.0"), 300);
    expect(r.ended).toBe(false);
    expect(r.bytes.length).toBeGreaterThan(0);
    expect(r.bytes.length).toBeLessThan(20);
    expect("HTTP/1.1 200".startsWith(r.bytes.toString("latin1"))).toBe(true);
  });

  test("stall-after-head: a GET gets its head and nothing more; a HEAD is answered normally", async () => {
    const g = await rawExchange(p.port, get("/v2/stall/app/manifests/1.0"), 300);
    const text = g.bytes.toString("latin1");
    expect(text).toMatch(/^HTTP\/1\.1 200[\s\S]*\r\n\r\n$/);
    expect(g.ended).toBe(false);
    const h = await rawExchange(p.port, `HEAD /v2/stall/app/manifests/1.0 HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n`, 1000);
    expect(h.bytes.toString("latin1")).toContain(`Docker-Content-Digest: ${big.digest}`);
  });

  test("oversize-manifest: chunked has no Content-Length and ends with the last chunk; close-delimited ends with the socket; a HEAD may lie", async () => {
    const c = await rawExchange(p.port, get("/v2/chunked/app/manifests/1.0"), 2000);
    const ct = c.bytes.toString("latin1");
    expect(ct).toContain("Transfer-Encoding: chunked");
    expect(ct.split("\r\n\r\n")[0]).not.toMatch(/content-length/i);
    expect(ct.endsWith("0\r\n\r\n")).toBe(true);
    const cl = await rawExchange(p.port, get("/v2/close/app/manifests/1.0"), 2000);
    expect(cl.ended).toBe(true);
    expect(cl.bytes.toString("latin1").split("\r\n\r\n")[0]).not.toMatch(/content-length/i);
    expect(cl.bytes.length).toBeGreaterThan(300_000);
    const h = await rawExchange(p.port, `HEAD /v2/chunked/app/manifests/1.0 HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n`, 1000);
    expect(h.bytes.toString("latin1")).toContain("Content-Length: 600");
  });

  test("bad-header-bytes: the bytes on the wire are not UTF-8; framing headers are untouched", async () => {
    const r = await rawExchange(p.port, `GET /v2/bytes/app/manifests/1.0 HTTP/1.1\r\nHost: lab\r\nConnection: close\r\n\r\n`, 2000);
    const head = r.bytes.subarray(0, r.bytes.indexOf("\r\n\r\n"));
    expect(head.includes(Buffer.from([0xff, 0xfe, 0xc3, 0x28, 0x80, 0x9b]))).toBe(true);
    expect(head.toString("latin1")).toContain(`Content-Length: ${big.manifest.length}\r\n`);
    expect(() => new TextDecoder("utf-8", { fatal: true }).decode(head)).toThrow();
  });

  test("PROTOCOL_FAULTS: stable kebab-case names, group protocol, each installs and stops", async () => {
    const { PROTOCOL_FAULTS } = await import("../../src/lab/fault-catalogue-protocol");
    const names = PROTOCOL_FAULTS.map((f) => f.name);
    expect(new Set(names).size).toBe(names.length);
    for (const f of PROTOCOL_FAULTS) {
      expect(f.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
      expect(f.group).toBe("protocol");
      expect(f.expect.check.codes.length).toBeGreaterThan(0);
      const x = await f.install(p);
      expect(x.image).toMatch(new RegExp(`^127\\.0\\.0\\.1:\\d+/fault/${f.name}:latest$`));
      await x.stop?.();
    }
  });
});
