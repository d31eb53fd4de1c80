/**
 * Pure decisions of the auth stage (table-tested): which code a token-server answer or the
 * registry's answer to the authorized manifest HEAD means. The distinctions follow what
 * Docker's vendored distribution client maps them to (registry/client/errors.go: a
 * WWW-Authenticate `error=invalid_token` is UNAUTHORIZED, `insufficient_scope` is DENIED) and
 * what distribution's token access controller sends (no token ⇒ 401 without error; a token
 * without the action ⇒ insufficient_scope; a token it cannot verify or out of its time
 * window ⇒ invalid_token).
 */
export type AuthVerdict =
  | { code: null }
  | { code: "AUTH_UNAUTHORIZED"; where: string; status: number }
  | { code: "AUTH_DENIED"; status: number | null }
  | { code: "AUTH_CREDENTIALS_REQUIRED"; status: number }
  | { code: "AUTH_TOKEN_SERVER_UNREACHABLE"; status: number | null }
  | { code: "AUTH_TOKEN_INVALID"; problem: string }
  | { code: "AUTH_CLOCK_SKEW" };

export interface TokenFailure {
  kind: "unauthorized" | "forbidden" | "invalid" | "http" | "net";
  status: number | null;
  /** How we authenticated: "basic" | "refresh_token" | "anonymous". */
  as: string;
  invalid?: string;
}

export function classifyTokenFailure(f: TokenFailure): AuthVerdict {
  const withCreds = f.as !== "anonymous";
  switch (f.kind) {
    case "net":
      return { code: "AUTH_TOKEN_SERVER_UNREACHABLE", status: null };
    case "invalid":
      return {
        code: "AUTH_TOKEN_INVALID",
        problem: `the token service answered ${f.status ?? ""} but ${f.invalid ?? "without a usable token"}`.replace("  ", " "),
      };
    case "unauthorized":
      return withCreds
        ? { code: "AUTH_UNAUTHORIZED", where: "token service", status: f.status ?? 401 }
        : { code: "AUTH_CREDENTIALS_REQUIRED", status: f.status ?? 401 };
    case "forbidden":
      return withCreds ? { code: "AUTH_DENIED", status: f.status ?? 403 } : { code: "AUTH_CREDENTIALS_REQUIRED", status: f.status ?? 403 };
    case "http":
      // OAuth2 (RFC 6749 §5.2): a refused refresh token is 400 invalid_grant.
      if (f.status === 400 && f.as === "refresh_token") return { code: "AUTH_UNAUTHORIZED", where: "token service", status: 400 };
      return { code: "AUTH_TOKEN_SERVER_UNREACHABLE", status: f.status };
  }
}

export interface RegistryAnswer {
  status: number;
  scheme: "bearer" | "basic" | "none";
  /** `error` parameter of the 401's Bearer challenge. */
  challengeError: string | null;
  /** Codes of the error body ({"errors":[…]}), when read. */
  errorCodes: string[];
  /** Credentials (or a registry token) were behind the Authorization sent. */
  credsSent: boolean;
  /** An Authorization header was sent at all (anonymous bearer tokens count). */
  authorizationSent: boolean;
  /** What the token's access claim says about pull (null: opaque token / not bearer). */
  grantsPull: boolean | null;
  /** The token's times fall outside the registry's clock ± 60 s. */
  clockProblem: string | null;
}

export function classifyRegistryAnswer(a: RegistryAnswer): AuthVerdict {
  if ((a.status >= 200 && a.status < 300) || a.status === 404) return { code: null };
  if (a.status === 403 || a.errorCodes.includes("DENIED")) return { code: "AUTH_DENIED", status: a.status };
  if (a.status !== 401) return { code: null }; // 429, 5xx…: the manifest stage judges these.
  if (a.challengeError === "insufficient_scope") return { code: "AUTH_DENIED", status: 401 };
  if (a.challengeError === "invalid_token") {
    return a.clockProblem
      ? { code: "AUTH_CLOCK_SKEW" }
      : {
          code: "AUTH_TOKEN_INVALID",
          problem: "the registry refused the token (invalid_token): issuer, audience or signing certificate do not match what it trusts",
        };
  }
  if (a.scheme === "bearer" && a.authorizationSent) {
    if (a.grantsPull === false) return { code: "AUTH_DENIED", status: 401 };
    if (a.clockProblem) return { code: "AUTH_CLOCK_SKEW" };
    if (!a.credsSent) return { code: "AUTH_CREDENTIALS_REQUIRED", status: 401 };
    return { code: "AUTH_TOKEN_INVALID", problem: "the registry answered 401 to the token without saying why" };
  }
  return a.credsSent ? { code: "AUTH_UNAUTHORIZED", where: "registry", status: 401 } : { code: "AUTH_CREDENTIALS_REQUIRED", status: 401 };
}
