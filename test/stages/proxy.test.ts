import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import tls from "node:tls";
import type { Facts, LocalConfig } from "../../src/model/facts";
import type { Endpoint } from "../../src/model/stage";
import { proxyStage } from "../../src/stages/proxy";
import { tempDir, testContext } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { freePort } from "../peers/require";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";

/*
 * The proxy stage against real peers: tinyproxy (open, BasicAuth, ConnectPort-restricted),
 * a closed port, a silent listener, and a MITM CONNECT proxy that re-signs TLS with its own CA.
 * The registry host is "LOCALHOST": Go proxies it (only lower-case "localhost" is exempt)
 * and tinyproxy resolves it from /etc/hosts, so nothing leaves 127.0.0.1.
 */

let registryCa: CA;
let corpCa: CA;
let registry: tls.Server;
let registryPort: number;
let open: TinyproxyPeer;
let authed: TinyproxyPeer;
let restricted: TinyproxyPeer;
let mitmPort: number;
let certsDir: string;
const cleanups: (() => void | Promise<void>)[] = [];

async function listen(srv: net.Server): Promise<number> {
  await new Promise<void>((r) => srv.listen(0, "127.0.0.1", r));
  cleanups.push(() => void srv.close());
  return (srv.address() as net.AddressInfo).port;
}

function local(daemon: Partial<LocalConfig["daemon"]> = {}): LocalConfig {
  return {
    dockerConfig: { path: "/nonexistent/config.json", found: false, kind: "none" },
    daemon: {
      path: "/etc/docker/daemon.json",
      found: false,
      mirrors: [],
      insecureRegistries: [],
      proxies: null,
      liveProxies: null,
      liveSource: null,
      ...daemon,
    },
    certsDir,
  };
}

function endpoint(hostname = "LOCALHOST", port = registryPort): Endpoint {
  return {
    url: `https://${hostname}:${port}`,
    host: `${hostname}:${port}`,
    hostname,
    port,
    role: "upstream",
    insecure: false,
    pathPrefix: "",
  };
}

function facts(over: Partial<Facts> = {}, hostname = "LOCALHOST"): Facts {
  return {
    ref: {
      input: `${hostname}:${registryPort}/team/app:1.0`,
      registry: `${hostname}:${registryPort}`,
      repository: "team/app",
      tag: "1.0",
      digest: null,
      canonical: "",
      familiar: "",
    },
    local: local(),
    resolution: { hostname, addresses: [{ address: "127.0.0.1", family: 4 }], via: "/etc/hosts" },
    ...over,
  };
}

async function run(env: Record<string, string>, opts: { facts?: Facts; endpoint?: Endpoint; timeoutMs?: number } = {}) {
  const ctx = testContext({
    endpoint: opts.endpoint ?? endpoint(),
    facts: opts.facts ?? facts(),
    deps: { env },
    options: { timeoutMs: opts.timeoutMs ?? 3000, certsDir },
  });
  const out = await proxyStage.run(ctx);
  return {
    ...out,
    codes: out.findings.map((f) => f.code),
    json: JSON.stringify(out) + JSON.stringify(ctx.trace.events),
    trace: ctx.trace.events,
  };
}

beforeAll(async () => {
  registryCa = makeCA("Registry Test Root");
  corpCa = makeCA("Corp Inspection Root");
  cleanups.push(
    () => registryCa.cleanup(),
    () => corpCa.cleanup(),
  );
  const leaf = issueServerCert(registryCa, { cn: "registry.pd.test", sans: ["DNS:registry.pd.test", "DNS:localhost", "IP:127.0.0.1"] });
  registry = tls.createServer({ cert: leaf.cert, key: leaf.key }, (s) => s.end("HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n"));
  registryPort = await listen(registry);
  // The MITM proxy: answers CONNECT 200, then terminates TLS itself with a certificate for
  // the requested host issued by the "corporate" CA (what Zscaler & co. do).
  const fake = issueServerCert(corpCa, { cn: "registry.pd.test", sans: ["DNS:registry.pd.test", "DNS:localhost", "IP:127.0.0.1"] });
  const ctx = tls.createSecureContext({ cert: fake.cert, key: fake.key });
  mitmPort = await listen(
    net.createServer((sock) => {
      sock.once("data", () => {
        sock.write("HTTP/1.1 200 Connection established\r\n\r\n");
        const t = new tls.TLSSocket(sock, { isServer: true, secureContext: ctx });
        t.on("error", () => sock.destroy());
      });
      sock.on("error", () => {});
    }),
  );
  [open, authed, restricted] = await Promise.all([
    startTinyproxy(),
    startTinyproxy({ basicAuth: { user: "alice", password: "tp-s3cret" } }),
    startTinyproxy({ connectPorts: [443] }),
  ]);
  cleanups.push(
    () => open.stop(),
    () => authed.stop(),
    () => restricted.stop(),
  );
  const d = tempDir("pd-certsd-");
  certsDir = d.dir;
  cleanups.push(d.cleanup);
});
afterAll(async () => {
  for (const c of cleanups.reverse()) await c();
});

describe("proxy stage: route and CONNECT through tinyproxy", () => {
  test("PROXY_IN_USE: tunnel 200, same certificate through the proxy and directly; the daemon has no proxy ⇒ PROXY_DAEMON_MISMATCH", async () => {
    const r = await run({ HTTPS_PROXY: open.url, NO_PROXY: "127.0.0.1,.corp.example" });
    expect(r.codes).toEqual(["PROXY_IN_USE", "PROXY_DAEMON_MISMATCH"]);
    expect(r.provides?.route?.url).toBe(open.url);
    expect(r.findings[0]!.detail).toContain(`LOCALHOST:${registryPort} goes through ${open.url} (HTTPS_PROXY): CONNECT answered 200`);
    const tlsEv = (r.evidence.tunnel as { tls: unknown }).tls as {
      throughProxy: { chain: { fingerprint256: string; issuer: string }[] };
      direct: { chain: { fingerprint256: string }[] };
    };
    expect(tlsEv.throughProxy.chain[0]!.fingerprint256).toBe(tlsEv.direct.chain[0]!.fingerprint256);
    expect(tlsEv.throughProxy.chain[0]!.issuer).toContain("Registry Test Root");
    const m = r.findings[1]!;
    expect(m.severity).toBe("warning");
    expect(m.detail).toContain("docker pull will use the daemon's: direct");
    expect(m.fixes[0]).toContain(`Environment="HTTPS_PROXY=${open.url}"`);
    expect(m.fixes[0]).toContain(`Environment="NO_PROXY=127.0.0.1,.corp.example"`);
    expect(m.fixes[1]).toContain(`"https-proxy":"${open.url}"`);
  });

  test("no mismatch when daemon.json proxies give the daemon the same proxy; a different drop-in proxy is named", async () => {
    const same = await run({ HTTPS_PROXY: open.url }, { facts: facts({ local: local({ found: true, proxies: { https: open.url } }) }) });
    expect(same.codes).toEqual(["PROXY_IN_USE"]);
    const dead = `http://127.0.0.1:${await freePort()}`;
    const dropIn = "/etc/systemd/system/docker.service.d/http-proxy.conf";
    const other = await run({}, { facts: facts({ local: local({ liveProxies: { https: dead }, liveSource: dropIn }) }) });
    // The shell goes direct; the daemon's proxy (which docker pull uses) is probed too and named.
    expect(other.codes).toEqual(["PROXY_DAEMON_MISMATCH", "PROXY_UNREACHABLE"]);
    expect(other.findings[0]!.detail).toContain(`the daemon uses ${dead}`);
    expect(other.findings[0]!.detail).toContain(`docker pull will use the daemon's: ${dead}`);
    expect(other.findings[0]!.fixes[0]).toContain(`Remove the daemon's proxy settings (${dropIn})`);
    expect(other.findings[1]!.detail).toContain(`This is the Docker daemon's proxy, from ${dropIn} HTTPS_PROXY`);
  });

  test("same proxy URL but the daemon lacks the credentials: mismatch, and the daemon's 407 is named", async () => {
    const url = `http://alice:tp-s3cret@127.0.0.1:${authed.port}`;
    const r = await run({ HTTPS_PROXY: url }, { facts: facts({ local: local({ proxies: { https: authed.url } }) }) });
    expect(r.codes).toEqual(["PROXY_IN_USE", "PROXY_DAEMON_MISMATCH", "PROXY_AUTH_REQUIRED"]);
    expect(r.findings[1]!.detail).toContain("different credentials");
    expect(r.findings[1]!.fixes[0]).toContain(`Environment="HTTPS_PROXY=http://alice:PASSWORD@127.0.0.1:${authed.port}"`);
    expect(r.json).not.toContain("tp-s3cret");
    expect(r.trace[0]).toMatchObject({
      kind: "http",
      method: "CONNECT",
      status: 200,
      requestHeaders: { "Proxy-Authorization": "<redacted>" },
    });
  });

  test("PROXY_AUTH_REQUIRED: 407 with a Basic challenge; wrong credentials are named, never shown", async () => {
    const none = await run({ HTTPS_PROXY: authed.url }, { facts: facts({ local: local({ proxies: { https: authed.url } }) }) });
    expect(none.codes).toEqual(["PROXY_AUTH_REQUIRED"]);
    expect(none.findings[0]!.detail).toContain("with 407");
    expect(none.findings[0]!.detail).toContain("no credentials are in the proxy URL");
    expect(none.findings[0]!.fixes[0]).toContain(`HTTPS_PROXY=http://USER:PASSWORD@127.0.0.1:${authed.port}`);
    // One example URL per line: the generic "http://USER:PASSWORD@proxy:port" is not repeated next to the concrete one.
    expect(none.findings[0]!.fixes[0]).not.toContain("USER:PASSWORD@proxy:port");
    const url = `http://alice:wrong-pass-77@127.0.0.1:${authed.port}`;
    const wrong = await run({ HTTPS_PROXY: url }, { facts: facts({ local: local({ proxies: { https: url } }) }) });
    expect(wrong.codes).toEqual(["PROXY_AUTH_REQUIRED"]);
    expect(wrong.findings[0]!.detail).toContain("user alice from the proxy URL were rejected");
    expect(wrong.json).not.toContain("wrong-pass-77");
  });

  test("PROXY_CONNECT_REFUSED: tinyproxy allows CONNECT to 443 only ⇒ 403 for the registry port", async () => {
    const r = await run({ https_proxy: restricted.url }, { facts: facts({ local: local({ proxies: { https: restricted.url } }) }) });
    expect(r.codes).toEqual(["PROXY_CONNECT_REFUSED"]);
    expect(r.findings[0]!.detail).toMatch(new RegExp(`answered CONNECT LOCALHOST:${registryPort} with "HTTP/1\\.[01] 403`));
    expect(r.findings[0]!.fixes[0]).toContain("a non-443 port");
  });

  test("PROXY_UNREACHABLE: https:// written for tinyproxy's plain port; the fix says http://", async () => {
    const url = `https://127.0.0.1:${open.port}`;
    const t0 = Date.now();
    const r = await run({ HTTPS_PROXY: url }, { timeoutMs: 1500 });
    expect(Date.now() - t0).toBeLessThan(4000);
    expect(r.codes[0]).toBe("PROXY_UNREACHABLE");
    expect(r.findings[0]!.detail).toContain("the proxy URL says https:// but the port does not speak TLS");
    expect(r.findings[0]!.fixes[0]).toBe(
      `Set HTTPS_PROXY=http://127.0.0.1:${open.port} (the proxy port speaks plain HTTP; the tunnel to the registry is still TLS).`,
    );
  });
});

describe("proxy stage: failures without a proxy server", () => {
  test("PROXY_UNREACHABLE: nothing listens on the proxy port (Docker's proxyconnect text)", async () => {
    const port = await freePort();
    const r = await run({ HTTPS_PROXY: `127.0.0.1:${port}` });
    expect(r.codes[0]).toBe("PROXY_UNREACHABLE");
    expect(r.findings[0]!.detail).toContain(`proxyconnect tcp: dial tcp 127.0.0.1:${port}: connect: connection refused`);
    expect(r.provides?.route?.url).toBe(`http://127.0.0.1:${port}`);
  });

  test("a proxy that accepts and stays silent ends in PROXY_UNREACHABLE within the timeout", async () => {
    const port = await listen(net.createServer(() => {}));
    const t0 = Date.now();
    const r = await run({ HTTPS_PROXY: `http://127.0.0.1:${port}` }, { timeoutMs: 1500 });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.codes[0]).toBe("PROXY_UNREACHABLE");
    expect(r.findings[0]!.detail).toContain("never answered CONNECT within 1500 ms");
  });

  test("a proxy that answers CONNECT 200 and then goes silent: the TLS check ends within the timeout", async () => {
    const port = await listen(net.createServer((s) => s.once("data", () => s.write("HTTP/1.1 200 Connection established\r\n\r\n"))));
    const t0 = Date.now();
    const r = await run({ HTTPS_PROXY: `http://127.0.0.1:${port}` }, { timeoutMs: 800 });
    expect(Date.now() - t0).toBeLessThan(2500);
    expect(r.codes[0]).toBe("PROXY_IN_USE");
    expect(r.json).toContain("TLS handshake did not complete within 800 ms");
  });

  test("PROXY_AUTH_REQUIRED with NTLM/Negotiate only: the fix is a local relay", async () => {
    const port = await listen(
      net.createServer((s) =>
        s.once("data", () =>
          s.end(
            "HTTP/1.1 407 Proxy Authentication Required\r\nProxy-Authenticate: NTLM\r\nProxy-Authenticate: Negotiate\r\nContent-Length: 0\r\n\r\n",
          ),
        ),
      ),
    );
    const r = await run({ HTTPS_PROXY: `http://127.0.0.1:${port}` });
    expect(r.codes[0]).toBe("PROXY_AUTH_REQUIRED");
    expect(r.findings[0]!.detail).toContain("Proxy-Authenticate: NTLM, Negotiate");
    expect(r.findings[0]!.fixes[0]).toContain("offers NTLM / Negotiate only");
    expect(r.findings[0]!.fixes[0]).toContain("cntlm");
  });

  test("PROXY_BYPASSED: the NO_PROXY entry that matched is named; nothing is dialled", async () => {
    const ep = endpoint("registry.pd.test", 5000);
    const r = await run(
      { HTTPS_PROXY: "http://127.0.0.1:9", no_proxy: "example.com, .pd.test" },
      { endpoint: ep, facts: facts({}, "registry.pd.test") },
    );
    expect(r.codes).toEqual(["PROXY_BYPASSED"]);
    expect(r.findings[0]!.detail).toBe(
      "registry.pd.test:5000 bypasses http://127.0.0.1:9: no_proxy entry .pd.test matches registry.pd.test:5000 (direct).",
    );
    expect(r.provides?.route).toEqual({ url: null, auth: null, reason: "no_proxy entry .pd.test matches registry.pd.test:5000 (direct)" });
  });

  test("PROXY_BYPASSED: NO_PROXY=localhost covers LOCALHOST (entries are lower-cased), the proxy is never dialled", async () => {
    const r = await run({ HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "localhost" });
    expect(r.codes).toEqual(["PROXY_BYPASSED"]);
    expect(r.findings[0]!.fixes[0]).toBe(
      `If LOCALHOST:${registryPort} is not reachable directly, remove "localhost" from NO_PROXY (in the shell and in the daemon's environment).`,
    );
  });

  test("http:// registry with HTTP_PROXY, or a SOCKS5 proxy: in use, not tunnelled (Go forwards / speaks SOCKS itself)", async () => {
    const plain = await run({ HTTP_PROXY: "http://127.0.0.1:9" }, { endpoint: { ...endpoint(), url: `http://LOCALHOST:${registryPort}` } });
    expect(plain.codes).toEqual(["PROXY_IN_USE", "PROXY_DAEMON_MISMATCH"]);
    expect(plain.summary).toContain("forwarded, not tunnelled");
    const socks = await run({ HTTPS_PROXY: "socks5://127.0.0.1:9" });
    expect(socks.codes).toEqual(["PROXY_IN_USE", "PROXY_DAEMON_MISMATCH"]);
    expect(socks.summary).toContain("SOCKS proxy, not probed here");
  });

  test("Docker Hub: the auth and CDN hosts' routes are in the evidence (a split NO_PROXY shows)", async () => {
    const ep: Endpoint = {
      url: "https://registry-1.docker.io",
      host: "registry-1.docker.io",
      hostname: "registry-1.docker.io",
      port: 443,
      role: "upstream",
      insecure: false,
      pathPrefix: "",
    };
    const r = await run(
      { HTTPS_PROXY: "http://127.0.0.1:9", NO_PROXY: "docker.io" },
      { endpoint: ep, facts: facts({}, "registry-1.docker.io") },
    );
    expect(r.codes).toEqual(["PROXY_BYPASSED"]);
    expect(r.evidence.relatedHosts).toEqual({
      "auth.docker.io": "NO_PROXY entry docker.io matches auth.docker.io:443 (direct)",
      "production.cloudflare.docker.com": "HTTPS_PROXY=http://127.0.0.1:9 applies to production.cloudflare.docker.com:443",
    });
    expect(r.findings[0]!.detail).toContain(
      "The same pull also reaches production.cloudflare.docker.com via http://127.0.0.1:9: both routes must work.",
    );
  });

  test("no proxy anywhere: direct, no finding", async () => {
    const r = await run({});
    expect(r.codes).toEqual([]);
    expect(r.summary).toEndWith(": direct: no proxy variable set for https:// requests");
  });
});

describe("proxy stage: TLS interception", () => {
  test("PROXY_TLS_INTERCEPTION (error): the MITM's leaf differs from the direct one and its CA is not trusted", async () => {
    const url = `http://127.0.0.1:${mitmPort}`;
    const r = await run({ HTTPS_PROXY: url }, { facts: facts({ local: local({ proxies: { https: url } }) }) });
    expect(r.codes).toEqual(["PROXY_IN_USE", "PROXY_TLS_INTERCEPTION"]);
    const f = r.findings[1]!;
    expect(f.severity).toBe("error");
    expect(f.detail).toContain('issued by "CN=Corp Inspection Root, O=pulldoctor tests"');
    expect(f.detail).toContain('directly it presents a certificate issued by "CN=Registry Test Root, O=pulldoctor tests"');
    expect(f.detail).toContain("Docker will fail with x509: certificate signed by unknown authority");
    expect(f.fixes[1]).toContain(path.join(certsDir, `LOCALHOST:${registryPort}`));
  });

  test("no direct path: a chain no system root signs is still reported; with the corp CA in certs.d it is a warning", async () => {
    const url = `http://127.0.0.1:${mitmPort}`;
    const noDns = facts({ local: local({ proxies: { https: url } }) });
    delete noDns.resolution;
    const r = await run({ HTTPS_PROXY: url }, { facts: noDns });
    expect(r.codes).toEqual(["PROXY_IN_USE", "PROXY_TLS_INTERCEPTION"]);
    expect(r.findings[1]!.detail).toContain("a direct connection was not possible to compare");
    const dir = path.join(certsDir, `LOCALHOST:${registryPort}`);
    mkdirSync(dir, { recursive: true });
    writeFileSync(path.join(dir, "corp.crt"), corpCa.cert);
    try {
      const trusted = await run({ HTTPS_PROXY: url }, { facts: facts({ local: local({ proxies: { https: url } }) }) });
      expect(trusted.codes).toEqual(["PROXY_IN_USE", "PROXY_TLS_INTERCEPTION"]);
      expect(trusted.findings[1]!.severity).toBe("warning");
      expect(trusted.findings[1]!.detail).toContain("trusted for this host only");
    } finally {
      writeFileSync(path.join(dir, "corp.crt"), "");
    }
  });
});
