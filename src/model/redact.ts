import { hasKnownSecrets, knownSecretValues, REDACTED } from "./secret";

/** Header names whose values are never shown, in any letter case. */
const SECRET_HEADERS = new Set(["authorization", "proxy-authorization", "cookie", "set-cookie", "x-registry-auth"]);

/**
 * Query keys that are safe to show. Signed CDN redirect URLs carry their signature
 * and credentials in the query (X-Amz-Signature, verify=, token=): every key not on
 * this list is replaced, as go-containerregistry's redact does.
 */
const SAFE_QUERY_KEYS = new Set(["service", "scope", "ns", "n", "last", "account", "client_id", "offline_token"]);

export function redactHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined) continue;
    out[k] = SECRET_HEADERS.has(k.toLowerCase()) ? REDACTED : v;
  }
  return out;
}

export function redactUrl(raw: string): string {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return scrubString(raw);
  }
  if (u.username || u.password) {
    u.username = u.username ? REDACTED : "";
    u.password = u.password ? REDACTED : "";
  }
  for (const key of [...u.searchParams.keys()]) {
    if (!SAFE_QUERY_KEYS.has(key.toLowerCase())) u.searchParams.set(key, "REDACTED");
  }
  return scrubString(u.toString());
}

/** Replace every known secret value inside a string. */
export function scrubString(s: string): string {
  let out = s;
  for (const v of knownSecretValues()) {
    if (out.includes(v)) out = out.split(v).join(REDACTED);
  }
  return out;
}

/**
 * The last line of defence over free text the tool prints (human output, --verbose trace
 * lines, errors): known secret values and JWT-shaped strings become "<redacted>". A hostile
 * server can echo what it was sent into any header or body the doctor shows.
 */
export function scrubText(s: string): string {
  const out = hasKnownSecrets() ? scrubString(s) : s;
  // No secret seen yet (a one-shot command): nothing to replace. Every JWT starts "eyJ" (base64
  // of '{"'): without it the pattern cannot match. So a one-shot command's output compiles neither
  // (docs/performance.md, "Start-up of ref and explain").
  return out.includes("eyJ") ? out.replace(JWT, REDACTED) : out;
}

/**
 * The last line of defence over a whole report or log record: known secret values,
 * JWT-shaped strings, and values under secret-sounding keys become "<redacted>".
 */
export function scrubDeep<T>(value: T): T {
  return walk(value, undefined) as T;
}

const SECRET_KEYS =
  /^(password|secret|token|access_token|refresh_token|identitytoken|registrytoken|auth|authorization|proxy-authorization|cookie|set-cookie)$/i;
const JWT = /\beyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}\b/g;

function walk(v: unknown, key: string | undefined): unknown {
  if (typeof v === "string") {
    if (key && SECRET_KEYS.test(key) && v !== REDACTED && v !== "") return REDACTED;
    return scrubString(v).replace(JWT, REDACTED);
  }
  if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
  if (v && typeof v === "object") {
    const asJson = (v as { toJSON?: () => unknown }).toJSON;
    if (typeof asJson === "function" && !(v instanceof Date)) return walk(asJson.call(v), key);
    if (v instanceof Date) return v.toISOString();
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v as Record<string, unknown>)) out[k] = walk(x, k);
    return out;
  }
  return v;
}

/** `scheme://user:password@rest` → `scheme://user:xxxxx@rest`, as moby prints it; anything else unchanged. */
export function maskUserinfo(value: string): string {
  return value.replace(/^([A-Za-z][A-Za-z0-9+.-]*:\/\/[^/?#@:]*):[^/?#]*@/, "$1:xxxxx@");
}

/** A proxy variable's value for evidence and fixes: the password replaced, never shown. */
export function maskProxyValue(value: string, replacement = "REDACTED"): string {
  return value.replace(
    /^((?:[a-z][a-z0-9+.-]*:)?\/\/)?([^:@/\s]*):[^@/\s]*@/i,
    (_m, scheme: string | undefined, user: string) => `${scheme ?? ""}${user}:${replacement}@`,
  );
}
