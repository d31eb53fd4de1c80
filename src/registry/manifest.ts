import { goQuoteChar, MAX_NESTING_DEPTH } from "../host/go-json";
import type { Descriptor, Platform } from "../model/facts";
import { escapeControls } from "./http-util";
import { bareType, INDEX_TYPES, MEDIA, SCHEMA1_TYPES } from "./media-types";

/** containerd's MaxManifestSize: a manifest (or index) larger than 4 MiB is refused. */
export const MAX_MANIFEST_BYTES = 4 * 1024 * 1024;

export function manifestUrl(baseUrl: string, repository: string, reference: string): string {
  return `${baseUrl}/v2/${repository}/manifests/${reference}`;
}

export function tagsUrl(baseUrl: string, repository: string): string {
  return `${baseUrl}/v2/${repository}/tags/list`;
}

export function sha256Digest(bytes: Uint8Array): string {
  // Bun's hasher, not node:crypto: a check should not load (and compile) node:crypto to hash a manifest.
  return `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
}

/** Hash `bytes` with the digest's own algorithm; null when the algorithm is not one we know. */
export function digestOf(bytes: Uint8Array, like: string): string | null {
  const algo = like.split(":")[0];
  if (algo === "sha256") return sha256Digest(bytes);
  if (algo === "sha512") return `sha512:${new Bun.CryptoHasher("sha512").update(bytes).digest("hex")}`;
  return null;
}

export type ParsedManifest =
  | { kind: "index"; mediaType: string; manifests: Descriptor[] }
  | { kind: "image"; mediaType: string; config: Descriptor; layers: Descriptor[] }
  | { kind: "schema1"; mediaType: string }
  | { kind: "invalid"; mediaType: string; problem: string };

/**
 * Go's encoding/json error for a document that does not parse: what docker prints after
 * "error unmarshalling content: " (the captive-portal case: `invalid character '<' …`).
 */
export function goJsonError(text: string, bytes?: Uint8Array): string {
  const t = text.replace(/^[\s\uFEFF]+/, "");
  if (t === "") return "unexpected end of JSON input";
  const c = t[0]!;
  if (!/[{["\-0-9tfn]/.test(c)) {
    // Go quotes the byte, not a decoded character: random bytes show as '\u009b', not U+FFFD.
    const b = bytes ? bytes.find((x) => x !== 0x20 && x !== 0x09 && x !== 0x0a && x !== 0x0d) : undefined;
    const shown = b !== undefined && (b >= 0x80 || b < 0x20 || b === 0x7f) ? goQuoteChar(b) : `'${c}'`;
    return `invalid character ${shown} looking for beginning of value`;
  }
  return "unexpected end of JSON input";
}

/**
 * How deep arrays and objects nest (strings skipped), stopping once past `limit`. Go's
 * encoding/json refuses more than 10,000 levels; JSON.parse here copes, but nothing that walks
 * a document should meet one Docker would not even parse.
 */
export function nestingExceeds(bytes: Uint8Array, limit = MAX_NESTING_DEPTH): number | null {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!;
    if (inString) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inString = false;
    } else if (c === 0x22) inString = true;
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > limit) return c;
    } else if (c === 0x5d || c === 0x7d) depth--;
  }
  return null;
}

/** Digest algorithms go-digest (Docker, containerd) can verify. */
const VERIFIABLE = new Set(["sha256", "sha384", "sha512"]);

/**
 * What Docker would refuse in a descriptor before or while fetching it: a size that is not a
 * whole number of bytes (Go cannot even unmarshal 1e300 or 1.5 into int64), a negative size,
 * a digest outside the grammar (the doctor would otherwise put "sha256:../../x" into a URL),
 * an algorithm it cannot verify. The pull engine checks again; here it is a finding.
 */
export function descriptorProblem(d: Descriptor, what: string): string | null {
  if (!Number.isSafeInteger(d.size)) return `${what} has size ${d.size}, not a whole number of bytes (Go cannot unmarshal it into int64)`;
  if (d.size < 0) return `${what} has a negative size (${d.size})`;
  if (!isDigest(d.digest)) return `${what} has digest "${d.digest.slice(0, 100)}", which is not a valid digest`;
  const algo = d.digest.split(":")[0]!;
  if (!VERIFIABLE.has(algo)) return `${what} has digest "${d.digest.slice(0, 100)}": unsupported digest algorithm ${algo}`;
  return null;
}

/** The OCI digest grammar (image-spec descriptor.md), with the registered algorithms' exact lengths. */
export function isDigest(s: string): boolean {
  const m = /^([a-z0-9]+(?:[+._-][a-z0-9]+)*):([a-zA-Z0-9=_-]+)$/.exec(s);
  if (!m) return false;
  if (m[1] === "sha256") return /^[a-f0-9]{64}$/.test(m[2]!);
  if (m[1] === "sha512") return /^[a-f0-9]{128}$/.test(m[2]!);
  if (m[1] === "sha384") return /^[a-f0-9]{96}$/.test(m[2]!);
  return true;
}

function isObj(v: unknown): v is Record<string, unknown> {
  return !!v && typeof v === "object" && !Array.isArray(v);
}

/** Every string of a descriptor reaches evidence, findings and URLs: control characters are escaped (a digest with one no longer parses as a digest). */
const text = escapeControls;

function descriptor(v: unknown): Descriptor | null {
  if (!isObj(v) || typeof v.digest !== "string" || typeof v.size !== "number") return null;
  const d: Descriptor = { mediaType: typeof v.mediaType === "string" ? text(v.mediaType) : "", digest: text(v.digest), size: v.size };
  if (Array.isArray(v.urls)) d.urls = v.urls.filter((u): u is string => typeof u === "string").map(text);
  if (isObj(v.platform) && typeof v.platform.os === "string" && typeof v.platform.architecture === "string") {
    const p: Platform = { os: text(v.platform.os), architecture: text(v.platform.architecture) };
    if (typeof v.platform.variant === "string" && v.platform.variant) p.variant = text(v.platform.variant);
    if (typeof v.platform["os.version"] === "string" && v.platform["os.version"]) p["os.version"] = text(v.platform["os.version"]);
    const f = v.platform["os.features"];
    if (Array.isArray(f) && f.length) p["os.features"] = f.filter((x): x is string => typeof x === "string").map(text);
    d.platform = p;
  }
  return d;
}

/** Each element of a manifests or layers array as a descriptor, or the problem with the first that is not one. */
function descriptors(list: unknown[], what: string): Descriptor[] | string {
  const out: Descriptor[] = [];
  for (const x of list) {
    const d = descriptor(x);
    if (!d) return `${what} without digest and size`;
    const bad = descriptorProblem(d, what);
    if (bad) return bad;
    out.push(d);
  }
  return out;
}

/**
 * Read a manifest as Docker does: the media type from the document's `mediaType`, else the
 * Content-Type, else its shape; schema1 by media type, text/plain (Red Hat's quirk) or
 * `schemaVersion: 1`.
 */
export function parseManifest(bytes: Uint8Array, contentType: string | undefined): ParsedManifest {
  const ct = bareType(contentType);
  const deep = nestingExceeds(bytes);
  if (deep !== null)
    return {
      kind: "invalid",
      mediaType: ct,
      problem: `invalid character ${goQuoteChar(deep)} exceeded max depth (more than ${MAX_NESTING_DEPTH} nested arrays or objects)`,
    };
  const text = new TextDecoder().decode(bytes);
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return { kind: "invalid", mediaType: ct, problem: goJsonError(text, bytes) };
  }
  if (!isObj(doc)) return { kind: "invalid", mediaType: ct, problem: "the document is not a JSON object" };
  const declared = typeof doc.mediaType === "string" ? escapeControls(doc.mediaType) : "";
  // A schema 2 body under a schema 1 Content-Type (text/plain) is not schema 1: the stage says the Content-Type is wrong.
  if (doc.schemaVersion === 1 || SCHEMA1_TYPES.includes(declared) || (!declared && SCHEMA1_TYPES.includes(ct) && doc.schemaVersion !== 2)) {
    return { kind: "schema1", mediaType: declared || (ct === "text/plain" ? MEDIA.schema1Signed : ct) || MEDIA.schema1Signed };
  }
  const mediaType = declared || ct;
  if (Array.isArray(doc.manifests) || INDEX_TYPES.includes(mediaType)) {
    if (!Array.isArray(doc.manifests)) return { kind: "invalid", mediaType, problem: "an index without a manifests array" };
    const manifests = descriptors(doc.manifests, "an index entry");
    if (typeof manifests === "string") return { kind: "invalid", mediaType, problem: manifests };
    return { kind: "index", mediaType: mediaType || MEDIA.ociIndex, manifests };
  }
  const config = descriptor(doc.config);
  if (!config) return { kind: "invalid", mediaType, problem: "no config descriptor (digest and size)" };
  const badConfig = descriptorProblem(config, "the config");
  if (badConfig) return { kind: "invalid", mediaType, problem: badConfig };
  if (!Array.isArray(doc.layers)) return { kind: "invalid", mediaType, problem: "no layers array" };
  const layers = descriptors(doc.layers, "a layer");
  if (typeof layers === "string") return { kind: "invalid", mediaType, problem: layers };
  return { kind: "image", mediaType: mediaType || MEDIA.ociManifest, config, layers };
}

/** One `ratelimit-*` value: "100;w=21600" ⇒ 100 pulls per 21600 s. */
export interface RateValue {
  value: number;
  windowSeconds: number | null;
}

export interface RateLimitInfo {
  limit: RateValue | null;
  remaining: RateValue | null;
  /** docker-ratelimit-source: the client IP (anonymous) or account UUID the limit is counted against. */
  source: string | null;
  /** Retry-After in seconds (delta or HTTP date relative to `now`). */
  retryAfterSeconds: number | null;
  /** Warning headers (RFC 7234 `299 - "text"`), text only. */
  warnings: string[];
}

export function parseRateValue(v: string | undefined): RateValue | null {
  if (!v) return null;
  // Several policies may be listed ("100;w=21600, 100;w=3600"): the first is the effective one.
  const first = v.split(",")[0]!.trim();
  const m = /^(\d+)\s*(?:;(.*))?$/.exec(first);
  if (!m) return null;
  const w = /(?:^|;)\s*w=(\d+)/.exec(m[2] ?? "");
  return { value: Number(m[1]), windowSeconds: w ? Number(w[1]) : null };
}

export function parseRetryAfter(v: string | undefined, now: Date): number | null {
  if (!v) return null;
  if (/^\d+$/.test(v.trim())) return Number(v.trim());
  const t = Date.parse(v);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.round((t - now.getTime()) / 1000));
}

export function parseWarnings(raw: [string, string][]): string[] {
  const out: string[] = [];
  for (const [k, v] of raw) {
    if (k !== "warning") continue;
    const m = /^\s*\d{3}\s+\S+\s+"((?:[^"\\]|\\.)*)"/.exec(v);
    out.push(m ? m[1]!.replace(/\\(.)/g, "$1") : v);
  }
  return out;
}

export function readRateLimit(headers: Record<string, string>, raw: [string, string][], now: Date): RateLimitInfo {
  return {
    limit: parseRateValue(headers["ratelimit-limit"]),
    remaining: parseRateValue(headers["ratelimit-remaining"]),
    source: headers["docker-ratelimit-source"] ?? null,
    retryAfterSeconds: parseRetryAfter(headers["retry-after"], now),
    warnings: parseWarnings(raw),
  };
}

/**
 * "Low" = fewer than max(5, 10 % of the limit) pulls left. Five because a typical
 * `docker compose pull` or CI job pulls several images, and a multi-arch build counts one
 * pull per architecture; 10 % so large limits warn before the last few pulls of a window.
 */
export function rateLimitLow(info: RateLimitInfo): boolean {
  if (!info.limit || !info.remaining) return false;
  return info.remaining.value < Math.max(5, Math.ceil(info.limit.value * 0.1));
}
