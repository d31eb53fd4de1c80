import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectNoSecrets } from "../helpers/schema";
import { type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";

/**
 * The v2 codes and the Basic/challenge auth codes through the compiled binary: nginx for the
 * web server that is not a registry and the dead upstream, a real htpasswd registry for Basic,
 * and small servers written here for what neither produces (a silent server, broken challenges).
 */

const PW = "v2e2e-Basic-s3cret";
let basic: RegistryPeer;
let nginx: NginxPeer;
let home: { dir: string; cleanup: () => void };
let port404 = 0,
  port502 = 0;
const servers: { stop(force?: boolean): void }[] = [];
let silent: net.Server;
const held: net.Socket[] = [];

const registryHeaders = { "docker-distribution-api-version": "registry/2.0", "content-type": "application/json" };
function serve(handler: (req: Request) => Response | Promise<Response>): string {
  const s = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: handler });
  servers.push(s);
  return `127.0.0.1:${s.port}`;
}

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-v2-");
  basic = await startRegistry({ htpasswd: { alice: PW } });
  await pushImage(basic.url, "team/app", "1.0", buildImage({ label: "v2-basic" }), { authorization: `Basic ${btoa(`alice:${PW}`)}` });
  [port404, port502] = [await freePort(), await freePort()];
  const dead = await freePort();
  nginx = await startNginx({
    httpBlock: `
  server { listen 127.0.0.1:${port404}; location / { return 404; } }
  server { listen 127.0.0.1:${port502}; location / { proxy_pass http://127.0.0.1:${dead}; } }`,
  });
  // Accepts, reads the request, never answers: a hung load balancer. A TLS ClientHello (0x16) gets
  // the 400 a plain-HTTP server sends, so the connect stage sees plain HTTP and the v2 probe hangs.
  silent = net.createServer((s) => {
    held.push(s);
    s.once("data", (d) => {
      if (d[0] === 0x16) s.end("HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n");
    });
  });
  await new Promise<void>((r) => silent.listen(0, "127.0.0.1", () => r()));
});
afterAll(async () => {
  for (const s of servers) s.stop(true);
  for (const s of held) s.destroy();
  silent?.close();
  await Promise.all([basic?.stop(), nginx?.stop()]);
  home?.cleanup();
});

/** Whatever the outcome: the registry password never appears, nor any Basic header or JWT. */
const check = (image: string, extra: string[] = [], stdin?: string) =>
  checkCli(image, extra, { home: home.dir, timeout: 2, stdin, secrets: [PW, btoa(`alice:${PW}`)] });

function expectFails(c: Awaited<ReturnType<typeof check>>, code: string, stage: string) {
  const f = c.find(code);
  expect(f).toBeDefined();
  expect(f.severity).toBe("error");
  expect(f.stage).toBe(stage);
  expect(c.stage(stage).status).toBe("fail");
  expect(c.report.verdict).toMatchObject({ ok: false, code });
  expect(c.r.code).toBe(1);
  return f;
}

describe("v2 codes through the binary", () => {
  test("V2_NOT_A_REGISTRY: nginx answers /v2/ with its 404 page", async () => {
    const c = await check(`127.0.0.1:${port404}/team/app:1.0`);
    const f = expectFails(c, "V2_NOT_A_REGISTRY", "v2");
    expect(f.evidence.status).toBe(404);
    expect(String(f.evidence.server)).toContain("nginx");
    expect(c.stage("auth").status).toBe("skip");
  });

  test("V2_NOT_A_REGISTRY: a captive portal page (200 text/html) named by its title", async () => {
    const host = serve(
      () =>
        new Response("<!DOCTYPE html><html><head><title>Guest Wi-Fi Login</title></head><body>Accept</body></html>", {
          headers: { "content-type": "text/html" },
        }),
    );
    const c = await check(`${host}/team/app:1.0`);
    const f = expectFails(c, "V2_NOT_A_REGISTRY", "v2");
    expect(f.evidence.title).toBe("Guest Wi-Fi Login");
    expect(f.detail).toContain('titled "Guest Wi-Fi Login"');
  });

  test("V2_SERVER_ERROR: nginx 502 (its upstream registry is down)", async () => {
    const c = await check(`127.0.0.1:${port502}/team/app:1.0`);
    const f = expectFails(c, "V2_SERVER_ERROR", "v2");
    expect(f.evidence.status).toBe(502);
    expect(f.detail).toContain("502 Bad Gateway");
  });

  test("V2_NO_RESPONSE: a server that accepts and never answers, bounded by --timeout", async () => {
    const port = (silent.address() as net.AddressInfo).port;
    const t0 = Date.now();
    const c = await check(`127.0.0.1:${port}/team/app:1.0`);
    expect(Date.now() - t0).toBeLessThan(15_000);
    const f = expectFails(c, "V2_NO_RESPONSE", "v2");
    expect(f.evidence.error.kind).toBe("timeout");
  });
});

describe("Basic auth codes through the binary (htpasswd registry on loopback, plain HTTP)", () => {
  test("AUTH_CREDENTIALS_REQUIRED: no credentials, the exact docker login line", async () => {
    const c = await check(`${basic.host}/team/app:1.0`);
    const f = expectFails(c, "AUTH_CREDENTIALS_REQUIRED", "auth");
    expect(f.fixes[0]).toBe(`\`docker login ${basic.host}\``);
    expect(c.stage("manifest").status).toBe("skip");
  });

  test("AUTH_UNAUTHORIZED: a wrong password is rejected (401), never shown", async () => {
    const cfg = path.join(home.dir, "docker-wrong");
    mkdirSync(cfg);
    writeFileSync(path.join(cfg, "config.json"), JSON.stringify({ auths: { [basic.host]: { auth: btoa("alice:wrong-Passw0rd-e2e") } } }));
    const c = await check(`${basic.host}/team/app:1.0`, ["--docker-config", cfg]);
    const f = expectFails(c, "AUTH_UNAUTHORIZED", "auth");
    expect(f.detail).toContain("registry answered 401");
    expect(f.fixes.join("\n")).toContain(`docker login ${basic.host}`);
    expectNoSecrets(c.all, ["wrong-Passw0rd-e2e", btoa("alice:wrong-Passw0rd-e2e")]);
  });

  test("AUTH_BASIC_OVER_HTTP: the right password over plain HTTP works (warning), never shown", async () => {
    const c = await check(`${basic.host}/team/app:1.0`, ["--username", "alice", "--password-stdin"], `${PW}\n`);
    const f = c.find("AUTH_BASIC_OVER_HTTP");
    expect(f.severity).toBe("warning");
    expect(f.detail).toContain("sent");
    expect(c.stage("auth").status).toBe("warn");
    expect(c.stage("manifest").status).toBe("pass");
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
    expectNoSecrets(c.all, [PW, btoa(`alice:${PW}`)]);
  });
});

describe("challenge and no-answer codes through the binary", () => {
  const unauthorized = (www: string | null) =>
    new Response('{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', {
      status: 401,
      headers: www === null ? registryHeaders : { ...registryHeaders, "www-authenticate": www },
    });

  test("AUTH_CHALLENGE_INVALID: a Bearer challenge without realm", async () => {
    const www = 'Bearer service="registry.example.com",scope="repository:team/app:pull"';
    const host = serve(() => unauthorized(www));
    const c = await check(`${host}/team/app:1.0`);
    const f = expectFails(c, "AUTH_CHALLENGE_INVALID", "auth");
    expect(f.detail).toContain("no realm");
    expect(f.evidence.challenge.raw).toEqual([www]);
  });

  test("AUTH_CHALLENGE_INVALID: only Negotiate (an SSO gateway)", async () => {
    const host = serve(() => unauthorized("Negotiate"));
    const c = await check(`${host}/team/app:1.0`);
    const f = expectFails(c, "AUTH_CHALLENGE_INVALID", "auth");
    expect(f.detail).toContain("no Bearer or Basic");
  });

  test("AUTH_NO_RESPONSE: /v2/ answers, the manifest HEAD hangs", async () => {
    const host = serve((req) =>
      new URL(req.url).pathname === "/v2/" ? new Response("{}", { headers: registryHeaders }) : new Promise<Response>(() => {}),
    );
    const c = await check(`${host}/team/app:1.0`);
    const f = expectFails(c, "AUTH_NO_RESPONSE", "auth");
    expect(f.evidence.manifestHead.error.kind).toBe("timeout");
  });
});
