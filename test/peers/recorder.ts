import { createHash } from "node:crypto";
import { parseRange } from "../../src/lab/faults";
import type { BuiltImage } from "../../src/lab/image";

/**
 * Recording peers for the credential-routing tests: a tiny distribution-API registry (Basic or
 * Bearer) and a token realm, each keeping every request's method, path and headers, so a test
 * can say exactly which host saw which Authorization. Any route can be overridden (a redirect,
 * a challenge naming another realm) with `route`.
 */
export interface Seen {
  method: string;
  path: string;
  headers: Record<string, string>;
}

export interface Recorder {
  url: string;
  host: string;
  port: number;
  seen: Seen[];
  /** Requests that carried an Authorization header. */
  authorized(): Seen[];
  stop(): void;
}

export interface RecorderOptions {
  hostname?: string;
  tls?: { cert: string; key: string };
  /** Answer a request here first; null falls through to the registry behaviour. */
  route?: (req: Request, url: URL) => Response | null | Promise<Response | null>;
  /** Registry behaviour: Basic (user:password) or Bearer (realm + the token it accepts). Absent: only `route`. */
  registry?: {
    image: BuiltImage;
    repo: string;
    tag: string;
    basic?: { user: string; password: string };
    bearer?: { realm: string; service: string; token: string };
  };
}

const sha = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

export function startRecorder(o: RecorderOptions): Recorder {
  const seen: Seen[] = [];
  const server = Bun.serve({
    hostname: o.hostname ?? "127.0.0.1",
    port: 0,
    ...(o.tls ? { tls: o.tls } : {}),
    async fetch(req) {
      const url = new URL(req.url);
      seen.push({ method: req.method, path: url.pathname + url.search, headers: Object.fromEntries(req.headers) });
      const routed = o.route ? await o.route(req, url) : null;
      if (routed) return routed;
      const r = o.registry;
      if (!r) return new Response("not found", { status: 404 });
      return registryAnswer(req, url, r);
    },
  });
  const host = `${o.hostname ?? "127.0.0.1"}:${server.port}`;
  return {
    url: `${o.tls ? "https" : "http"}://${host}`,
    host,
    port: server.port!,
    seen,
    authorized: () => seen.filter((s) => s.headers.authorization !== undefined),
    stop: () => server.stop(true),
  };
}

function registryAnswer(req: Request, url: URL, r: NonNullable<RecorderOptions["registry"]>): Response {
  const api = { "docker-distribution-api-version": "registry/2.0" };
  const auth = req.headers.get("authorization");
  const ok = r.basic
    ? auth === `Basic ${btoa(`${r.basic.user}:${r.basic.password}`)}`
    : r.bearer
      ? auth === `Bearer ${r.bearer.token}`
      : true;
  if (!ok) {
    const challenge = r.basic
      ? `Basic realm="recorder"`
      : `Bearer realm="${r.bearer!.realm}",service="${r.bearer!.service}"${url.pathname === "/v2/" ? "" : `,scope="repository:${r.repo}:pull"`}`;
    return Response.json(
      { errors: [{ code: "UNAUTHORIZED", message: "authentication required" }] },
      { status: 401, headers: { ...api, "www-authenticate": challenge } },
    );
  }
  if (url.pathname === "/v2/") return Response.json({}, { headers: api });
  const manifestDigest = sha(r.image.manifest);
  if (url.pathname === `/v2/${r.repo}/manifests/${r.tag}` || url.pathname === `/v2/${r.repo}/manifests/${manifestDigest}`) {
    const headers = {
      ...api,
      "content-type": r.image.mediaType,
      "docker-content-digest": manifestDigest,
      "content-length": String(r.image.manifest.length),
    };
    return new Response(req.method === "HEAD" ? null : r.image.manifest, { headers });
  }
  const blob = [r.image.config, ...r.image.layers].find((b) => url.pathname === `/v2/${r.repo}/blobs/${b.digest}`);
  if (blob) return blobResponse(req, blob.bytes, api, { "content-type": "application/octet-stream" });
  return Response.json(
    { errors: [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }] },
    { status: 404, headers: api },
  );
}

/** A token realm that hands out `token` to anyone (recording who asked with what). */
export function tokenRoute(token: string): (req: Request, url: URL) => Response | null {
  return (_req, url) => (url.pathname === "/token" ? Response.json({ token, expires_in: 300 }) : null);
}

/**
 * A blob's bytes for a GET, its Range answered as a registry or a CDN answers it: 206 with a
 * Content-Range (the range read by the lab's parseRange); the whole blob without one.
 */
export function blobResponse(
  req: Request,
  bytes: Uint8Array,
  headers: Record<string, string> = {},
  wholeHeaders: Record<string, string> = {},
): Response {
  const r = parseRange(req.headers.get("range") ?? undefined, bytes.length);
  if (r === null || r === "invalid") return new Response(bytes, { headers: { ...headers, ...wholeHeaders } });
  return new Response(bytes.subarray(r.start, r.end + 1), {
    status: 206,
    headers: { ...headers, "content-range": `bytes ${r.start}-${r.end}/${bytes.length}` },
  });
}
