import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";
import { type DnsmasqPeer, startDnsmasq } from "../peers/dnsmasq";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";
import { codesOf, expectFinding, findingOf, stageOf } from "./helpers-net";

/**
 * Every proxy code produced by the compiled binary against real tinyproxy instances (open,
 * BasicAuth, CONNECT to 443 only) and a small MITM proxy that re-signs TLS with its own CA.
 * The registry (docker-registry with TLS) is addressed as 0.0.0.0:PORT: an IP literal needs no
 * DNS on either side (tinyproxy resolves CONNECT targets with this machine's resolver, which a
 * test must never reach), Go proxies it (only loopback literals and "localhost" are exempt),
 * and Linux delivers 0.0.0.0 over loopback.
 */

let registryCa: CA;
let corpCa: CA;
let reg: RegistryPeer;
let open: TinyproxyPeer;
let authed: TinyproxyPeer;
let restricted: TinyproxyPeer;
let dm: DnsmasqPeer;
let mitm: net.Server;
let mitmUrl: string;
let home: { dir: string; cleanup: () => void };
let certsDir: string;
let target: string;
const PASSWORD = "tp-e2e-s3cret";

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-proxy-");
  registryCa = makeCA("E2E Registry Root");
  corpCa = makeCA("E2E Corp Inspection Root");
  const sans = ["DNS:registry.pd.test", "IP:0.0.0.0"];
  const leaf = issueServerCert(registryCa, { cn: "registry.pd.test", sans });
  reg = await startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } });
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "e2e-proxy" }));
  target = `0.0.0.0:${reg.port}`;
  certsDir = path.join(home.dir, "certs.d");
  for (const host of [target, `registry.pd.test:${reg.port}`]) {
    mkdirSync(path.join(certsDir, host), { recursive: true });
    writeFileSync(path.join(certsDir, host, "ca.crt"), registryCa.cert);
  }
  // The MITM: CONNECT 200, then it terminates TLS itself with a certificate for the
  // requested host issued by the "corporate" CA (what TLS-inspecting proxies do).
  const fake = issueServerCert(corpCa, { cn: "registry.pd.test", sans });
  const secureContext = tls.createSecureContext({ cert: fake.cert, key: fake.key });
  mitm = net.createServer((sock) => {
    sock.on("error", () => {});
    sock.once("data", () => {
      sock.write("HTTP/1.1 200 Connection established\r\n\r\n");
      const t = new tls.TLSSocket(sock, { isServer: true, secureContext });
      t.on("error", () => sock.destroy());
    });
  });
  await new Promise<void>((r) => mitm.listen(0, "127.0.0.1", r));
  mitmUrl = `http://127.0.0.1:${(mitm.address() as net.AddressInfo).port}`;
  [open, authed, restricted, dm] = await Promise.all([
    startTinyproxy(),
    startTinyproxy({ basicAuth: { user: "alice", password: PASSWORD } }),
    startTinyproxy({ connectPorts: [443] }),
    startDnsmasq({ local: ["pd.test"], hosts: { "registry.pd.test": ["0.0.0.0"] } }),
  ]);
});
afterAll(async () => {
  await Promise.all([reg, open, authed, restricted, dm].map((p) => p?.stop()));
  mitm?.close();
  registryCa?.cleanup();
  corpCa?.cleanup();
  home?.cleanup();
});

/** A daemon.json whose "proxies" match the shell's, so only the finding under test shows. */
function daemonWith(proxy: string | null): string {
  const file = path.join(home.dir, `daemon-${Math.random().toString(36).slice(2)}.json`);
  writeFileSync(file, JSON.stringify(proxy ? { proxies: { "https-proxy": proxy } } : {}));
  return file;
}

function check(env: Record<string, string>, o: { host?: string; daemon?: string | null; timeout?: number } = {}) {
  const daemonConfig =
    o.daemon === undefined ? daemonWith(env.HTTPS_PROXY ?? null) : o.daemon === null ? path.join(home.dir, "no-daemon.json") : o.daemon;
  const flags = ["--dns", dm.server, "--certs-dir", certsDir, "--daemon-config", daemonConfig];
  return checkCli(`${o.host ?? target}/team/app:1.0`, flags, { home: home.dir, env, timeout: o.timeout, ns: {} });
}

describe("proxy e2e: the compiled binary through tinyproxy", () => {
  test("PROXY_IN_USE (info): HTTPS_PROXY tunnels every stage through tinyproxy; the healthy pull passes, exit 0", async () => {
    const c = await check({ HTTPS_PROXY: open.url });
    const f = expectFinding(c, "PROXY_IN_USE", "info", "proxy", "pass");
    expect(f.detail).toContain(`${target} goes through ${open.url} (HTTPS_PROXY): CONNECT answered 200`);
    expect(codesOf(c.report, "proxy")).toEqual(["PROXY_IN_USE:info"]);
    const hop = stageOf(c.report, "connect").evidence.hops[0];
    expect(hop.target).toContain(`proxy ${open.url}`);
    expect(hop.target).toContain(target);
    expect(hop.tls.chain[0].issuer).toContain("E2E Registry Root");
    expect(stageOf(c.report, "manifest").status).toBe("pass");
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
    // The pull really went through the proxy: tinyproxy logged the CONNECT.
    expect(open.logs()).toContain(`0.0.0.0:${reg.port}`);
  });

  test("PROXY_DAEMON_MISMATCH (warning): the shell has HTTPS_PROXY, the daemon has none — the drop-in fix carries the values", async () => {
    const c = await check({ HTTPS_PROXY: open.url, NO_PROXY: "127.0.0.1,.corp.example" }, { daemon: null });
    const f = expectFinding(c, "PROXY_DAEMON_MISMATCH", "warning", "proxy");
    expect(f.detail).toContain("docker pull will use the daemon's: direct");
    expect(f.fixes[0]).toContain(`Environment="HTTPS_PROXY=${open.url}"`);
    expect(f.fixes[0]).toContain(`Environment="NO_PROXY=127.0.0.1,.corp.example"`);
    expect(c.r.code).toBe(0);
  });

  test("PROXY_BYPASSED (info): NO_PROXY .pd.test matches; the dead proxy is never dialled and the registry is reached directly", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    // The daemon (no daemon.json proxies) goes direct too: no mismatch to report.
    const c = await check({ HTTPS_PROXY: dead, no_proxy: "example.com, .pd.test" }, { host: `registry.pd.test:${reg.port}`, daemon: null });
    const f = expectFinding(c, "PROXY_BYPASSED", "info", "proxy", "pass");
    expect(f.detail).toBe(
      `registry.pd.test:${reg.port} bypasses ${dead}: no_proxy entry .pd.test matches registry.pd.test:${reg.port} (direct).`,
    );
    expect(stageOf(c.report, "connect").evidence.hops[0].target).toBe(`0.0.0.0:${reg.port}`);
    expect(c.r.code).toBe(0);
  });

  test("PROXY_UNREACHABLE (error): nothing listens on the proxy port — Docker's proxyconnect text names it", async () => {
    const port = await freePort();
    const c = await check({ HTTPS_PROXY: `http://127.0.0.1:${port}` });
    const f = expectFinding(c, "PROXY_UNREACHABLE", "error", "proxy");
    expect(f.detail).toContain(`proxyconnect tcp: dial tcp 127.0.0.1:${port}: connect: connection refused`);
    expect(f.evidence).toMatchObject({ proxy: `http://127.0.0.1:${port}`, target, kind: "unreachable", code: "ECONNREFUSED" });
  });

  test("PROXY_UNREACHABLE (error): a proxy that accepts and never answers CONNECT ends on --timeout", async () => {
    const quiet = net.createServer((sock) => sock.on("error", () => {}));
    await new Promise<void>((r) => quiet.listen(0, "127.0.0.1", r));
    const url = `http://127.0.0.1:${(quiet.address() as net.AddressInfo).port}`;
    try {
      const t0 = Date.now();
      const c = await check({ HTTPS_PROXY: url }, { timeout: 1 });
      expect(Date.now() - t0).toBeLessThan(5000);
      const f = expectFinding(c, "PROXY_UNREACHABLE", "error", "proxy");
      expect(f.detail).toContain("never answered CONNECT within 1000 ms");
      expect(f.evidence).toMatchObject({ proxy: url, target, kind: "timeout" });
    } finally {
      quiet.close();
    }
  });

  test("PROXY_AUTH_REQUIRED (error): tinyproxy BasicAuth answers 407; the challenge is shown, the wrong password never", async () => {
    const none = await check({ HTTPS_PROXY: authed.url });
    const f = expectFinding(none, "PROXY_AUTH_REQUIRED", "error", "proxy");
    expect(f.detail).toContain("with 407");
    expect(f.detail).toContain("no credentials are in the proxy URL");
    expect(f.fixes[0]).toContain(`HTTPS_PROXY=http://USER:PASSWORD@127.0.0.1:${authed.port}`);
    expect(f.evidence).toMatchObject({ proxy: authed.url, target, status: 407, proxyAuthenticate: expect.stringContaining("Basic") });
    const wrong = `http://alice:wrong-${PASSWORD}@127.0.0.1:${authed.port}`;
    const c = await check({ HTTPS_PROXY: wrong });
    const g = expectFinding(c, "PROXY_AUTH_REQUIRED", "error", "proxy");
    expect(g.detail).toContain("user alice from the proxy URL were rejected");
    // Nowhere: stdout, stderr or the report file.
    expectNoSecrets(c.all, [`wrong-${PASSWORD}`]);
  });

  test("PROXY_CONNECT_REFUSED (error): tinyproxy allows CONNECT to 443 only ⇒ 403 for the registry port", async () => {
    const c = await check({ https_proxy: restricted.url }, { daemon: daemonWith(restricted.url) });
    const f = expectFinding(c, "PROXY_CONNECT_REFUSED", "error", "proxy");
    expect(f.detail).toMatch(new RegExp(`answered CONNECT 0\\.0\\.0\\.0:${reg.port} with "HTTP/1\\.[01] 403`));
    expect(f.fixes[0]).toContain("a non-443 port");
    expect(f.evidence).toMatchObject({
      proxy: restricted.url,
      target,
      status: 403,
      headers: { server: expect.stringContaining("tinyproxy") },
    });
  });
});

describe("proxy e2e: TLS interception", () => {
  test("PROXY_TLS_INTERCEPTION (error): through the proxy the certificate is the corporate CA's, directly the registry's", async () => {
    const c = await check({ HTTPS_PROXY: mitmUrl });
    expectValidReport(c.report);
    const f = findingOf(c.report, "PROXY_TLS_INTERCEPTION");
    expect([f.severity, f.stage]).toEqual(["error", "proxy"]);
    expect(stageOf(c.report, "proxy").status).toBe("fail");
    expect(c.r.code).toBe(1);
    expect(f.detail).toContain('issued by "CN=E2E Corp Inspection Root, O=pulldoctor tests"');
    expect(f.detail).toContain('directly it presents a certificate issued by "CN=E2E Registry Root, O=pulldoctor tests"');
    expect(f.fixes[1]).toContain(path.join(certsDir, target));
    expect(f.evidence.proxy).toBe(mitmUrl);
    expect(f.evidence.throughProxy[0].issuer).toContain("E2E Corp Inspection Root");
    expect(f.evidence.direct[0].issuer).toContain("E2E Registry Root");
  });
});
