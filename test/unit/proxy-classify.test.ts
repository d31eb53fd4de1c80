import { describe, expect, test } from "bun:test";
import { X509Certificate } from "node:crypto";
import type { LocalConfig } from "../../src/model/facts";
import { maskProxyValue } from "../../src/model/redact";
import { daemonProxyConfig } from "../../src/net/proxy-env";
import { TunnelError, type TunnelErrorKind } from "../../src/net/tunnel";
import { judgeInterception } from "../../src/stages/proxy-interception";
import { classifyTunnelError } from "../../src/stages/proxy-tunnel";
import { issueServerCert, makeCA } from "../helpers/pki";

const P = {
  proxy: "http://proxy.corp:3128",
  variable: "HTTPS_PROXY",
  host: "registry.example.com:443",
  credentialsSent: false,
  username: null,
  timeoutMs: 1500,
};

function err(
  kind: TunnelErrorKind,
  phase: TunnelError["phase"],
  extra: Partial<ConstructorParameters<typeof TunnelError>[0]> = {},
): TunnelError {
  return new TunnelError({ kind, phase, proxy: P.proxy, durationMs: 3, message: extra.message ?? "m", ...extra });
}

describe("classifyTunnelError (pure)", () => {
  // [name, error, expected code, expected failure kind or scheme]
  const table: [string, TunnelError, string, string | null][] = [
    ["refused dial", err("unreachable", "dial", { code: "ECONNREFUSED" }), "PROXY_UNREACHABLE", "refused"],
    ["dial timeout", err("unreachable", "dial", { code: "ETIMEDOUT" }), "PROXY_UNREACHABLE", "timeout"],
    ["proxy name unknown", err("unreachable", "dial", { code: "ENOTFOUND" }), "PROXY_UNREACHABLE", "dns"],
    ["silent after accept", err("timeout", "connect", { code: "ETIMEDOUT" }), "PROXY_UNREACHABLE", "silent"],
    [
      "https URL, plain port answering HTTP",
      err("protocol", "proxy-tls", { message: "proxyconnect tcp: tls: first record does not look like a TLS handshake" }),
      "PROXY_UNREACHABLE",
      "not-tls",
    ],
    [
      "https URL, plain port silent",
      err("protocol", "proxy-tls", { message: "proxyconnect tcp: net/http: TLS handshake timeout (…)" }),
      "PROXY_UNREACHABLE",
      "not-tls",
    ],
    ["closed without answer", err("protocol", "connect", { code: "EOF" }), "PROXY_UNREACHABLE", "closed"],
    [
      "not an HTTP server",
      err("protocol", "connect", { message: "proxy x does not speak HTTP: it answered …" }),
      "PROXY_UNREACHABLE",
      "not-http",
    ],
    ["socks scheme", err("protocol", "dial", {}), "PROXY_UNREACHABLE", "unsupported"],
    [
      "407 Basic",
      err("auth-required", "connect", { status: 407, proxyAuthenticate: 'Basic realm="corp"' }),
      "PROXY_AUTH_REQUIRED",
      "Basic",
    ],
    [
      "407 NTLM + Negotiate",
      err("auth-required", "connect", { status: 407, proxyAuthenticate: "NTLM, Negotiate" }),
      "PROXY_AUTH_REQUIRED",
      "NTLM / Negotiate",
    ],
    [
      "407 Negotiate with token + Basic",
      err("auth-required", "connect", { status: 407, proxyAuthenticate: 'Negotiate, Basic realm="x", charset="UTF-8"' }),
      "PROXY_AUTH_REQUIRED",
      "Negotiate / Basic",
    ],
    [
      "403",
      err("refused", "connect", { status: 403, statusLine: "HTTP/1.1 403 Forbidden", headers: { server: "squid/5.7" } }),
      "PROXY_CONNECT_REFUSED",
      null,
    ],
    ["502", err("refused", "connect", { status: 502, statusLine: "HTTP/1.1 502 Bad Gateway" }), "PROXY_CONNECT_REFUSED", null],
    [
      "500 from tinyproxy (it could not resolve or reach the registry)",
      err("refused", "connect", { status: 500, statusLine: "HTTP/1.1 500 Unable to connect", headers: { server: "tinyproxy/1.11.1" } }),
      "PROXY_CONNECT_REFUSED",
      null,
    ],
  ];
  for (const [name, e, code, sub] of table) {
    test(name, () => {
      const f = classifyTunnelError(e, P);
      expect(f.code).toBe(code as never);
      expect(f.stage).toBe("proxy");
      if (code === "PROXY_UNREACHABLE") expect(f.detail).toContain(P.proxy);
      if (code === "PROXY_AUTH_REQUIRED") expect(f.detail).toContain(`Proxy-Authenticate: ${e.proxyAuthenticate}`);
      if (code === "PROXY_AUTH_REQUIRED" && sub) {
        const basic = sub.includes("Basic");
        expect(f.fixes[0]).toContain(basic ? "USER:PASSWORD@proxy.corp:3128" : `offers ${sub} only`);
      }
      if (code === "PROXY_UNREACHABLE" && sub) expect((f.evidence as { kind: string }).kind).toBe(e.kind);
      if (code === "PROXY_CONNECT_REFUSED") expect(f.detail).toContain(e.statusLine!);
      // 403 is the proxy's policy; a 5xx is the proxy failing to reach the registry (its DNS/route).
      if (code === "PROXY_CONNECT_REFUSED")
        expect(f.fixes[0]).toStartWith(
          e.status! >= 500 ? "The proxy tried and could not reach" : "Ask the proxy administrators to allow CONNECT",
        );
      expect(JSON.stringify(f)).not.toMatch(/password=|Proxy-Authorization: Basic [A-Za-z0-9]/);
    });
  }
  test("the failure kinds are distinct in the detail", () => {
    const details = table.filter(([, , c]) => c === "PROXY_UNREACHABLE").map(([, e]) => classifyTunnelError(e, P).detail.split(" — ")[0]);
    expect(new Set(details).size).toBe(details.length - 1); // the two not-tls rows share a reason
  });
});

describe("judgeInterception (pure)", () => {
  const a = makeCA("Public-ish Root");
  const b = makeCA("Inspection Root");
  const real = new X509Certificate(issueServerCert(a, { cn: "r.test", sans: ["DNS:r.test"] }).cert);
  const rotated = new X509Certificate(issueServerCert(a, { cn: "r.test", sans: ["DNS:r.test"] }).cert);
  const forged = new X509Certificate(issueServerCert(b, { cn: "r.test", sans: ["DNS:r.test"] }).cert);
  // A forger whose CA copies the real CA's name exactly (different key).
  const lookalike = makeCA("Public-ish Root");
  const mimic = new X509Certificate(issueServerCert(lookalike, { cn: "r.test", sans: ["DNS:r.test"] }).cert);
  const caA = new X509Certificate(a.cert);
  const none = { system: false, certsD: false };
  test.each([
    ["same leaf both ways", [real], [real], none, false],
    ["new leaf, same issuer (rotation / another LB)", [real], [rotated], none, false],
    ["different issuer through the proxy", [forged], [real], none, true],
    ["different issuer, even if trusted (severity is decided later)", [forged], [real], { system: true, certsD: false }, true],
    ["no direct path, untrusted chain", [forged], null, none, true],
    ["no direct path, chain trusted by the system", [forged], null, { system: true, certsD: false }, false],
    ["no direct path, chain trusted via certs.d", [forged], null, { system: false, certsD: true }, false],
    ["nothing presented", [], null, none, false],
    ["direct chain carries the CA: a rotated leaf verifies against it", [rotated], [real, caA], none, false],
    ["direct chain carries the CA: a same-named forger fails its signature", [mimic], [real, caA], none, true],
  ] as [string, X509Certificate[], X509Certificate[] | null, { system: boolean; certsD: boolean }, boolean][])(
    "%s",
    (_n, proxied, direct, trust, want) => {
      expect(judgeInterception(proxied, direct, trust)).toBe(want);
    },
  );
  test("cleanup", () => {
    a.cleanup();
    b.cleanup();
    lookalike.cleanup();
  });
});

describe("daemonProxyConfig: what the daemon (which pulls) uses", () => {
  const base = (d: Partial<LocalConfig["daemon"]>): LocalConfig => ({
    dockerConfig: { path: "", found: false, kind: "none" },
    daemon: {
      path: "/etc/docker/daemon.json",
      found: true,
      mirrors: [],
      insecureRegistries: [],
      proxies: null,
      liveProxies: null,
      liveSource: null,
      ...d,
    },
    certsDir: "/etc/docker/certs.d",
  });
  test("nothing configured: unknown, no proxy", () => {
    const d = daemonProxyConfig(base({}));
    expect(d.known).toBe(false);
    expect(d.config.httpsProxy).toBe("");
  });
  test("daemon.json proxies override the drop-in field by field", () => {
    const d = daemonProxyConfig(
      base({
        proxies: { https: "http://json:1" },
        liveProxies: { https: "http://dropin:2", no: "corp.example" },
        liveSource: "/etc/systemd/system/docker.service.d/http-proxy.conf",
      }),
    );
    expect(d.config.httpsProxy).toBe("http://json:1");
    expect(d.config.noProxy).toBe("corp.example");
    expect(d.config.from.https).toBe("/etc/docker/daemon.json proxies https-proxy");
    expect(d.config.from.no).toBe("/etc/systemd/system/docker.service.d/http-proxy.conf NO_PROXY");
    expect(d.source).toContain("over /etc/systemd/system/docker.service.d/http-proxy.conf");
  });
  test("the live Engine's /info is the truth", () => {
    const d = daemonProxyConfig(
      base({
        proxies: { https: "http://json:1" },
        liveProxies: { https: "http://live:3" },
        liveSource: "Engine /info (unix:///var/run/docker.sock)",
      }),
    );
    expect(d.config.httpsProxy).toBe("http://live:3");
  });
  test("a drop-in alone", () => {
    const d = daemonProxyConfig(
      base({ liveProxies: { http: "http://dropin:2" }, liveSource: "/etc/systemd/system/docker.service.d/http-proxy.conf" }),
    );
    expect(d.config.httpProxy).toBe("http://dropin:2");
    expect(d.config.httpsProxy).toBe("");
    expect(d.known).toBe(true);
  });
});

test.each([
  ["http://alice:s3cret@proxy:3128", "http://alice:REDACTED@proxy:3128"],
  ["alice:s3cret@proxy:3128", "alice:REDACTED@proxy:3128"],
  ["https://proxy:3128", "https://proxy:3128"],
  ["proxy.corp:3128", "proxy.corp:3128"],
  ["http://a:p%40ss@p:1/x", "http://a:REDACTED@p:1/x"],
])("maskProxyValue(%p)", (input, want) => {
  expect(maskProxyValue(input)).toBe(want);
});
