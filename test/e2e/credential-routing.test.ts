import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, type KeyPair, makeCA } from "../helpers/pki";
import { type Recorder, startRecorder, tokenRoute } from "../peers/recorder";

/**
 * Where credentials go, asserted at every host that could receive them (recording peers):
 * Basic/Bearer only to the registry host and its token realm; to the realm over TLS unless the
 * registry is insecure by configuration; never after a redirect to another host (/v2/,
 * manifest, token, blob); through a CONNECT proxy the proxy sees only Proxy-Authorization and
 * the registry never sees the proxy's credentials.
 */
const PW = "routing-Alice-pw-93";
const BASIC = `Basic ${btoa(`alice:${PW}`)}`;
const PROXY_PW = "routing-proxy-pw-41";
const PROXY_BASIC = `Basic ${btoa(`puser:${PROXY_PW}`)}`;
const TOKEN = "routing-token-abcdef";
const image = buildImage({ label: "routing" });
const REPO = "team/app";

let ca: CA, leaf: KeyPair;
let home: { dir: string; cleanup: () => void };
let certsDir: string;
const stops: (() => void)[] = [];
let n = 0;

beforeAll(() => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-routing-");
  ca = makeCA("pulldoctor routing CA");
  leaf = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1", "IP:127.0.0.2", "IP:0.0.0.0"] });
  certsDir = path.join(home.dir, "certs.d");
}, 20_000);
afterAll(() => {
  for (const s of stops) s();
  ca?.cleanup();
  home?.cleanup();
});

const tls = () => ({ cert: leaf.cert, key: leaf.key });
function rec(o: Parameters<typeof startRecorder>[0]): Recorder {
  const r = startRecorder(o);
  stops.push(r.stop);
  // certs.d for every name the recorder may be addressed by.
  for (const host of [r.host, `0.0.0.0:${r.port}`]) {
    mkdirSync(path.join(certsDir, host), { recursive: true });
    writeFileSync(path.join(certsDir, host, "ca.crt"), ca.cert);
  }
  return r;
}
const registry = (extra: { basic?: boolean; realm?: string } = {}) => ({
  image,
  repo: REPO,
  tag: "1.0",
  ...(extra.realm ? { bearer: { realm: extra.realm, service: "routing", token: TOKEN } } : { basic: { user: "alice", password: PW } }),
});

async function run(cmd: "check" | "pull", host: string, extra: string[] = [], env: Record<string, string> = {}) {
  const cfg = path.join(home.dir, `docker-${++n}`);
  mkdirSync(cfg);
  writeFileSync(path.join(cfg, "config.json"), JSON.stringify({ auths: { [host]: { auth: btoa(`alice:${PW}`) } } }));
  const out = cmd === "pull" ? ["--output", `oci:${path.join(home.dir, `out-${++n}`)}:1.0`] : [];
  const c = await checkCli(`${host}/${REPO}:1.0`, ["--docker-config", cfg, "--certs-dir", certsDir, ...out, ...extra], {
    home: home.dir,
    command: cmd,
    env: { PULLDOCTOR_STORE: path.join(home.dir, `store-${++n}`), ...env },
  });
  return { code: c.r.code, report: c.report, codes: c.codes, find: c.find };
}
const auths = (r: Recorder) => r.authorized().map((s) => s.headers.authorization);

describe("bearer: credentials to the realm only, the token to the registry only", () => {
  test("an https realm on another host gets Basic; the registry gets only the Bearer token (check and pull)", async () => {
    const realm = rec({ hostname: "127.0.0.2", tls: tls(), route: tokenRoute(TOKEN) });
    const reg = rec({ tls: tls(), registry: registry({ realm: `${realm.url}/token` }) });
    for (const cmd of ["check", "pull"] as const) {
      const c = await run(cmd, reg.host);
      expect([cmd, c.code]).toEqual([cmd, 0]);
    }
    expect(new Set(auths(realm))).toEqual(new Set([BASIC]));
    expect(new Set(auths(reg))).toEqual(new Set([`Bearer ${TOKEN}`]));
  }, 30_000);

  test("an http:// realm named by a TLS registry that is not insecure: credentials withheld (AUTH_BASIC_OVER_HTTP); sent once the registry is configured insecure", async () => {
    const realm = rec({ route: tokenRoute(TOKEN) });
    const reg = rec({ tls: tls(), registry: registry({ realm: `${realm.url}/token` }) });
    // 0.0.0.0 is not loopback: Docker does not treat it as insecure by default.
    const host = `0.0.0.0:${reg.port}`;
    const c = await run("check", host);
    expect(c.codes).toContain("AUTH_BASIC_OVER_HTTP:warning");
    expect(c.find("AUTH_BASIC_OVER_HTTP").detail).toContain("not sent by pulldoctor");
    expect(realm.seen.length).toBeGreaterThan(0);
    expect(auths(realm)).toEqual([]);
    const i = await run("check", host, ["--insecure-registry", host]);
    expect(i.find("AUTH_BASIC_OVER_HTTP").detail).toContain("sent, as Docker does");
    expect(auths(realm)).toContain(BASIC);
  }, 30_000);

  test("the token realm redirects to another host: the credentials never reach it", async () => {
    const other = rec({ hostname: "127.0.0.2", tls: tls(), route: tokenRoute(TOKEN) });
    const realm = rec({
      tls: tls(),
      route: (_q, u) =>
        u.pathname === "/token" ? new Response(null, { status: 307, headers: { location: `${other.url}/token${u.search}` } }) : null,
    });
    const reg = rec({ tls: tls(), registry: registry({ realm: `${realm.url}/token` }) });
    const c = await run("check", reg.host);
    expect(c.code).toBe(1);
    expect(c.report.verdict.code).toBe("AUTH_TOKEN_SERVER_UNREACHABLE");
    expect(c.find("AUTH_TOKEN_SERVER_UNREACHABLE").detail).toContain(`a redirect to ${other.url}/token`);
    expect(c.find("AUTH_TOKEN_SERVER_UNREACHABLE").detail).toContain("does not follow a token server there with credentials");
    expect(auths(realm)).toEqual([BASIC]);
    expect(other.seen).toEqual([]);
    expect(auths(reg)).toEqual([]);
  }, 30_000);

  test("a redirect within the realm's own origin is followed with the credentials, as Go's client does", async () => {
    const realm = rec({
      tls: tls(),
      route: (_q, u) =>
        u.pathname === "/token"
          ? new Response(null, { status: 307, headers: { location: `/v2/token${u.search}` } })
          : u.pathname === "/v2/token"
            ? Response.json({ token: TOKEN })
            : null,
    });
    const reg = rec({ tls: tls(), registry: registry({ realm: `${realm.url}/token` }) });
    const c = await run("check", reg.host);
    expect([c.code, c.codes.filter((x) => x.endsWith(":error"))]).toEqual([0, []]);
    expect(realm.seen.map((x) => [x.path.split("?")[0], x.headers.authorization])).toEqual([
      ["/token", BASIC],
      ["/v2/token", BASIC],
    ]);
  }, 30_000);
});

describe("never after a redirect to another host", () => {
  test("/v2/ and manifest redirects to another host carry no Authorization (check and pull)", async () => {
    const other = rec({ hostname: "127.0.0.2", tls: tls(), registry: { image, repo: REPO, tag: "1.0" } });
    const reg = rec({
      tls: tls(),
      registry: registry(),
      route: (q, u) =>
        u.pathname.includes("/manifests/") && q.headers.get("authorization") === BASIC
          ? new Response(null, { status: 307, headers: { location: `${other.url}${u.pathname}` } })
          : null,
    });
    for (const cmd of ["check", "pull"] as const) expect((await run(cmd, reg.host)).code).toBe(1);
    expect(auths(reg)).toContain(BASIC);
    expect(auths(other)).toEqual([]);
    const v2 = rec({
      tls: tls(),
      route: (_q, u) => (u.pathname === "/v2/" ? new Response(null, { status: 302, headers: { location: `${other.url}/v2/` } }) : null),
    });
    expect((await run("check", v2.host)).code).toBe(1);
    expect(auths(other)).toEqual([]);
  }, 30_000);

  test("a blob redirect to another port of the same address carries no Authorization (doctor and pull)", async () => {
    // The doctor's blob stage trusts the registry's certs.d CA for the redirect target (Docker's
    // shared transport); the pull engine does not, so its CDN here is plain http.
    const cdn = rec({ tls: tls(), registry: { image, repo: REPO, tag: "1.0" } });
    const plainCdn = rec({ registry: { image, repo: REPO, tag: "1.0" } });
    const redirecting = (to: Recorder) => (q: Request, u: URL) =>
      u.pathname.includes("/blobs/") && q.headers.get("authorization") === BASIC
        ? new Response(null, { status: 307, headers: { location: `${to.url}${u.pathname}` } })
        : null;
    const reg = rec({ tls: tls(), registry: registry(), route: redirecting(cdn) });
    expect((await run("check", reg.host)).code).toBe(0);
    const reg2 = rec({ tls: tls(), registry: registry(), route: redirecting(plainCdn) });
    for (const cmd of ["check", "pull"] as const) expect([cmd, (await run(cmd, reg2.host)).code]).toEqual([cmd, 0]);
    for (const c of [cdn, plainCdn]) {
      expect(c.seen.some((s) => s.path.includes("/blobs/"))).toBe(true);
      expect(auths(c)).toEqual([]);
    }
  }, 30_000);
});

/** A CONNECT proxy that records each request head and requires Proxy-Authorization. */
function recordingConnectProxy(): { url: string; heads: Record<string, string>[]; stop: () => void } {
  const heads: Record<string, string>[] = [];
  const server = net.createServer((sock) => {
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    const onData = (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const end = buf.indexOf("\r\n\r\n");
      if (end < 0) return;
      sock.off("data", onData);
      const [line, ...rest] = buf.subarray(0, end).toString("latin1").split("\r\n");
      const h: Record<string, string> = { "request-line": line! };
      for (const l of rest) h[l.slice(0, l.indexOf(":")).toLowerCase()] = l.slice(l.indexOf(":") + 1).trim();
      heads.push(h);
      const m = /^CONNECT ([^ ]+):(\d+) /.exec(line!);
      if (!m || h["proxy-authorization"] !== PROXY_BASIC)
        return void sock.end(
          'HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: Basic realm="rec"\r\nContent-Length: 0\r\n\r\n',
        );
      const up = net.connect(Number(m[2]), m[1] === "0.0.0.0" ? "127.0.0.1" : m[1]!, () => {
        sock.write("HTTP/1.1 200 Connection established\r\n\r\n");
        const leftover = buf.subarray(end + 4);
        if (leftover.length) up.write(leftover);
        sock.pipe(up).pipe(sock);
      });
      up.on("error", () => sock.destroy());
    };
    sock.on("data", onData);
  });
  server.listen(0, "127.0.0.1");
  stops.push(() => server.close());
  return { url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`, heads, stop: () => server.close() };
}

describe("through a CONNECT proxy", () => {
  test("the proxy sees only Proxy-Authorization; the registry and the realm never see the proxy's credentials", async () => {
    const proxy = recordingConnectProxy();
    const realm = rec({ hostname: "127.0.0.2", tls: tls(), route: tokenRoute(TOKEN) });
    const basicReg = rec({ tls: tls(), registry: registry() });
    const bearerReg = rec({ tls: tls(), registry: registry({ realm: `${realm.url}/token` }) });
    const env = { HTTPS_PROXY: `http://puser:${PROXY_PW}@127.0.0.1:${new URL(proxy.url).port}` };
    for (const reg of [basicReg, bearerReg]) {
      const host = `0.0.0.0:${reg.port}`;
      for (const cmd of ["check", "pull"] as const) {
        const c = await run(cmd, host, [], env);
        expect([cmd, c.code, c.codes.filter((x) => x.endsWith(":error"))]).toEqual([cmd, 0, []]);
      }
    }
    expect(proxy.heads.length).toBeGreaterThan(0);
    for (const h of proxy.heads) {
      expect(h["request-line"]).toStartWith("CONNECT 0.0.0.0:");
      expect(h.authorization).toBeUndefined();
      expect(h["proxy-authorization"]).toBe(PROXY_BASIC);
    }
    for (const r of [basicReg, bearerReg, realm]) for (const s of r.seen) expect(s.headers["proxy-authorization"]).toBeUndefined();
    expect(new Set(auths(basicReg))).toEqual(new Set([BASIC]));
    expect(new Set(auths(bearerReg))).toEqual(new Set([`Bearer ${TOKEN}`]));
    // The loopback realm is reached directly (Go's proxy rule exempts loopback), with the credentials.
    expect(new Set(auths(realm))).toEqual(new Set([BASIC]));
  }, 60_000);
});
