import type { ClientSettings, RegistryTarget } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import { redactUrl } from "../model/redact";
import type { Secret } from "../model/secret";
import { credentialsAllowed, hostPort, MAX_REDIRECTS, REDIRECT_STATUS } from "../net/origin";
import { proxyForUrl } from "../net/proxy-env";
import { hopFailed, probeNewHost, redirected } from "./blob-hops";
import { clientForUrl, createHttpClient, type HttpClient, type HttpStreamResponse, NetError } from "./http";

/** The range probe of the blob stage: the first KiB, or the whole blob if smaller. */
export const RANGE_PROBE_BYTES = 1024;
/** Throughput is judged only over at least this much (TCP slow start makes small reads look slow)… */
export const MIN_MEASURE_BYTES = 512 * 1024;
/** …and never reads more than this of a layer. */
export const MAX_MEASURE_BYTES = 4 * 1024 * 1024;

export function blobUrl(baseUrl: string, repository: string, digest: string): string {
  return `${baseUrl}/v2/${repository}/blobs/${digest}`;
}

/**
 * Does a ranged answer honour `Range: bytes=start-end` of a blob of `size` bytes? Docker
 * requires 206 (else "expected HTTP 206 from byte range request"); containerd and c/image
 * also check Content-Range. Pure.
 */
export function checkRange(
  status: number,
  contentRange: string | undefined,
  start: number,
  end: number,
  size: number,
): { ok: boolean; problem: string | null } {
  if (status !== 206) return { ok: false, problem: `status ${status} instead of 206 Partial Content` };
  const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec((contentRange ?? "").trim());
  if (!m) return { ok: false, problem: contentRange ? `unparseable Content-Range "${contentRange}"` : "206 without Content-Range" };
  const wantEnd = Math.min(end, size - 1);
  if (Number(m[1]) !== start || Number(m[2]) !== wantEnd)
    return { ok: false, problem: `Content-Range ${contentRange} for bytes ${start}-${wantEnd}` };
  if (m[3] !== "*" && Number(m[3]) !== size)
    return { ok: false, problem: `Content-Range total ${m[3]} but the manifest says ${size} bytes` };
  return { ok: true, problem: null };
}

export type Hop = Evidence;

export type FollowResult =
  | { kind: "response"; res: HttpStreamResponse; host: string; hops: Hop[] }
  | {
      kind: "unreachable";
      hops: Hop[];
      url: string;
      host: string;
      hostname: string;
      port: number;
      failedAt: "dns" | "connect" | "tls" | "http";
      error: string;
      addresses: string[];
      proxy: string | null;
    }
  | { kind: "loop"; hops: Hop[]; reason: "loop" | "too-many" }
  | { kind: "failed"; hops: Hop[]; url: string; host: string; error: NetError }
  | { kind: "bad-redirect"; hops: Hop[]; url: string; host: string; message: string };

/** May a request to `url` carry the registry's Authorization? The one rule of src/net/origin.ts. */
export function authorizationAllowed(url: string, registryBaseUrl: string, insecure: boolean): boolean {
  return credentialsAllowed(url, { url: registryBaseUrl, insecure });
}

/** Statuses a blob GET is retried on (Docker and containerd retry these; see src/pull/fetch-blob.ts). */
export const RETRY_STATUS = new Set([408, 429, 499, 500, 502, 503, 504, 522]);

/** Retry-After in ms: delta-seconds or an HTTP-date (RFC 9110 §10.2.3); null if absent or unreadable. */
export function parseRetryAfter(v: string | null | undefined, now: number = Date.now()): number | null {
  if (v === null || v === undefined) return null;
  const s = v.trim();
  if (/^\d{1,10}$/.test(s)) return Number(s) * 1000;
  const t = Date.parse(s);
  return Number.isFinite(t) && /[a-z]/i.test(s) ? Math.max(0, t - now) : null;
}

/** Where blob requests go: one endpoint's client settings and the registry they belong to. */
export interface BlobAccess {
  settings: ClientSettings;
  registry: RegistryTarget;
}

/** HTTP clients per origin: the registry's (its resolution, route and TLS), others with their own proxy decision. */
export class ClientPool {
  readonly #clients = new Map<string, HttpClient>();
  constructor(readonly access: BlobAccess) {}
  get registryOrigin(): string {
    return new URL(this.access.registry.baseUrl).origin;
  }
  for(url: string): HttpClient {
    const origin = new URL(url).origin;
    let c = this.#clients.get(origin);
    if (!c) {
      // Docker's transport for a registry (certs.d CAs, skip-verify) also carries the redirected requests.
      c = origin === this.registryOrigin ? createHttpClient(this.access.settings) : clientForUrl(this.access.settings, url);
      this.#clients.set(origin, c);
    }
    return c;
  }
  async close(): Promise<void> {
    await Promise.all([...this.#clients.values()].map((c) => c.close()));
    this.#clients.clear();
  }
}

/**
 * GET a blob URL and follow redirects by hand, as Go's client would but hop by hop, so that
 * each new host gets its own DNS/connect evidence. Authorization goes only to the registry's
 * own origin (same scheme, host and port), never to a CDN.
 */
export async function followBlob(pool: ClientPool, startUrl: string, range: string, authorization: Secret | null): Promise<FollowResult> {
  const hops: Hop[] = [];
  const seen = new Set<string>();
  const probed = new Set<string>([pool.registryOrigin]);
  let url = startUrl;
  for (let i = 0; ; i++) {
    if (seen.has(url)) return { kind: "loop", hops, reason: "loop" };
    if (i > MAX_REDIRECTS) return { kind: "loop", hops, reason: "too-many" };
    seen.add(url);
    const u = new URL(url);
    const { host: hostname, port } = hostPort(u);
    const sameOrigin = u.origin === pool.registryOrigin;
    const { settings, registry } = pool.access;
    const sendAuth = authorization !== null && authorizationAllowed(url, registry.baseUrl, registry.insecure);
    const proxy = sameOrigin ? (settings.route?.url ?? null) : proxyForUrl(url, settings.proxyEnv ?? settings.deps.env).url;
    const hop: Hop = { url: redactUrl(url), host: u.host, authorization: sendAuth, proxy };
    // An https → http hop: followed (as Docker does), never with credentials; the stage warns.
    if (i > 0 && u.protocol === "http:" && hops[i - 1]!.scheme === "https") hop.downgraded = true;
    hop.scheme = u.protocol.replace(/:$/, "");
    hops.push(hop);
    const at = { url, u, hostname, port, hop, hops, proxy };
    // A new host's DNS, connect and TLS evidence is gathered while the GET goes out: a CDN's
    // handshakes are not paid twice in a row. What the probe finds unreachable is reported from
    // the probe (the client's own dial fails there too), and the GET's answer is dropped.
    const probing = !probed.has(u.origin) && !proxy ? probeNewHost(settings, at) : null;
    probed.add(u.origin);
    const get = pool
      .for(url)
      .stream({ method: "GET", url, headers: { range, accept: "*/*" }, authorization: sendAuth ? authorization : null })
      .then(
        (res) => ({ res }),
        (error: unknown) => ({ error }),
      );
    const probe = probing ? await probing : [];
    // Waited for even when the probe failed: the stage ends with nothing in flight, so its trace
    // holds every request it sent and nothing of it lands in a later stage's.
    const got = await get;
    if (!Array.isArray(probe)) {
      if ("res" in got) await got.res.body.cancel().catch(() => undefined);
      return probe;
    }
    if (!("res" in got)) return hopFailed(got.error, i === 0 || sameOrigin, at, probe);
    const res = got.res;
    hop.status = res.status;
    hop.durationMs = res.durationMs;
    hop.remoteAddress = res.remoteAddress;
    const location = res.headers.location;
    if (REDIRECT_STATUS.has(res.status) && location) {
      const next = await redirected(res, location, at);
      if (typeof next !== "string") return next;
      url = next;
      continue;
    }
    return { kind: "response", res, host: u.host, hops };
  }
}

export interface ReadResult {
  /** The bytes read (kept only when `keep`). */
  bytes: Uint8Array | null;
  count: number;
  /** ms from the first body byte to the last one read. */
  transferMs: number;
  /** The deadline stopped the read before `max` bytes. */
  cutByDeadline: boolean;
  error: NetError | null;
}

/** Read at most `max` bytes of a body within `deadlineMs`, then cancel the rest. */
export async function readBody(body: ReadableStream<Uint8Array>, max: number, deadlineMs: number, keep: boolean): Promise<ReadResult> {
  const reader = body.getReader();
  const chunks: Uint8Array[] = [];
  let count = 0;
  let first = 0;
  let last = 0;
  let cutByDeadline = false;
  let error: NetError | null = null;
  const started = performance.now();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<"deadline">((r) => (timer = setTimeout(() => r("deadline"), deadlineMs)));
  try {
    while (count < max) {
      const r = await Promise.race([reader.read(), deadline]);
      if (r === "deadline") {
        cutByDeadline = true;
        break;
      }
      if (r.done) break;
      const now = performance.now();
      if (count === 0) first = now;
      last = now;
      const chunk = r.value.subarray(0, max - count);
      if (keep) chunks.push(chunk);
      count += chunk.length;
    }
  } catch (e) {
    if (!(e instanceof NetError)) throw e;
    error = e;
  } finally {
    clearTimeout(timer);
    await reader.cancel().catch(() => undefined);
  }
  if (cutByDeadline) last = performance.now();
  const transferMs = count === 0 ? performance.now() - started : Math.max(last - first, 0);
  return { bytes: keep ? Buffer.concat(chunks) : null, count, transferMs, cutByDeadline, error };
}
