import { redactUrl } from "../model/redact";
import { formatDiagnostic } from "../registry/errors";
import { checkTokenTimes, LEEWAY_SECONDS } from "../registry/jwt";
import type { RegistrySession } from "../registry/session";
import { TokenError, type TokenResult } from "../registry/token";
import type { AuthAttempt } from "./auth-attempt";
import { classifyTokenFailure } from "./auth-classify";
import { realmEvidence } from "./auth-realm";
import { tokenEvidence, verdictFinding } from "./auth-verdict";

/** The token step's answer: a token and what its times say, or the summary of the finding that ends the stage. */
export type TokenStep = { ok: true; token: TokenResult | null; clockProblem: string | null } | { ok: false; summary: string };

/** 1. The token, when the registry uses a token service (and no registrytoken replaces it). */
export async function tokenStep(a: AuthAttempt, session: RegistrySession): Promise<TokenStep> {
  if (a.scheme !== "bearer" || (a.creds && a.sendCredentials && a.cred?.registryToken))
    return { ok: true, token: null, clockProblem: null };
  let token: TokenResult;
  try {
    token = await session.token(session.defaultScope);
  } catch (e) {
    if (!(e instanceof TokenError)) throw e;
    return { ok: false, summary: await tokenFailure(a, e) };
  }
  a.evidence.token = tokenEvidence(token);
  const clockProblem = tokenClockProblem(a, token);
  a.evidence.clock = {
    local: a.ctx.deps.now().toISOString(),
    registryDate: a.registryDate,
    tokenServerDate: token.serverDate,
    problem: clockProblem,
  };
  return { ok: true, token, clockProblem };
}

/** The finding of a token request that failed, with its evidence; returns the stage's summary. */
async function tokenFailure(a: AuthAttempt, e: TokenError): Promise<string> {
  const { ctx, evidence, cred, ref } = a;
  const realm = a.chosen!.params.realm!;
  const info = e.info;
  evidence.token = {
    url: info.url,
    method: info.method,
    as: info.as,
    status: info.status,
    contentType: info.contentType,
    serverDate: info.serverDate,
    errors: info.diagnostics.map(formatDiagnostic),
    invalid: info.invalid ?? null,
    bodyPreview: info.bodyPreview ?? null,
  };
  const v = classifyTokenFailure({ kind: e.kind, status: info.status, as: info.as, invalid: info.invalid });
  if (v.code === "AUTH_TOKEN_SERVER_UNREACHABLE" && info.net) evidence.realm = await realmEvidence(ctx, realm, info.net);
  // An unusable 2xx answer is said once, by the verdict's problem.
  const message = info.net
    ? info.net.message
    : info.diagnostics.length
      ? info.diagnostics.map(formatDiagnostic).join("; ")
      : e.kind === "invalid"
        ? ""
        : e.message;
  a.findings.push(
    verdictFinding(v, a.base, {
      message,
      realm,
      lookupKey: cred?.lookupKey ?? ref.registry,
      scheme: a.scheme,
      granted: "(no token)",
      withheld: a.creds && !a.sendCredentials,
      credentialProblem: ctx.facts.local?.credentialProblem ?? null,
      evidence,
      times: null,
    }),
  );
  return `token from ${redactUrl(realm)} ${info.as === "anonymous" ? "anonymously" : `as ${cred?.username ?? "?"}`}: ${e.message}`;
}

/** The registry judges nbf/exp by its own clock (its Date header), with 60 s leeway. */
function tokenClockProblem(a: AuthAttempt, token: TokenResult): string | null {
  const { registryDate } = a;
  const regNow = registryDate && !Number.isNaN(Date.parse(registryDate)) ? new Date(Date.parse(registryDate)) : a.ctx.deps.now();
  let clockProblem = checkTokenTimes(token.jwt?.claims ?? null, regNow).problem;
  const tsDate = token.serverDate ? Date.parse(token.serverDate) : NaN;
  const regDate = registryDate ? Date.parse(registryDate) : NaN;
  if (!Number.isNaN(tsDate) && !Number.isNaN(regDate) && Math.abs(tsDate - regDate) > LEEWAY_SECONDS * 1000) {
    clockProblem = `${clockProblem ? `${clockProblem}; ` : ""}the token server's clock is ${Math.round((tsDate - regDate) / 1000)} s off the registry's`;
  }
  return clockProblem;
}
