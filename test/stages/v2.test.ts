import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import net from "node:net";
import type { Facts, LinkInfo } from "../../src/model/facts";
import type { ProbedChallenge } from "../../src/registry/challenge";
import { v2Stage } from "../../src/stages/v2";
import { endpointFor, testContext } from "../helpers/context";
import { type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { startTokenServer, type TokenServer } from "../peers/token-server";

function factsFor(baseUrl: string): Facts {
  const u = new URL(baseUrl);
  const link: LinkInfo = { scheme: u.protocol === "https:" ? "https" : "http", baseUrl, tls: { ca: [], verify: true }, insecure: true };
  return {
    ref: {
      input: `${u.host}/team/app:1.0`,
      registry: u.host,
      repository: "team/app",
      tag: "1.0",
      digest: null,
      canonical: `${u.host}/team/app:1.0`,
      familiar: `${u.host}/team/app:1.0`,
    },
    resolution: { hostname: u.hostname, addresses: [{ address: "127.0.0.1", family: 4 }], via: "literal" },
    route: { url: null, auth: null, reason: "loopback is never proxied" },
    link,
  };
}

async function runV2(baseUrl: string, timeoutMs = 3000) {
  const ctx = testContext({ endpoint: endpointFor(baseUrl), facts: factsFor(baseUrl), options: { timeoutMs } });
  const out = await v2Stage.run(ctx);
  return { ...out, ctx };
}

let plain: RegistryPeer, basic: RegistryPeer, tokenReg: RegistryPeer, ts: TokenServer, nginx: NginxPeer;
let ngPort404: number, ngPortRedirect: number, ngPort502: number;
const servers: { stop(force?: boolean): void }[] = [];
const sockets: net.Server[] = [];

beforeAll(async () => {
  ts = await startTokenServer();
  [plain, basic, tokenReg] = await Promise.all([
    startRegistry(),
    startRegistry({ htpasswd: { alice: "s3cret-pw" } }),
    startRegistry({ token: { realm: ts.realm, service: ts.service, issuer: ts.issuer, rootCertBundle: ts.rootCertBundle } }),
  ]);
  [ngPort404, ngPortRedirect, ngPort502] = [await freePort(), await freePort(), await freePort()];
  nginx = await startNginx({
    httpBlock: `
  server { listen 127.0.0.1:${ngPort404}; location / { return 404; } }
  server { listen 127.0.0.1:${ngPortRedirect}; location / { return 302 https://portal.example.com/login?session=abc123; } }
  server { listen 127.0.0.1:${ngPort502}; location / { proxy_pass http://127.0.0.1:1; } }`,
  });
});
afterAll(async () => {
  for (const s of servers) s.stop(true);
  for (const s of sockets) s.close();
  await Promise.all([plain?.stop(), basic?.stop(), tokenReg?.stop(), ts?.stop(), nginx?.stop()]);
});

describe("v2 against real registries", () => {
  test("open registry: 200 registry/2.0, no challenge", async () => {
    const r = await runV2(plain.url);
    expect(r.findings).toEqual([]);
    expect(r.evidence.status).toBe(200);
    expect(r.evidence.apiVersion).toBe("registry/2.0");
    const ch = r.provides!.challenge as ProbedChallenge;
    expect(ch.status).toBe(200);
    expect(ch.chosen).toBeNull();
    expect(r.ctx.trace.events.some((e) => e.kind === "http" && e.status === 200)).toBe(true);
  });

  test("htpasswd registry: 401 with a Basic challenge", async () => {
    const r = await runV2(basic.url);
    expect(r.findings).toEqual([]);
    const ch = r.provides!.challenge as ProbedChallenge;
    expect(ch.status).toBe(401);
    expect(ch.chosen).toEqual({ scheme: "basic", params: { realm: "pulldoctor-test" } });
    expect(ch.raw).toEqual(['Basic realm="pulldoctor-test"']);
    expect(typeof ch.date).toBe("string");
  });

  test("token registry: 401 with the Bearer realm and service", async () => {
    const r = await runV2(tokenReg.url);
    expect(r.findings).toEqual([]);
    const ch = r.provides!.challenge as ProbedChallenge;
    expect(ch.chosen?.scheme).toBe("bearer");
    expect(ch.chosen?.params).toEqual({ realm: ts.realm, service: ts.service });
    expect(r.summary).toContain("bearer");
    // The runner appends the stage duration; a second "(N ms)" here printed "(10 ms) (13 ms)".
    expect(r.summary).not.toMatch(/\d ms\)$/);
  });
});

describe("v2 against things that are not registries", () => {
  test("captive portal HTML page (200 text/html) → V2_NOT_A_REGISTRY with its title", async () => {
    const srv = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        new Response("<!DOCTYPE html><html><head><title>Guest Wi-Fi Login</title></head><body>Accept the terms</body></html>", {
          headers: { "content-type": "text/html; charset=utf-8" },
        }),
    });
    servers.push(srv);
    const r = await runV2(`http://127.0.0.1:${srv.port}`);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_NOT_A_REGISTRY"]);
    expect(r.evidence.title).toBe("Guest Wi-Fi Login");
    expect(r.findings[0]!.detail).toContain('titled "Guest Wi-Fi Login"');
    expect(r.provides).toBeUndefined();
  });

  test("nginx 404 → V2_NOT_A_REGISTRY naming the 404 page", async () => {
    const r = await runV2(`http://127.0.0.1:${ngPort404}`);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_NOT_A_REGISTRY"]);
    expect(r.evidence.status).toBe(404);
    expect(r.evidence.server).toContain("nginx");
    expect(r.findings[0]!.detail).toContain("404");
  });

  test("redirect to a portal → V2_NOT_A_REGISTRY with the (redacted) Location", async () => {
    const r = await runV2(`http://127.0.0.1:${ngPortRedirect}`);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_NOT_A_REGISTRY"]);
    expect(r.evidence.location).toBe("https://portal.example.com/login?session=REDACTED");
    expect(r.findings[0]!.fixes.join("\n")).toContain("portal.example.com/login");
    expect(JSON.stringify(r)).not.toContain("abc123");
  });

  test("502 from nginx without upstream → V2_SERVER_ERROR", async () => {
    const r = await runV2(`http://127.0.0.1:${ngPort502}`);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_SERVER_ERROR"]);
    expect(r.evidence.status).toBe(502);
    expect(r.findings[0]!.detail).toContain("502 Bad Gateway");
  });

  test("503 with a registry error body and Retry-After → V2_SERVER_ERROR with the errors", async () => {
    const srv = Bun.serve({
      hostname: "127.0.0.1",
      port: 0,
      fetch: () =>
        Response.json(
          { errors: [{ code: "UNAVAILABLE", message: "service unavailable" }] },
          { status: 503, headers: { "retry-after": "30", "docker-distribution-api-version": "registry/2.0" } },
        ),
    });
    servers.push(srv);
    const r = await runV2(`http://127.0.0.1:${srv.port}`);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_SERVER_ERROR"]);
    expect(r.evidence.errors).toEqual(["UNAVAILABLE: service unavailable"]);
    expect(r.findings[0]!.detail).toContain("Retry-After: 30");
  });

  test("a server that accepts and never answers → V2_NO_RESPONSE within the timeout", async () => {
    const s = net.createServer((c) => c.on("data", () => {}));
    sockets.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    const t0 = Date.now();
    const r = await runV2(`http://127.0.0.1:${port}`, 1200);
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_NO_RESPONSE"]);
    expect((r.evidence.error as { kind: string }).kind).toBe("timeout");
    expect((r.evidence.error as { phase: string }).phase).toBe("response");
  });

  test("a server that resets after the request → V2_NO_RESPONSE (reset)", async () => {
    const s = net.createServer((c) => c.once("data", () => c.resetAndDestroy()));
    sockets.push(s);
    await new Promise<void>((r) => s.listen(0, "127.0.0.1", () => r()));
    const port = (s.address() as net.AddressInfo).port;
    const r = await runV2(`http://127.0.0.1:${port}`);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_NO_RESPONSE"]);
    expect((r.evidence.error as { kind: string }).kind).toBe("reset");
  });

  test("the registry went away after the connect stage (refused) → V2_NO_RESPONSE saying so", async () => {
    const port = await freePort();
    const r = await runV2(`http://127.0.0.1:${port}`);
    expect(r.findings.map((f) => f.code)).toEqual(["V2_NO_RESPONSE"]);
    expect((r.evidence.error as { kind: string }).kind).toBe("refused");
    expect(r.findings[0]!.detail).toContain("connect step itself failed");
  });
});
