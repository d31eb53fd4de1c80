import { expect, test } from "bun:test";
import type { Endpoint } from "../../src/model/stage";
import type { TlsProbe } from "../../src/net/tls";
import { insecurity } from "../../src/stages/connect";
import { describeOthers, type HopResult, judgeHop } from "../../src/stages/connect-judge";

const okTls: TlsProbe = {
  ok: true,
  durationMs: 3,
  protocol: "TLSv1.3",
  cipher: "TLS_AES_128_GCM_SHA256",
  alpn: "http/1.1",
  chain: [],
  chainPem: [],
  verified: true,
  verifyError: null,
  hostnameOk: true,
  error: null,
  trust: { trusted: true, anchor: "CN=Root", anchorFromExtra: true, missingIssuer: null, untrustedRoot: null, top: "CN=leaf" },
  validity: { state: "valid", subject: null, notBefore: null, notAfter: null, now: "2026-01-01T00:00:00.000Z" },
  hostnameError: null,
};
const tcpOk = { ok: true, durationMs: 1 };
const failTls = (kind: NonNullable<TlsProbe["error"]>["kind"], extra: Partial<TlsProbe> = {}): TlsProbe => ({
  ...okTls,
  ok: false,
  error: { kind, code: "X", message: `${kind} happened` },
  ...extra,
});
const hop = (tls: TlsProbe | null, tcp: HopResult["tcp"] = tcpOk): HopResult => ({ target: "10.0.0.5:443", tcp, tls });

test.each([
  // [case, hop, insecure, usable, scheme, codes]
  [
    "refused",
    hop(null, { ok: false, durationMs: 1, error: { kind: "refused", code: "ECONNREFUSED", message: "m" } }),
    false,
    false,
    null,
    ["CONNECT_REFUSED"],
  ],
  [
    "no route counts as refused",
    hop(null, { ok: false, durationMs: 1, error: { kind: "unreachable", code: "EHOSTUNREACH", message: "m" } }),
    false,
    false,
    null,
    ["CONNECT_REFUSED"],
  ],
  [
    "timeout",
    hop(null, { ok: false, durationMs: 1, error: { kind: "timeout", code: "ETIMEDOUT", message: "m" } }),
    false,
    false,
    null,
    ["CONNECT_TIMEOUT"],
  ],
  [
    "reset while connecting",
    hop(null, { ok: false, durationMs: 1, error: { kind: "reset", code: "ECONNRESET", message: "m" } }),
    false,
    false,
    null,
    ["CONNECT_RESET"],
  ],
  ["good TLS", hop(okTls), false, true, "https", []],
  ["good TLS, insecure", hop(okTls), true, true, "https", []],
  [
    "HTTP answer, secure",
    hop(failTls("http-response", { firstBytes: "HTTP/1.1 400 Bad Request\r\n" })),
    false,
    false,
    null,
    ["TLS_HTTP_ONLY"],
  ],
  [
    "HTTP answer, insecure ⇒ http fallback",
    hop(failTls("http-response", { firstBytes: "HTTP/1.1 400 Bad Request\r\n" })),
    true,
    true,
    "http",
    ["TLS_HTTP_ONLY"],
  ],
  ["reset during the handshake", hop(failTls("reset")), false, false, null, ["CONNECT_RESET"]],
  ["handshake timeout, even insecure", hop(failTls("timeout")), true, false, null, ["TLS_HANDSHAKE_FAILED"]],
  ["alert", hop(failTls("handshake", { alert: "certificate required" })), false, false, null, ["TLS_HANDSHAKE_FAILED"]],
  [
    "expired + wrong name + unknown CA, all reported in Go's order",
    hop({
      ...okTls,
      verified: false,
      hostnameOk: false,
      validity: { ...okTls.validity!, state: "expired" },
      trust: { ...okTls.trust!, trusted: false },
    }),
    false,
    false,
    "https",
    ["TLS_EXPIRED", "TLS_HOSTNAME_MISMATCH", "TLS_UNKNOWN_CA"],
  ],
  [
    "unknown CA on an insecure registry stays usable",
    hop({ ...okTls, verified: false, trust: { ...okTls.trust!, trusted: false } }),
    true,
    true,
    "https",
    ["TLS_UNKNOWN_CA"],
  ],
] as const)("judgeHop: %s", (_name, h, insecure, usable, scheme, codes) => {
  const v = judgeHop(h as HopResult, { insecure, plainHttp: false });
  expect(v.usable).toBe(usable);
  expect(v.scheme).toBe(scheme);
  expect(v.problems.map((p) => p.code)).toEqual([...codes]);
});

test("judgeHop: an http:// endpoint is TCP only", () => {
  expect(judgeHop(hop(null), { insecure: false, plainHttp: true })).toEqual({ usable: true, scheme: "http", problems: [] });
});

test("describeOthers names the other hops and whether one worked", () => {
  const hops: HopResult[] = [
    { target: "[::1]:5000", tcp: { ok: false, durationMs: 1, error: { kind: "refused", code: "ECONNREFUSED", message: "m" } }, tls: null },
    { target: "127.0.0.1:5000", tcp: tcpOk, tls: okTls },
  ];
  const verdicts = hops.map((h) => judgeHop(h, { insecure: true, plainHttp: false }));
  expect(describeOthers(hops, verdicts, "[::1]:5000")).toEqual({ text: "127.0.0.1:5000 connected", ok: true });
  expect(describeOthers(hops, verdicts, "127.0.0.1:5000")).toEqual({ text: "[::1]:5000 refused", ok: false });
  expect(describeOthers([hops[0]!], [verdicts[0]!], "[::1]:5000").text).toBe("no other address to try");
});

const ep = (host: string, insecure = false): Endpoint => {
  const u = new URL(`https://${host}`);
  return {
    url: `https://${host}`,
    host,
    hostname: u.hostname.replace(/^\[|\]$/g, ""),
    port: Number(u.port || 443),
    role: "upstream",
    insecure,
    pathPrefix: "",
  };
};

test.each([
  // [host, addresses, insecure-registries, insecure, loopbackOnly, why contains]
  ["registry.test:5000", ["10.0.0.5"], [], false, false, null],
  ["registry.test:5000", ["10.0.0.5"], ["registry.test:5000"], true, false, "is in insecure-registries"],
  ["registry.test:5000", ["10.0.0.5"], ["http://registry.test:5000/"], true, false, "is in insecure-registries"],
  ["registry.test:5000", ["10.0.0.5"], ["registry.test"], false, false, null],
  ["registry.test:5000", ["10.0.0.5"], ["10.0.0.0/8"], true, false, "CIDR (10.0.0.0/8)"],
  ["registry.test:5000", ["127.0.0.1"], [], true, true, "loopback"],
  ["localhost:5000", ["::1", "127.0.0.1"], [], true, true, "loopback"],
  ["[::1]:5000", ["::1"], [], true, true, "::1 is a loopback address"],
  ["0.0.0.0:5000", ["0.0.0.0"], [], false, false, null],
] as const)("insecurity(%p, %p, %p)", (host, addrs, list, insecure, loopbackOnly, why) => {
  const r = insecurity(ep(host), [...addrs], [...list]);
  expect(r.insecure).toBe(insecure);
  expect(r.loopbackOnly).toBe(loopbackOnly);
  if (why) expect(r.why).toContain(why);
  else expect(r.why).toBeNull();
});

test("insecurity: configured on the endpoint itself", () => {
  expect(insecurity(ep("mirror.test", true), [], []).why).toBe("mirror.test is configured as insecure");
});

test("insecurity: a loopback endpoint the plan already marked insecure keeps the loopback reason", () => {
  const r = insecurity(ep("127.0.0.1:5000", true), ["127.0.0.1"], []);
  expect(r).toMatchObject({ insecure: true, loopbackOnly: true });
  expect(r.why).toContain("127.0.0.1 is a loopback address");
});
