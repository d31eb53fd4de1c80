import type { Credential } from "../model/facts";
import { redactUrl } from "../model/redact";
import { Secret } from "../model/secret";
import { basicAuthorization, MAX_REDIRECTS, redirectTo, sameOrigin } from "../net/origin";
import { type Diagnostic, parseRegistryErrors } from "./errors";
import { type HttpClient, type HttpResponse, NetError } from "./http";
import { escapeControls } from "./http-util";
import { type DecodedJwt, decodeJwt } from "./jwt";

/**
 * Fetching a bearer token as Docker's vendored docker/distribution does
 * (registry/client/auth/session.go, tokenHandler.fetchToken):
 * - a refresh token (config.json `identitytoken`) ⇒ OAuth2 POST, grant_type=refresh_token,
 *   client_id, service, one space-separated scope field (docs/spec/auth/oauth.md); servers
 *   that do not implement POST answer 404/405 and we fall back to GET, as containerd does;
 * - username/password ⇒ GET realm?service=…&scope=…&account=USER with HTTP Basic;
 * - nothing ⇒ anonymous GET.
 * The answer: `token` or `access_token` (equivalent), `expires_in` (never below 60),
 * `issued_at` (RFC 3339; when absent expiry counts from receipt).
 */
export const CLIENT_ID = "docker";
/** Go's client stops after 10 redirects; a token server has no reason to come close. */
export const MAX_TOKEN_REDIRECTS = MAX_REDIRECTS;
export const MIN_TOKEN_LIFETIME = 60;
/** A token answer is a few KiB; reading stops here (a hostile realm may answer without end). */
export const MAX_TOKEN_BODY_BYTES = 64 * 1024;

export interface TokenRequest {
  realm: string;
  service?: string;
  scopes: string[];
  credential: Credential | null;
  /** false: credentials must not be sent (plain-http realm of a registry not insecure by configuration). */
  sendCredentials: boolean;
  client: HttpClient;
  now: () => Date;
}

export interface TokenResult {
  token: Secret;
  expiresIn: number;
  issuedAt: string | null;
  receivedAt: Date;
  refreshToken: Secret | null;
  jwt: DecodedJwt | null;
  method: "GET" | "POST";
  /** How we authenticated to the token server. */
  as: "basic" | "refresh_token" | "anonymous";
  status: number;
  serverDate: string | null;
  url: string;
  durationMs: number;
  /** The POST was refused with 404/405 and the token came from a GET. */
  fellBackToGet: boolean;
}

export type TokenErrorKind = "unauthorized" | "forbidden" | "invalid" | "http" | "net";

/** A token request that did not yield a usable token; everything in it is JSON-safe except `net`. */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly kind: TokenErrorKind,
    readonly info: {
      url: string;
      method: "GET" | "POST";
      as: TokenResult["as"];
      status: number | null;
      contentType: string | null;
      serverDate: string | null;
      diagnostics: Diagnostic[];
      /** What was wrong with a 2xx body ("not JSON", "no token field"). */
      invalid?: string;
      bodyPreview?: string;
      net?: NetError;
    },
  ) {
    super(message);
    this.name = "TokenError";
  }
}

/** Parse a 2xx token body (pure). */
export function parseTokenBody(
  body: Uint8Array,
): { ok: true; token: string; expiresIn: number; issuedAt: string | null; refreshToken: string | null } | { ok: false; problem: string } {
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return { ok: false, problem: "the body is not JSON" };
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return { ok: false, problem: "the body is not a JSON object" };
  const o = doc as Record<string, unknown>;
  const token = typeof o.access_token === "string" && o.access_token ? o.access_token : typeof o.token === "string" ? o.token : "";
  // distribution: ErrNoToken "authorization server did not include a token in the response".
  if (!token) return { ok: false, problem: "the JSON has no token or access_token field" };
  const exp = typeof o.expires_in === "number" ? o.expires_in : 0;
  return {
    ok: true,
    token,
    expiresIn: Math.max(MIN_TOKEN_LIFETIME, Math.floor(exp)),
    issuedAt: typeof o.issued_at === "string" && o.issued_at ? o.issued_at : null,
    refreshToken: typeof o.refresh_token === "string" && o.refresh_token ? o.refresh_token : null,
  };
}

function previewOf(res: HttpResponse): string | undefined {
  const ct = res.headers["content-type"] ?? "";
  if (!res.body.length || (ct && !/text|json|html|xml/i.test(ct))) return undefined;
  // Shown in evidence and on terminals: control characters escaped (issue 7).
  return escapeControls(new TextDecoder().decode(res.body.subarray(0, 300)));
}

export async function fetchToken(req: TokenRequest): Promise<TokenResult> {
  const cred = req.sendCredentials ? req.credential : null;
  if (cred?.identityToken) {
    const post = await exchange(req, "POST", "refresh_token", cred);
    if (post.ok) return post.token;
    if (post.error.info.status !== 404 && post.error.info.status !== 405) throw post.error;
    const get = await exchange(req, "GET", cred.username && cred.password ? "basic" : "anonymous", cred);
    if (get.ok) return { ...get.token, fellBackToGet: true };
    throw get.error;
  }
  const r = await exchange(req, "GET", cred?.username && cred.password ? "basic" : "anonymous", cred);
  if (r.ok) return r.token;
  throw r.error;
}

/** One token request's outcome: a token, or why not (thrown by fetchToken for the stages' classify). */
type Exchanged = { ok: true; token: TokenResult } | { ok: false; error: TokenError };

async function exchange(req: TokenRequest, method: "GET" | "POST", as: TokenResult["as"], cred: Credential | null): Promise<Exchanged> {
  const r = tokenRequest(req, method, as, cred);
  const base = { url: redactUrl(r.url.toString()), method, as };
  const answered = await follow(req, r, method, base);
  if (!answered.ok) return answered;
  return judgeAnswer(req, answered.res, method, as, base);
}

/** The request Docker's token handler sends: an OAuth form POST, or a GET with service, scope and account. */
function tokenRequest(
  req: TokenRequest,
  method: "GET" | "POST",
  as: TokenResult["as"],
  cred: Credential | null,
): { url: URL; body?: string; headers: Record<string, string>; authorization: Secret | null } {
  const url = new URL(req.realm);
  if (method === "POST") {
    const form = new URLSearchParams();
    form.set("grant_type", "refresh_token");
    form.set("refresh_token", cred?.identityToken?.reveal() ?? "");
    if (req.service) form.set("service", req.service);
    form.set("client_id", CLIENT_ID);
    form.set("scope", req.scopes.join(" "));
    return { url, body: form.toString(), headers: { "content-type": "application/x-www-form-urlencoded" }, authorization: null };
  }
  if (req.service) url.searchParams.set("service", req.service);
  for (const s of req.scopes) url.searchParams.append("scope", s);
  if (as === "basic" && cred?.username && cred.password) {
    url.searchParams.set("account", cred.username);
    return { url, headers: {}, authorization: basicAuthorization(cred.username, cred.password) };
  }
  return { url, headers: {}, authorization: null };
}

type Base = { url: string; method: "GET" | "POST"; as: TokenResult["as"] };

/** Send it, following the token server's redirects only as redirectTarget allows. */
async function follow(
  req: TokenRequest,
  r: ReturnType<typeof tokenRequest>,
  method: "GET" | "POST",
  base: Base,
): Promise<{ ok: true; res: HttpResponse } | { ok: false; error: TokenError }> {
  let target = r.url;
  for (let hop = 0; ; hop++) {
    let res: HttpResponse;
    try {
      res = await req.client.request({
        method,
        url: target.toString(),
        headers: r.headers,
        authorization: r.authorization,
        body: r.body,
        sensitiveBody: true,
        maxBodyBytes: MAX_TOKEN_BODY_BYTES,
      });
    } catch (e) {
      if (!(e instanceof NetError)) throw e;
      const info = { ...base, status: null, contentType: null, serverDate: null, diagnostics: [], net: e };
      return { ok: false, error: new TokenError(`token server ${target.host} unreachable: ${e.message}`, "net", info) };
    }
    const next = redirectTarget(res, target, method, hop);
    if (next === null) return { ok: true, res };
    if (typeof next === "string") {
      const info = {
        ...base,
        status: res.status,
        contentType: res.headers["content-type"] ?? null,
        serverDate: res.headers.date ?? null,
        diagnostics: [],
      };
      return { ok: false, error: new TokenError(next, "http", info) };
    }
    target = next;
  }
}

/** The token server's answer: an error status, an oversized or malformed body, or a token. */
function judgeAnswer(req: TokenRequest, res: HttpResponse, method: "GET" | "POST", as: TokenResult["as"], base: Base): Exchanged {
  const info = {
    ...base,
    status: res.status,
    contentType: res.headers["content-type"] ?? null,
    serverDate: res.headers.date ?? null,
    diagnostics: parseRegistryErrors(res.body, res.headers["content-type"]),
  };
  if (res.status < 200 || res.status > 299) {
    const kind: TokenErrorKind = res.status === 401 ? "unauthorized" : res.status === 403 ? "forbidden" : "http";
    const bodyPreview = info.diagnostics.length ? undefined : previewOf(res);
    const message = `token server answered ${res.status} ${res.statusText}`.trim();
    return { ok: false, error: new TokenError(message, kind, { ...info, ...(bodyPreview ? { bodyPreview } : {}) }) };
  }
  if (res.truncated) {
    const invalid = `the answer is larger than ${MAX_TOKEN_BODY_BYTES / 1024} KiB (pulldoctor stops reading a token answer there)`;
    return { ok: false, error: new TokenError(`token server answered ${res.status} but ${invalid}`, "invalid", { ...info, invalid }) };
  }
  const parsed = parseTokenBody(res.body);
  if (!parsed.ok) {
    // The body may hold a token-like secret even when malformed: show it only if it is not JSON at all.
    const bodyPreview = parsed.problem === "the body is not JSON" ? previewOf(res) : undefined;
    const message = `token server answered ${res.status} but ${parsed.problem}`;
    return {
      ok: false,
      error: new TokenError(message, "invalid", { ...info, invalid: parsed.problem, ...(bodyPreview ? { bodyPreview } : {}) }),
    };
  }
  return {
    ok: true,
    token: {
      token: new Secret(parsed.token),
      expiresIn: parsed.expiresIn,
      issuedAt: parsed.issuedAt,
      receivedAt: req.now(),
      refreshToken: parsed.refreshToken ? new Secret(parsed.refreshToken) : null,
      jwt: decodeJwt(parsed.token),
      method,
      as,
      status: res.status,
      serverDate: info.serverDate,
      url: base.url,
      durationMs: res.durationMs,
      fellBackToGet: false,
    },
  };
}

/**
 * A token server's redirect: followed (same credentials, same body) only within its own origin
 * (scheme, host and port) and keeping the method (307/308, or any redirect of a GET). Anything
 * else is reported, never followed: Go's client would follow to another host without the
 * Authorization header but re-send a POST's body (which holds the refresh token); pulldoctor
 * sends no credential after a redirect to another host or scheme. Returns the next URL, null
 * (not a redirect) or why it stops.
 */
export function redirectTarget(res: HttpResponse, from: URL, method: "GET" | "POST", hop: number): URL | string | null {
  if (res.status < 300 || res.status > 399 || !res.headers.location) return null;
  const loc = res.headers.location;
  const target = redirectTo(loc, from.toString());
  const said = `token server answered ${res.status} ${res.statusText}`.trim();
  if (target.kind === "invalid") return `${said} with an invalid Location ${JSON.stringify(redactUrl(loc))}`;
  // Another scheme (ftp:, file:) is another origin too: reported, never followed.
  const next = target.kind === "next" ? target.url : new URL(loc, from);
  const to = redactUrl(next.toString());
  if (target.kind === "scheme" || !sameOrigin(next, from))
    return `${said}, a redirect to ${to} (another host or scheme): pulldoctor does not follow a token server there with credentials; point the registry's token realm at that URL instead`;
  if (method === "POST" && res.status !== 307 && res.status !== 308)
    return `${said}, a redirect to ${to} that would turn the OAuth POST into a GET (dropping the refresh token)`;
  if (hop >= MAX_TOKEN_REDIRECTS) return `${said}: stopped after ${MAX_TOKEN_REDIRECTS} redirects (last to ${to})`;
  return next;
}
