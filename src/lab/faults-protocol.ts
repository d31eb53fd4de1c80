import { MT, sha256 } from "./image";
import { type Headers, headBytes, type WireRequest, type WireResponse } from "./wire";

/**
 * Registry-protocol faults of the lab (issue 7): misbehaviour above the transfer of blob
 * bytes — a response dripped a byte a second, headers then silence, manifests that are huge,
 * not JSON or nested 10,000 deep, a 64 KiB challenge, header values that are not UTF-8.
 * A repository's faults apply to its manifests (and to the token endpoint when a token is
 * asked for it); a lab started with host-wide faults applies them to every request.
 */
export type ProtocolTarget = "v2" | "manifest" | "token" | "any";

export type ProtocolFault =
  /** The whole response, head included, written at `bytesPerSecond`: defeats inactivity timers. `methods` default GET and HEAD. */
  | { kind: "drip"; on: ProtocolTarget; bytesPerSecond: number; methods?: readonly ("GET" | "HEAD")[] }
  /** A GET is answered with its head only, then silence on an open connection (a HEAD is answered normally). */
  | { kind: "stall-after-head"; on: ProtocolTarget }
  /**
   * The manifest is `bytes` long (a valid JSON manifest padded with an annotation); `framing`: an honest
   * Content-Length, chunked, or delimited by closing the connection. `headLength`: what a HEAD claims instead.
   */
  | { kind: "oversize-manifest"; bytes: number; framing: "length" | "chunked" | "close"; headLength?: number }
  /** The manifest body is an HTML page, random bytes, or `depth` (default 10,000) nested arrays/objects (200, manifest media type, matching digest). */
  | { kind: "bad-manifest"; body: "html" | "random" | "deep-arrays" | "deep-objects"; depth?: number }
  /** 401 with a WWW-Authenticate of about `bytes` bytes. */
  | { kind: "huge-challenge"; on: "v2" | "manifest"; bytes: number }
  /** The token endpoint answers 200 with this JSON body instead of a token it issued (hostile claims, odd shapes). */
  | { kind: "token-answer"; body: string }
  /** The manifest answers 302 to `to` (a captive portal's login page). */
  | { kind: "manifest-redirect"; to: string }
  /** The manifest answers `status` with a distribution error body whose message is `message` (e.g. control characters). */
  | { kind: "error-answer"; status: number; message: string }
  /** Invalid UTF-8 (or, with `control`, an ESC sequence) appended to every header the doctor reads but `spare`, on every response. */
  | { kind: "bad-header-bytes"; control?: boolean; spare?: readonly string[] };

const PROTOCOL_KINDS = new Set<string>([
  "drip",
  "stall-after-head",
  "oversize-manifest",
  "bad-manifest",
  "huge-challenge",
  "manifest-redirect",
  "token-answer",
  "error-answer",
  "bad-header-bytes",
]);

export function isProtocolFault(f: { kind: string }): f is ProtocolFault {
  return PROTOCOL_KINDS.has(f.kind);
}

const enc = new TextEncoder();
/** Not UTF-8: a lone continuation byte, 0xFF/0xFE, a truncated 2-byte sequence, a C1 control (CSI). */
export const INVALID_UTF8 = new Uint8Array([0xff, 0xfe, 0xc3, 0x28, 0x80, 0x9b]);
/** An ANSI "red" sequence: a control character HTTP forbids in a header value. */
const ESCAPE_SEQUENCE = new Uint8Array([0x1b, 0x5b, 0x33, 0x31, 0x6d]);

/** Headers the doctor reads (framing headers excluded: corrupting them is the transfer group's lying-length fault). */
const READ_HEADERS = [
  "content-type",
  "docker-distribution-api-version",
  "www-authenticate",
  "docker-content-digest",
  "etag",
  "location",
  "content-range",
  "server",
  "date",
];
/** Added to every response when absent, so each is met with bad bytes at least once. */
const ADDED_HEADERS: Record<string, string> = {
  server: "lab",
  "ratelimit-limit": "100;w=21600",
  "ratelimit-remaining": "50;w=21600",
  "docker-ratelimit-source": "203.0.113.7",
  "retry-after": "30",
  warning: '299 - "lab notice"',
};

function concat(parts: Uint8Array[]): Uint8Array {
  return Buffer.concat(parts);
}

export function corruptHeaders(headers: Headers, control: boolean, spare: readonly string[] = []): Headers {
  const bad = control ? ESCAPE_SEQUENCE : INVALID_UTF8;
  const out: Headers = {};
  const seen = new Set<string>();
  for (const [k, v] of Object.entries(headers)) {
    const name = k.toLowerCase();
    seen.add(name);
    if ((!READ_HEADERS.includes(name) && !(name in ADDED_HEADERS)) || spare.includes(name)) {
      out[k] = v;
      continue;
    }
    const value = v instanceof Uint8Array ? v : enc.encode(String(v));
    // A challenge keeps its realm usable: the bad bytes go into a parameter of their own.
    out[k] = name === "www-authenticate" ? concat([value, enc.encode(',lab="'), bad, enc.encode('"')]) : concat([value, bad]);
  }
  for (const [k, v] of Object.entries(ADDED_HEADERS)) if (!seen.has(k)) out[k] = concat([enc.encode(v), bad]);
  // The wire writes its own Date last; a lower-case one of ours goes first, so the client reads both lines joined.
  if (!seen.has("date")) out.date = concat([enc.encode(new Date().toUTCString()), bad]);
  return out;
}

/**
 * Wraps a response so that drip, stall and bad-header-bytes faults change how it is written;
 * the handler still decides what is answered.
 */
export function wrapResponse(req: WireRequest, res: WireResponse, faults: readonly ProtocolFault[], target: ProtocolTarget): WireResponse {
  const applies = (on: ProtocolTarget) => on === "any" || on === target;
  const badBytes = faults.find((f) => f.kind === "bad-header-bytes") as Extract<ProtocolFault, { kind: "bad-header-bytes" }> | undefined;
  const drip = faults.find((f) => f.kind === "drip" && applies(f.on) && (f.methods ?? ["GET", "HEAD"]).includes(req.method as "GET")) as
    | Extract<ProtocolFault, { kind: "drip" }>
    | undefined;
  const stall = req.method === "GET" && faults.some((f) => f.kind === "stall-after-head" && applies(f.on));
  if (!badBytes && !drip && !stall) return res;
  const fix = (h: Headers) => (badBytes ? corruptHeaders(h, !!badBytes.control, badBytes.spare) : h);
  const bodyOf = (b: Uint8Array | string | undefined) => (b === undefined ? new Uint8Array(0) : typeof b === "string" ? enc.encode(b) : b);
  const whole = (status: number, headers: Headers, b?: Uint8Array | string): Uint8Array => {
    const body = bodyOf(b);
    return concat([headBytes(status, fix(headers), body.length, false), req.method === "HEAD" ? new Uint8Array(0) : body]);
  };
  return {
    send(status, headers, b) {
      if (stall) return res.sendRaw(headBytes(status, fix(headers), bodyOf(b).length, false), "stall");
      if (drip) return res.sendRaw(whole(status, headers, b), "keep-alive", drip.bytesPerSecond);
      res.send(status, fix(headers), b);
    },
    sendCut: (status, headers, b, after, mode) => res.sendCut(status, fix(headers), b, after, mode),
    sendPaced: (status, headers, b, bps) => res.sendPaced(status, fix(headers), b, bps),
    sendRaw: (bytes, after, bps) => res.sendRaw(bytes, after, bps),
  };
}

/** A manifest body for bad-manifest: the exact bytes served (their digest is what the headers name). */
export function badManifestBytes(body: Extract<ProtocolFault, { kind: "bad-manifest" }>["body"], depth = 10_000): Uint8Array {
  switch (body) {
    case "html":
      return enc.encode("<!doctype html><html><head><title>Access denied</title></head><body><h1>Blocked by policy</h1></body></html>\n");
    case "random": {
      // Deterministic "random" bytes: the same fault gives the same digest on every run.
      const out = new Uint8Array(2048);
      let x = 0x2545f491;
      for (let i = 0; i < out.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        out[i] = x & 0xff;
      }
      out[0] = 0x9b;
      return out;
    }
    case "deep-arrays":
      return enc.encode("[".repeat(depth) + "]".repeat(depth));
    case "deep-objects":
      return enc.encode(`${'{"a":'.repeat(depth)}null${"}".repeat(depth)}`);
  }
}

/** A syntactically valid OCI manifest of exactly `size` bytes (an annotation pads it). */
export function paddedManifest(configDigest: string, size: number): Uint8Array {
  const head = `{"schemaVersion":2,"mediaType":"${MT.ociManifest}","config":{"mediaType":"${MT.ociConfig}","digest":"${configDigest}","size":2},"layers":[],"annotations":{"pad":"`;
  const tail = `"}}`;
  const pad = Math.max(0, size - head.length - tail.length);
  return concat([enc.encode(head), new Uint8Array(pad).fill(0x78), enc.encode(tail)]);
}

/** Answers a manifest request of a repository with an oversize-manifest or bad-manifest fault; false if none applies. */
export function answerManifestFault(
  req: WireRequest,
  res: WireResponse,
  faults: readonly ProtocolFault[],
  api: Headers,
  configDigest: string,
): boolean {
  for (const f of faults) {
    if (f.kind === "bad-manifest") {
      const bytes = badManifestBytes(f.body, f.depth);
      res.send(200, { ...api, "Content-Type": MT.ociManifest, "Docker-Content-Digest": sha256(bytes), Etag: `"${sha256(bytes)}"` }, bytes);
      return true;
    }
    if (f.kind === "huge-challenge" && f.on === "manifest") {
      res.send(
        401,
        { ...api, "Content-Type": "application/json", "WWW-Authenticate": hugeChallenge(f.bytes) },
        '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}',
      );
      return true;
    }
    if (f.kind === "manifest-redirect") {
      res.send(302, { Location: f.to, "Content-Type": "text/html; charset=utf-8" }, `<a href="${f.to}">Found</a>`);
      return true;
    }
    if (f.kind === "error-answer") {
      res.send(
        f.status,
        { ...api, "Content-Type": "application/json; charset=utf-8" },
        JSON.stringify({ errors: [{ code: "UNKNOWN", message: f.message }] }),
      );
      return true;
    }
    if (f.kind !== "oversize-manifest") continue;
    const bytes = paddedManifest(configDigest, f.bytes);
    const headers = { ...api, "Content-Type": MT.ociManifest, "Docker-Content-Digest": sha256(bytes) };
    if (req.method === "HEAD") {
      res.sendRaw(headBytes(200, headers, f.headLength ?? bytes.length, false), "keep-alive");
      return true;
    }
    if (f.framing === "length") res.send(200, headers, bytes);
    else if (f.framing === "close") res.sendRaw(concat([closeDelimitedHead(headers), bytes]), "close");
    else res.sendRaw(concat([chunkedHead(headers), ...chunks(bytes, 64 * 1024), enc.encode("0\r\n\r\n")]), "keep-alive");
    return true;
  }
  return false;
}

/** A head without Content-Length (headBytes always writes one). */
function headWithout(status: string, headers: Headers, extra: string): Uint8Array {
  const lines = [
    `HTTP/1.1 ${status}`,
    ...Object.entries(headers).map(([k, v]) => `${k}: ${v instanceof Uint8Array ? Buffer.from(v).toString("latin1") : String(v)}`),
    extra,
    "",
    "",
  ];
  return Buffer.from(lines.join("\r\n"), "latin1");
}

function closeDelimitedHead(headers: Headers): Uint8Array {
  return headWithout("200 OK", headers, "Connection: close");
}

function chunkedHead(headers: Headers): Uint8Array {
  return headWithout("200 OK", headers, "Transfer-Encoding: chunked");
}

function chunks(bytes: Uint8Array, size: number): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let off = 0; off < bytes.length; off += size) {
    const part = bytes.subarray(off, off + size);
    out.push(enc.encode(`${part.length.toString(16)}\r\n`), part, enc.encode("\r\n"));
  }
  return out;
}

/** A Bearer challenge padded to about `bytes` (its realm unusable: it names nothing reachable). */
export function hugeChallenge(bytes: number): string {
  return `Bearer realm="http://127.0.0.1:9/token",service="pulldoctor-lab",scope="${"x".repeat(Math.max(0, bytes - 80))}"`;
}
