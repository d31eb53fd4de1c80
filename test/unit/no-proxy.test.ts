import { describe, expect, test } from "bun:test";
import { goUrlString } from "../../src/net/go-url";
import { parseNoProxy, useProxy } from "../../src/net/no-proxy";
import { decideProxy, type ProxyConfig, proxyConfigFromEnv, proxyForUrl } from "../../src/net/proxy-env";
import { readVectors } from "../helpers/vectors";

/** Every case recorded from golang.org/x/net/http/httpproxy (the current behaviour, not other_versions). */
interface Vector {
  id: string;
  op: "use_proxy" | "proxy_for_url" | "from_environment";
  no_proxy?: string;
  addr?: string;
  config?: { HTTP_PROXY?: string; HTTPS_PROXY?: string; NO_PROXY?: string; CGI?: boolean };
  url?: string;
  env?: Record<string, string>;
  expect: Record<string, unknown>;
}
const vectors = readVectors<{ cases: Vector[] }>("noproxy.json") as { cases: Vector[] };

function config(c: NonNullable<Vector["config"]>): ProxyConfig {
  return {
    httpProxy: c.HTTP_PROXY ?? "",
    httpsProxy: c.HTTPS_PROXY ?? "",
    noProxy: c.NO_PROXY ?? "",
    cgi: c.CGI === true,
    from: { http: c.HTTP_PROXY ? "HTTP_PROXY" : null, https: c.HTTPS_PROXY ? "HTTPS_PROXY" : null, no: c.NO_PROXY ? "NO_PROXY" : null },
  };
}

describe("noproxy.json vectors (Go httpproxy)", () => {
  test("all 202 cases are present", () => {
    expect(vectors.cases.length).toBe(202);
  });

  for (const c of vectors.cases.filter((v) => v.op === "use_proxy")) {
    test(`${c.id}: NO_PROXY=${JSON.stringify(c.no_proxy)} addr=${c.addr}`, () => {
      expect(useProxy(c.addr!, parseNoProxy(c.no_proxy!)).useProxy).toBe(c.expect.use_proxy as boolean);
    });
  }

  for (const c of vectors.cases.filter((v) => v.op === "proxy_for_url")) {
    test(`${c.id}: ${c.url} with ${JSON.stringify(c.config)}`, () => {
      const d = decideProxy(c.url!, config(c.config!));
      expect(d.proxy ? goUrlString(d.proxy) : null).toBe(c.expect.proxy as string | null);
      expect(d.canonicalAddr).toBe(c.expect.canonical_addr as string);
      expect(d.error).toBe((c.expect.error as string | undefined) ?? null);
    });
  }

  for (const c of vectors.cases.filter((v) => v.op === "from_environment")) {
    test(`${c.id}: ${JSON.stringify(c.env)}`, () => {
      const cfg = proxyConfigFromEnv(c.env!);
      expect({ HTTP_PROXY: cfg.httpProxy, HTTPS_PROXY: cfg.httpsProxy, NO_PROXY: cfg.noProxy, CGI: cfg.cgi }).toEqual(c.expect as never);
    });
  }
});

describe("proxyForUrl: reason and variable", () => {
  test("NO_PROXY leading-dot entry names itself and the host", () => {
    const r = proxyForUrl("https://registry.corp.example.com/v2/", { HTTPS_PROXY: "http://proxy:3128", no_proxy: ".corp.example.com" });
    expect(r.url).toBeNull();
    expect(r.variable).toBe("no_proxy");
    expect(r.reason).toBe("no_proxy entry .corp.example.com matches registry.corp.example.com:443 (direct)");
    expect(r.configured).toBe("http://proxy:3128");
  });

  test("upper-case wins and the variable is named; credentials leave the URL for auth", () => {
    const r = proxyForUrl("https://registry-1.docker.io/v2/", {
      HTTPS_PROXY: "http://user:p%40ss@proxy.corp:3128",
      https_proxy: "http://other:1",
    });
    expect(r.url).toBe("http://proxy.corp:3128");
    expect(r.variable).toBe("HTTPS_PROXY");
    expect(r.auth?.username).toBe("user");
    expect(r.auth?.password.reveal()).toBe("p@ss");
    expect(JSON.stringify(r)).not.toContain("p@ss");
    expect(JSON.stringify(r)).not.toContain("p%40ss");
    expect(r.reason).toBe("HTTPS_PROXY=http://proxy.corp:3128 applies to registry-1.docker.io:443");
  });

  test("loopback and localhost are never proxied", () => {
    expect(proxyForUrl("https://127.0.0.1:5000/v2/", { HTTPS_PROXY: "http://p:1" }).reason).toBe(
      "loopback address 127.0.0.1:5000 is never proxied (direct)",
    );
    expect(proxyForUrl("http://localhost:5000/v2/", { HTTP_PROXY: "http://p:1" }).reason).toBe("localhost is never proxied (direct)");
  });

  test("an unparseable value is ignored and said so; no variable for the scheme means direct", () => {
    const bad = proxyForUrl("https://r.example/v2/", { HTTPS_PROXY: "%zz" });
    expect(bad.url).toBeNull();
    expect(bad.bypass?.kind).toBe("unparseable");
    expect(bad.variable).toBe("HTTPS_PROXY");
    const none = proxyForUrl("https://r.example/v2/", { HTTP_PROXY: "http://p:1" });
    expect(none.url).toBeNull();
    expect(none.variable).toBeNull();
    expect(none.reason).toBe("no proxy variable set for https:// requests (direct)");
  });
});
