/**
 * Reading (not verifying) the claims of a registry token. distribution's token access
 * controller (registry/auth/token/token.go) checks iss, aud, nbf/exp with 60 s leeway, the
 * signature, and the `access` claim; a token without the requested action is not an error
 * at the token server but a 401 insufficient_scope at the registry. Reading the claims lets
 * the doctor say which of those will fail before (and after) the registry answers.
 */
export interface JwtAccess {
  type: string;
  name: string;
  actions: string[];
}

export interface JwtClaims {
  iss?: string;
  sub?: string;
  aud?: string | string[];
  exp?: number;
  nbf?: number;
  iat?: number;
  jti?: string;
  access?: JwtAccess[];
}

export interface DecodedJwt {
  header: Record<string, unknown>;
  claims: JwtClaims;
}

import { escapeControls } from "./http-util";

/** The registry's leeway on nbf/exp (distribution registry/auth/token/token.go: Leeway = 60 s). */
export const LEEWAY_SECONDS = 60;

function b64urlJson(part: string): unknown {
  const text = Buffer.from(part.replace(/-/g, "+").replace(/_/g, "/"), "base64").toString("utf8");
  return JSON.parse(text);
}

/** Header and claims of a compact JWS, or null when the token is opaque (not a JWT). */
export function decodeJwt(token: string): DecodedJwt | null {
  const parts = token.split(".");
  if (parts.length !== 3 || !parts[0] || !parts[1]) return null;
  try {
    const header = b64urlJson(parts[0]);
    const claims = b64urlJson(parts[1]);
    if (!header || typeof header !== "object" || !claims || typeof claims !== "object") return null;
    const c = claims as Record<string, unknown>;
    const out: JwtClaims = {};
    // Claims are the token server's words: they reach evidence, findings and terminals (control characters escaped),
    // and only the shapes the spec defines are kept (an aud of nested arrays is not walked).
    for (const k of ["iss", "sub", "jti"] as const) if (typeof c[k] === "string") out[k] = escapeControls(c[k] as string);
    if (typeof c.aud === "string") out.aud = escapeControls(c.aud);
    else if (Array.isArray(c.aud)) out.aud = c.aud.filter((a): a is string => typeof a === "string").map(escapeControls);
    for (const k of ["exp", "nbf", "iat"] as const) if (typeof c[k] === "number") out[k] = c[k] as number;
    if (Array.isArray(c.access)) {
      out.access = c.access
        .filter((a): a is Record<string, unknown> => !!a && typeof a === "object")
        .map((a) => ({
          type: typeof a.type === "string" ? escapeControls(a.type) : "",
          name: typeof a.name === "string" ? escapeControls(a.name) : "",
          actions: Array.isArray(a.actions) ? a.actions.filter((x): x is string => typeof x === "string").map(escapeControls) : [],
        }));
    } else if (c.access === null) {
      out.access = [];
    }
    return { header: header as Record<string, unknown>, claims: out };
  } catch {
    return null;
  }
}

/**
 * Whether the claims grant `action` on repository `name`: true/false from the `access` claim,
 * null when the token says nothing about access (opaque token, or no access claim).
 */
export function grants(claims: JwtClaims | null, name: string, action = "pull"): boolean | null {
  if (!claims || claims.access === undefined) return null;
  return claims.access.some((a) => a.type === "repository" && a.name === name && (a.actions.includes(action) || a.actions.includes("*")));
}

/** A NumericDate as ISO time; one beyond what a Date holds (exp: 1e300) is shown as the number, never thrown on. */
const iso = (s: number | undefined): string | null => {
  if (typeof s !== "number") return null;
  const d = new Date(s * 1000);
  return Number.isNaN(d.getTime()) ? `${s} (seconds since 1970, beyond any date)` : d.toISOString();
};

/** JSON-safe view of the claims for evidence (no signature, nothing secret). */
export function claimsEvidence(d: DecodedJwt | null) {
  if (!d) return null;
  const c = d.claims;
  return {
    alg: typeof d.header.alg === "string" ? escapeControls(d.header.alg) : null,
    kid: typeof d.header.kid === "string" ? escapeControls(d.header.kid) : null,
    x5c: Array.isArray(d.header.x5c) ? d.header.x5c.length : 0,
    iss: c.iss ?? null,
    sub: c.sub ?? null,
    aud: c.aud ?? null,
    iat: iso(c.iat),
    nbf: iso(c.nbf),
    exp: iso(c.exp),
    access: c.access ? c.access.map((a) => ({ type: a.type, name: a.name, actions: a.actions })) : null,
  };
}

export interface ClockCheck {
  /** What is wrong, in words, or null when the token's times are within the leeway. */
  problem: string | null;
  /** Seconds the token's clock is ahead of ours (iat/nbf in our future), or behind (exp in our past). */
  skewSeconds: number;
}

/**
 * The registry accepts a token when nbf - 60 s <= its clock <= exp + 60 s. With our clock as a
 * stand-in for the registry's (and the registry's Date header checked separately), say
 * whether this token will be refused for its times.
 */
export function checkTokenTimes(claims: JwtClaims | null, now: Date): ClockCheck {
  if (!claims) return { problem: null, skewSeconds: 0 };
  const t = now.getTime() / 1000;
  if (typeof claims.nbf === "number" && claims.nbf - LEEWAY_SECONDS > t) {
    return {
      problem: `the token is not valid before ${iso(claims.nbf)} (nbf), ${Math.round(claims.nbf - t)} s after this machine's clock`,
      skewSeconds: Math.round(claims.nbf - t),
    };
  }
  if (typeof claims.exp === "number" && claims.exp + LEEWAY_SECONDS < t) {
    return {
      problem: `the token expired at ${iso(claims.exp)} (exp), ${Math.round(t - claims.exp)} s before this machine's clock`,
      skewSeconds: -Math.round(t - claims.exp),
    };
  }
  if (typeof claims.iat === "number" && claims.iat - LEEWAY_SECONDS > t) {
    return {
      problem: `the token was issued at ${iso(claims.iat)} (iat), ${Math.round(claims.iat - t)} s in this machine's future`,
      skewSeconds: Math.round(claims.iat - t),
    };
  }
  return { problem: null, skewSeconds: 0 };
}
