import type { AuthBase } from "../model/catalogue/auth-base";
import type { NotSentRetry } from "../model/catalogue/auth-not-sent";
import { endpointSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { Credential } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import type { StageContext } from "../model/stage";
import { challengeLines, challengeProblem, chooseChallenge, parseChallenges } from "../registry/challenge";
import { formatDiagnostic } from "../registry/errors";
import { createHttpClient, NetError } from "../registry/http";
import { RegistrySession } from "../registry/session";
import { TokenError } from "../registry/token";
import {
  type AuthVerdict,
  type ChallengeBehaviour,
  classifyRegistryAnswer,
  classifyTokenFailure,
  judgeNotSent,
  plainCredentialTarget,
  type RetryOutcome,
} from "./auth-classify";
import { realmClientFor } from "./auth-realm";
import { verdictFinding } from "./auth-verdict";

export interface OpenPingInput {
  ctx: StageContext;
  behaviour: ChallengeBehaviour;
  base: AuthBase;
  credential: Credential | null;
  credentialsConfigured: boolean;
  /** The manifest URL whose HEAD (sent without Authorization) answered 401. */
  url: string;
  accept: string;
  /** That 401's WWW-Authenticate lines. */
  lines: string[];
  evidence: Evidence;
  /** /v2/ answered without a challenge (false: the client sent no ping; the 401 is its normal first round). */
  pingOpen?: boolean;
}

export interface OpenPingResult {
  findings: Finding[];
  summary: string;
  /** Set when the judged client pulls (it retries the 401 and the retry was accepted). */
  session: RegistrySession | null;
}

/**
 * /v2/ answered without a challenge and the repository answered 401 with one. Classic Docker
 * and podman sent nothing and never will; containerd re-sends with that challenge. The doctor
 * re-sends once as containerd does, so the finding can say what each client meets, and states
 * only what its evidence shows (no "credentials rejected" when none were sent).
 */
export async function judgeOpenPing401(x: OpenPingInput): Promise<OpenPingResult> {
  const { ctx, base, evidence } = x;
  const challenges = parseChallenges(x.lines);
  const chosen = chooseChallenge(challenges);
  const problem = challengeProblem(challenges, chosen);
  if (problem || !chosen) {
    // No client can answer this 401: there is nothing to learn from it.
    const f = finding("AUTH_CHALLENGE_INVALID", { ...base, url: x.url, problem: problem ?? "no challenge", raw: x.lines }, evidence);
    return { findings: [f], summary: `HEAD ${x.url} → 401 with no usable challenge: ${problem ?? "no challenge"}`, session: null };
  }
  const scheme = chosen.scheme === "bearer" ? "bearer" : "basic";
  const link = ctx.facts.link!;
  const plain = plainCredentialTarget(chosen, link.scheme, x.url);
  const sendCredentials = !plain || link.insecure;
  const session = new RegistrySession({
    scheme,
    challenge: chosen,
    credential: x.credential,
    repository: base.repository,
    sendCredentials,
    realmClient: scheme === "bearer" ? realmClientFor(ctx, chosen.params.realm!) : () => createHttpClient(endpointSettings(ctx)),
    now: () => ctx.deps.now(),
  });
  const retried = await retryWith(session, chosen.params.realm ?? "", x);
  const verdict = judgeNotSent(x.behaviour, x.credentialsConfigured, retried.outcome);
  const findings: Finding[] = [];
  // The retry sends credentials over plain HTTP only for a client that retries at all.
  if (x.behaviour.sendsOn401 && plain && x.credentialsConfigured)
    findings.push(
      finding("AUTH_BASIC_OVER_HTTP", { ...base, url: redactUrl(plain.url), sent: sendCredentials, what: plain.what }, evidence),
    );
  const summary = `/v2/ open; HEAD ${x.url} → 401 ${scheme} challenge, no Authorization sent${retried.retry ? `; re-sent with it → ${retried.retry.status ?? retried.retry.message}` : ""}`;
  // A client without a ping meets every challenge on the manifest: retrying it is its normal path, nothing to say.
  if (verdict.code === "AUTH_NOT_SENT" && verdict.severity === "info" && x.pingOpen === false)
    return {
      findings,
      summary: `no /v2/ ping; HEAD ${x.url} → 401 ${scheme} challenge; re-sent with it → ${retried.retry?.status}`,
      session,
    };
  if (verdict.code === "AUTH_NOT_SENT") {
    const params = {
      ...base,
      url: x.url,
      scheme,
      client: x.behaviour.client,
      sendsOn401: x.behaviour.sendsOn401,
      retry: retried.retry,
    } as const;
    findings.push(finding("AUTH_NOT_SENT", params, evidence, { severity: verdict.severity }));
    return { findings, summary, session: verdict.severity === "info" ? session : null };
  }
  if (verdict.code === "retry" && retried.net) {
    const e = retried.net;
    const p = { ...base, url: x.url, kind: e.kind, phase: e.phase, message: e.message, timeoutMs: ctx.options.timeoutMs };
    findings.push(finding("AUTH_NO_RESPONSE", p, evidence));
    return { findings, summary, session: null };
  }
  const v: AuthVerdict =
    verdict.code === "retry" && retried.verdict?.code
      ? retried.verdict
      : { code: "AUTH_CREDENTIALS_REQUIRED", status: 401, where: "registry" };
  findings.push(
    verdictFinding(v, base, {
      message: retried.retry?.message ?? "",
      realm: chosen.params.realm ?? null,
      lookupKey: x.credential?.lookupKey ?? base.registry,
      scheme,
      granted: "(not read)",
      withheld: x.credentialsConfigured && !sendCredentials,
      credentialProblem: ctx.facts.local?.credentialProblem ?? null,
      // "/v2/ asked for no credentials" holds only when the ping answered; a client without one just met the 401.
      ...(x.pingOpen === false ? {} : { where: "repository" as const }),
      evidence,
      times: null,
    }),
  );
  return { findings, summary, session: null };
}

/** One re-send of the HEAD with the repository's challenge, as containerd's resolver does after a 401. */
async function retryWith(
  session: RegistrySession,
  realm: string,
  x: OpenPingInput,
): Promise<{ outcome: RetryOutcome; retry: NotSentRetry | null; verdict: AuthVerdict | null; net?: NetError }> {
  const cred = x.credential;
  let authorization: Awaited<ReturnType<RegistrySession["authorize"]>>;
  try {
    authorization = await session.authorize();
  } catch (e) {
    if (!(e instanceof TokenError)) throw e;
    const info = e.info;
    const message = info.net ? info.net.message : info.diagnostics.length ? info.diagnostics.map(formatDiagnostic).join("; ") : e.message;
    x.evidence.retry = {
      url: x.url,
      authorizationScheme: null,
      token: { url: info.url, as: info.as, status: info.status, error: message },
    };
    const sent = `a token from ${redactUrl(realm)} (${info.as === "anonymous" ? "anonymous" : `as ${cred?.username ?? "?"}`})`;
    return {
      outcome: "failed",
      retry: { outcome: "failed", sent, status: info.status, message: `no token: ${message}` },
      verdict: classifyTokenFailure({ kind: e.kind, status: info.status, as: info.as, invalid: info.invalid }),
    };
  }
  if (authorization === null) {
    x.evidence.retry = null;
    return { outcome: null, retry: null, verdict: null };
  }
  const token = session.fetched[session.fetched.length - 1];
  const sent =
    session.scheme === "basic"
      ? `Basic as ${cred?.username ?? "?"}`
      : `a token from ${redactUrl(realm)} (${token?.as === "anonymous" || !token ? "anonymous" : `as ${cred?.username ?? "?"}`})`;
  const client = createHttpClient(endpointSettings(x.ctx));
  try {
    const res = await client.request({ method: "HEAD", url: x.url, headers: { accept: x.accept }, authorization });
    const lines = challengeLines(res.rawHeaders);
    const challengeError = parseChallenges(lines).find((c) => c.scheme === "bearer")?.params.error ?? null;
    x.evidence.retry = { url: x.url, authorizationScheme: session.scheme, status: res.status, wwwAuthenticate: lines };
    const refused = res.status === 401 || res.status === 403;
    const message = challengeError ? `error="${challengeError}"` : "";
    const verdict = classifyRegistryAnswer({
      status: res.status,
      scheme: session.scheme,
      challengeError,
      errorCodes: [],
      credsSent: session.scheme === "basic" || token?.as !== "anonymous",
      authorizationSent: true,
      grantsPull: null,
      clockProblem: null,
    });
    return {
      outcome: refused ? "refused" : "accepted",
      retry: { outcome: refused ? "refused" : "accepted", sent, status: res.status, message },
      verdict,
    };
  } catch (e) {
    if (!(e instanceof NetError)) throw e;
    x.evidence.retry = { url: x.url, authorizationScheme: session.scheme, error: e.toEvidence() };
    return { outcome: "failed", retry: { outcome: "failed", sent, status: null, message: e.message }, verdict: null, net: e };
  } finally {
    await client.close();
  }
}
