import { describe, expect, test } from "bun:test";
import { formatDiagnostic, parseRegistryErrors } from "../../src/registry/errors";
import { type ErrorContext, NetError, toNetError } from "../../src/registry/http-errors";

const b = (s: string) => new TextEncoder().encode(s);

describe("parseRegistryErrors", () => {
  const cases: [string, string, string | undefined, unknown][] = [
    [
      "distribution errors[]",
      '{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}',
      "application/json",
      [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown", detail: { Tag: "nope" } }],
    ],
    [
      "several errors",
      '{"errors":[{"code":"DENIED","message":"requested access to the resource is denied"},{"code":"UNAUTHORIZED","message":"authentication required"}]}',
      undefined,
      [
        { code: "DENIED", message: "requested access to the resource is denied" },
        { code: "UNAUTHORIZED", message: "authentication required" },
      ],
    ],
    [
      "Docker Hub token server details",
      '{"details":"incorrect username or password"}',
      "application/json",
      [{ code: "UNKNOWN", message: "incorrect username or password" }],
    ],
    ["missing code", '{"errors":[{"message":"x"}]}', undefined, [{ code: "UNKNOWN", message: "x" }]],
    ["HTML is never an errors document", '{"errors":[{"code":"X"}]}', "text/html", []],
    ["not JSON", "<html>nope</html>", undefined, []],
    ["JSON without errors", '{"repositories":[]}', undefined, []],
    ["empty", "", undefined, []],
  ];
  for (const [name, body, ct, want] of cases) test(name, () => expect(parseRegistryErrors(b(body), ct)).toEqual(want as never));
  test("formatDiagnostic", () => {
    expect(formatDiagnostic({ code: "DENIED", message: "requested access to the resource is denied" })).toBe(
      "DENIED: requested access to the resource is denied",
    );
    expect(formatDiagnostic({ code: "UNKNOWN", message: "" })).toBe("UNKNOWN");
  });
});

describe("toNetError (pure mapping of transport errors)", () => {
  const ctx = (over: Partial<ErrorContext> = {}): ErrorContext => ({
    host: "reg:5000",
    address: "10.0.0.5",
    phase: "connect",
    viaProxy: null,
    aborted: false,
    deadline: false,
    timeoutMs: 1000,
    ...over,
  });
  const err = (code: string, message = code, cause?: unknown) => Object.assign(new Error(message), { code, ...(cause ? { cause } : {}) });
  const cases: [string, unknown, Partial<ErrorContext>, Partial<NetError>][] = [
    ["ECONNREFUSED", err("ECONNREFUSED"), {}, { kind: "refused", phase: "connect" }],
    ["EHOSTUNREACH", err("EHOSTUNREACH"), {}, { kind: "other", phase: "connect" }],
    ["undici connect timeout", err("UND_ERR_CONNECT_TIMEOUT"), {}, { kind: "timeout", phase: "connect" }],
    ["undici headers timeout", err("UND_ERR_HEADERS_TIMEOUT"), { phase: "response" }, { kind: "timeout", phase: "response" }],
    ["undici body timeout", err("UND_ERR_BODY_TIMEOUT"), { phase: "response" }, { kind: "timeout", phase: "body" }],
    [
      "socket closed, wrapped in cause",
      err("UND_ERR_SOCKET", "other side closed", err("ECONNRESET")),
      { phase: "response" },
      { kind: "reset", phase: "response", code: "ECONNRESET" },
    ],
    ["certificate unknown", err("UNABLE_TO_VERIFY_LEAF_SIGNATURE"), { phase: "tls" }, { kind: "tls", phase: "tls" }],
    ["self signed", err("DEPTH_ZERO_SELF_SIGNED_CERT"), {}, { kind: "tls", phase: "tls" }],
    ["hostname mismatch", err("ERR_TLS_CERT_ALTNAME_INVALID"), {}, { kind: "tls", phase: "tls" }],
    ["wrong TLS version (http port)", err("ERR_SSL_WRONG_VERSION_NUMBER"), {}, { kind: "tls", phase: "tls" }],
    ["ENOTFOUND", err("ENOTFOUND"), {}, { kind: "dns", phase: "dns" }],
    [
      "CONNECT answered 407",
      err("UND_ERR_ABORTED", "Proxy response (407) !== 200 when HTTP Tunneling"),
      { viaProxy: "proxy:3128" },
      { kind: "proxy", phase: "connect", code: "HTTP_407" },
    ],
    [
      "forwarded request answered 407",
      err("UND_ERR_INVALID_ARG", "Proxy Authentication Required (407)"),
      { viaProxy: "proxy:3128" },
      { kind: "proxy", code: "HTTP_407" },
    ],
    ["reset while connecting through a proxy", err("ECONNRESET"), { viaProxy: "proxy:3128" }, { kind: "proxy", phase: "connect" }],
    [
      "our deadline",
      err("UND_ERR_ABORTED"),
      { deadline: true, phase: "response" },
      { kind: "timeout", phase: "response", code: "ETIMEDOUT" },
    ],
    ["Ctrl-C", err("UND_ERR_ABORTED"), { aborted: true }, { kind: "aborted" }],
  ];
  for (const [name, e, c, want] of cases) {
    test(name, () => {
      const n = toNetError(e, ctx(c));
      expect(n).toBeInstanceOf(NetError);
      expect(n).toMatchObject({ host: "reg:5000", address: "10.0.0.5", ...want });
    });
  }
  test("a NetError passes through unchanged", () => {
    const n = new NetError("x", { kind: "dns", phase: "dns", host: "h" });
    expect(toNetError(n, ctx())).toBe(n);
  });
});
