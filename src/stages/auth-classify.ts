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
  /** `where`: who refused the anonymous request; `scope`: the registry said insufficient_scope (or granted nothing). */
  | { code: "AUTH_CREDENTIALS_REQUIRED"; status: number; where: "registry" | "token service"; scope?: boolean }
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
        : { code: "AUTH_CREDENTIALS_REQUIRED", status: f.status ?? 401, where: "token service" };
    case "forbidden":
      return withCreds
        ? { code: "AUTH_DENIED", status: f.status ?? 403 }
        : { code: "AUTH_CREDENTIALS_REQUIRED", status: f.status ?? 403, where: "token service" };
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

/**
 * AUTH_DENIED names an identity that was sent and refused; an anonymous request refused for
 * want of access (403, DENIED, insufficient_scope, an anonymous token granting nothing) is
 * AUTH_CREDENTIALS_REQUIRED (SPEC "Findings": insufficient_scope included, the repository
 * may also not exist), whose first fix is to log in.
 */
export function classifyRegistryAnswer(a: RegistryAnswer): AuthVerdict {
  if ((a.status >= 200 && a.status < 300) || a.status === 404) return { code: null };
  // Credentials count as sent only behind an Authorization header that went out.
  const sent = a.credsSent && a.authorizationSent;
  const refused = (status: number): AuthVerdict =>
    sent ? { code: "AUTH_DENIED", status } : { code: "AUTH_CREDENTIALS_REQUIRED", status, where: "registry", scope: true };
  if (a.status === 403 || a.errorCodes.includes("DENIED")) return refused(a.status);
  if (a.status !== 401) return { code: null }; // 429, 5xx…: the manifest stage judges these.
  if (a.challengeError === "insufficient_scope") return refused(401);
  if (a.challengeError === "invalid_token") {
    return a.clockProblem
      ? { code: "AUTH_CLOCK_SKEW" }
      : {
          code: "AUTH_TOKEN_INVALID",
          problem: "the registry refused the token (invalid_token): issuer, audience or signing certificate do not match what it trusts",
        };
  }
  if (a.scheme === "bearer" && a.authorizationSent) {
    if (a.grantsPull === false) return refused(401);
    if (a.clockProblem) return { code: "AUTH_CLOCK_SKEW" };
    if (!sent) return { code: "AUTH_CREDENTIALS_REQUIRED", status: 401, where: "registry" };
    return { code: "AUTH_TOKEN_INVALID", problem: "the registry answered 401 to the token without saying why" };
  }
  return sent
    ? { code: "AUTH_UNAUTHORIZED", where: "registry", status: 401 }
    : { code: "AUTH_CREDENTIALS_REQUIRED", status: 401, where: "registry" };
}

/**
 * How the judged client learns challenges (SPEC "Clients": the `/v2/` ping and "a 401 on a
 * repository request" rows). Client profiles plug in here; the stage never branches on a name.
 */
export interface ChallengeBehaviour {
  /** The client judged, as findings name it. */
  client: string;
  /**
   * true: a 401 on any request is retried with its challenge and the credentials
   * (containerd:core/remotes/docker/resolver.go request.retryRequest → authorizer.go AddResponses).
   * false: challenges come only from the /v2/ ping (moby:daemon/pkg/registry/auth.go PingV2Registry,
   * containers/image:docker/docker_client.go detectPropertiesHelper): a later 401 adds none.
   */
  sendsOn401: boolean;
}

/** The doctor judges as classic Docker until client profiles (--client) choose another behaviour. */
export const CLASSIC_DOCKER: ChallengeBehaviour = { client: "docker (classic image store)", sendsOn401: false };

/** What the doctor's one retry with the repository's challenge gave (null: nothing to send, Basic without credentials). */
export type RetryOutcome = "accepted" | "refused" | "failed" | null;

export type NotSentVerdict =
  | { code: "AUTH_NOT_SENT"; severity: "error" | "info" }
  | { code: "AUTH_CREDENTIALS_REQUIRED" }
  /** The retry's own answer decides (the client sent credentials and they were refused, or no token came). */
  | { code: "retry" };

/**
 * /v2/ asked for nothing, the repository answered 401 with a challenge. A client that learns
 * challenges only from the ping sends nothing: with credentials configured (or an anonymous
 * token that would have worked) that is AUTH_NOT_SENT, an error; with nothing that could be
 * sent, anonymous access is simply refused. A client that retries the 401 pulls when the retry
 * is accepted (AUTH_NOT_SENT is then only information about other clients).
 */
export function judgeNotSent(b: ChallengeBehaviour, credentialsConfigured: boolean, retry: RetryOutcome): NotSentVerdict {
  if (!b.sendsOn401)
    return credentialsConfigured || retry === "accepted"
      ? { code: "AUTH_NOT_SENT", severity: "error" }
      : { code: "AUTH_CREDENTIALS_REQUIRED" };
  if (retry === "accepted") return { code: "AUTH_NOT_SENT", severity: "info" };
  if (retry === null) return { code: "AUTH_CREDENTIALS_REQUIRED" };
  return { code: "retry" };
}

/** Where credentials would travel over plain HTTP for this challenge: the registry (Basic) or an http:// realm (Bearer). */
export function plainCredentialTarget(
  challenge: { scheme: string; params: Record<string, string> } | null,
  linkScheme: "http" | "https",
  url: string,
): { url: string; what: string } | null {
  if (challenge?.scheme === "basic" && linkScheme === "http") return { url, what: "the registry" };
  if (challenge?.scheme === "bearer" && /^http:/i.test(challenge.params.realm ?? ""))
    return { url: challenge.params.realm!, what: "the token realm" };
  return null;
}
