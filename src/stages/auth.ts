import { endpointSettings } from "../model/client-settings";
import { finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import type { Secret } from "../model/secret";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { challengeLines, parseChallenges } from "../registry/challenge";
import { formatDiagnostic, parseRegistryErrors } from "../registry/errors";
import { createHttpClient, type HttpClient, type HttpResponse, NetError } from "../registry/http";
import { grants, LEEWAY_SECONDS } from "../registry/jwt";
import { MEDIA } from "../registry/media-types";
import type { RegistrySession } from "../registry/session";
import type { TokenResult } from "../registry/token";
import { type AuthAttempt, applyPlainHttpRule, doneWith, openAttempt, sessionFor, unusableChallenge } from "./auth-attempt";
import { type AuthVerdict, type ChallengeBehaviour, CLASSIC_DOCKER, classifyRegistryAnswer } from "./auth-classify";
import { judgeOpenPing401 } from "./auth-not-sent";
import { behaviourOf } from "./auth-routing";
import { tokenStep } from "./auth-token-step";
import { grantedText, verdictFinding } from "./auth-verdict";
import { eachCredential } from "./config-credentials";

/** Docker's manifest Accept list (vendored docker/distribution ManifestMediaTypes, schema1 no longer registered). */
export const DOCKER_ACCEPT = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex].join(", ");

async function run(ctx: StageContext, fallback: ChallengeBehaviour): Promise<StageOutcome> {
  const a = openAttempt(ctx);
  const unusable = unusableChallenge(a);
  if (unusable) return doneWith(a, unusable);
  applyPlainHttpRule(a);
  const session = sessionFor(a);
  const t = await tokenStep(a, session);
  if (!t.ok) return doneWith(a, t.summary);
  return headStep(a, session, t.token, t.clockProblem, behaviourOf(ctx, fallback));
}

/** What the HEAD of the manifest got back, with the error body a 401 or 403 carries. */
type HeadAnswer =
  | { ok: true; res: HttpResponse; lines: string[]; challengeError: string | null; errors: string[]; errorCodes: string[] }
  | { ok: false; summary: string };

/** 2. The registry's verdict on a HEAD of the manifest, with what Docker would send. */
async function headStep(
  a: AuthAttempt,
  session: RegistrySession,
  token: TokenResult | null,
  clockProblem: string | null,
  behaviour: ChallengeBehaviour,
): Promise<StageOutcome> {
  const { ctx, ref, evidence, scheme } = a;
  const url = `${a.link.baseUrl}/v2/${ref.repository}/manifests/${ref.digest ?? ref.tag ?? "latest"}`;
  const authorization = await session.authorize();
  const client = createHttpClient(endpointSettings(ctx));
  try {
    const h = await headManifest(a, client, url, authorization);
    if (!h.ok) return doneWith(a, h.summary);
    const { res, lines, challengeError, errors } = h;
    evidence.manifestHead = {
      url,
      status: res.status,
      authorizationScheme: authorization ? scheme : null,
      wwwAuthenticate: lines,
      errors,
      digest: res.headers["docker-content-digest"] ?? null,
      durationMs: res.durationMs,
    };
    // /v2/ gave no challenge, so nothing was sent; what the repository's own challenge means depends on the client.
    if (res.status === 401 && scheme === "none") return openPing401(a, behaviour, url, lines);
    const v = classifyRegistryAnswer({
      status: res.status,
      scheme,
      challengeError,
      errorCodes: h.errorCodes,
      credsSent: a.creds && a.sendCredentials,
      authorizationSent: authorization !== null,
      grantsPull: token ? grants(token.jwt?.claims ?? null, ref.repository) : null,
      clockProblem,
    });
    if (v.code) return refused(a, v, { url, status: res.status, challengeError, errors, token, clockProblem });
    warnClockSkew(a, token);
    return {
      summary: `${authorizedHow(a, token, authorization)}; HEAD manifest → ${res.status}${res.status === 404 ? " (authorized; the manifest stage judges existence)" : ""}`,
      evidence,
      findings: a.findings,
      provides: { session, ...(res.status === 200 ? { tagHead: { url, accept: DOCKER_ACCEPT, response: res } } : {}) },
    };
  } finally {
    await client.close();
  }
}

/** /v2/ gave no challenge, so nothing was sent; what the repository's own challenge means depends on the client. */
async function openPing401(a: AuthAttempt, behaviour: ChallengeBehaviour, url: string, lines: string[]): Promise<StageOutcome> {
  const { ctx, evidence } = a;
  const r = await judgeOpenPing401({
    ctx,
    behaviour,
    base: a.base,
    credential: a.cred,
    credentialsConfigured: a.creds,
    url,
    accept: DOCKER_ACCEPT,
    lines,
    evidence,
    pingOpen: !a.ch.unpinged,
  });
  a.findings.push(...r.findings);
  return r.session ? { summary: r.summary, evidence, findings: a.findings, provides: { session: r.session } } : doneWith(a, r.summary);
}

/** The registry refused the HEAD: its verdict as a finding (apart from headStep, which a healthy check runs). */
function refused(
  a: AuthAttempt,
  v: AuthVerdict,
  h: {
    url: string;
    status: number;
    challengeError: string | null;
    errors: string[];
    token: TokenResult | null;
    clockProblem: string | null;
  },
): StageOutcome {
  const { ctx, ref, evidence, scheme } = a;
  const message = [h.challengeError ? `error="${h.challengeError}"` : "", ...h.errors].filter(Boolean).join("; ");
  a.findings.push(
    verdictFinding(v, a.base, {
      message,
      realm: a.chosen?.params.realm ?? null,
      lookupKey: a.cred?.lookupKey ?? ref.registry,
      scheme,
      granted: grantedText(h.token, ref.repository),
      withheld: a.creds && !a.sendCredentials,
      credentialProblem: ctx.facts.local?.credentialProblem ?? null,
      evidence,
      times: {
        local: ctx.deps.now().toISOString(),
        registryDate: a.registryDate,
        tokenServerDate: h.token?.serverDate ?? null,
        problem: h.clockProblem,
      },
    }),
  );
  return doneWith(a, `HEAD ${h.url} → ${h.status}${message ? ` (${message})` : ""}`);
}

/** The HEAD itself; no answer at all is AUTH_NO_RESPONSE. */
async function headManifest(a: AuthAttempt, client: HttpClient, url: string, authorization: Secret | null): Promise<HeadAnswer> {
  let res: HttpResponse;
  try {
    res = await client.request({ method: "HEAD", url, headers: { accept: DOCKER_ACCEPT }, authorization });
  } catch (e) {
    return noHeadAnswer(a, url, e);
  }
  const lines = challengeLines(res.rawHeaders);
  const challengeError = parseChallenges(lines).find((c) => c.scheme === "bearer")?.params.error ?? null;
  // A HEAD has no body: a refusal's error body is read with a GET, as docker and containerd do.
  const { errors, errorCodes } =
    res.status === 401 || res.status === 403 ? await refusalErrors(client, url, authorization) : { errors: [], errorCodes: [] };
  return { ok: true, res, lines, challengeError, errors, errorCodes };
}

// The HEAD's failure and a refusal's error body apart from headManifest, which a healthy check compiles.
function noHeadAnswer(a: AuthAttempt, url: string, e: unknown): HeadAnswer {
  if (!(e instanceof NetError)) throw e;
  a.evidence.manifestHead = { url, error: e.toEvidence() };
  a.findings.push(
    finding(
      "AUTH_NO_RESPONSE",
      { ...a.base, url, kind: e.kind, phase: e.phase, message: e.message, timeoutMs: a.ctx.options.timeoutMs },
      a.evidence,
    ),
  );
  return { ok: false, summary: `HEAD ${url}: ${e.message}` };
}
async function refusalErrors(
  client: HttpClient,
  url: string,
  authorization: Secret | null,
): Promise<{ errors: string[]; errorCodes: string[] }> {
  const g = await client.request({ method: "GET", url, headers: { accept: DOCKER_ACCEPT }, authorization }).catch((e) => {
    if (e instanceof NetError) return null;
    throw e;
  });
  const diags = g ? parseRegistryErrors(g.body, g.headers["content-type"]) : [];
  return { errors: diags.map(formatDiagnostic), errorCodes: diags.map((d) => d.code) };
}

/**
 * Docker dates a cached token from issued_at plus expires_in on this machine's clock: a clock
 * far off the registry's makes long pulls reuse expired tokens (401 mid-pull). Warn only.
 */
function warnClockSkew(a: AuthAttempt, token: TokenResult | null): void {
  const now = a.ctx.deps.now();
  const serverDate = a.registryDate ?? token?.serverDate ?? null;
  const offset = serverDate && !Number.isNaN(Date.parse(serverDate)) ? Math.round((now.getTime() - Date.parse(serverDate)) / 1000) : 0;
  if (!token || Math.abs(offset) <= LEEWAY_SECONDS) return;
  const problem = `this machine's clock is ${Math.abs(offset)} s ${offset > 0 ? "ahead of" : "behind"} the registry's`;
  a.findings.push(
    finding(
      "AUTH_CLOCK_SKEW",
      { ...a.base, problem, localTime: a.ctx.deps.now().toISOString(), registryDate: a.registryDate, tokenServerDate: token.serverDate },
      a.evidence,
      {
        severity: "warning",
        note: "The registry accepts the token now, but cached tokens are timed by this clock: long pulls may reuse expired tokens, and TLS certificate dates are judged by it too.",
      },
    ),
  );
}

/** How the request was authorized, for the summary. */
function authorizedHow(a: AuthAttempt, token: TokenResult | null, authorization: Secret | null): string {
  const user = a.cred?.username;
  // Say whose token it is ("(basic)" read as a scheme, not as "with alice's password").
  const whose = (as: "basic" | "refresh_token" | "anonymous") =>
    as === "anonymous" ? "anonymous" : as === "basic" ? `as ${user ?? "?"}` : `as ${user ?? "?"}, with its identity token`;
  if (a.scheme === "bearer")
    return `token ${token ? `from ${redactUrl(a.chosen!.params.realm!)} (${whose(token.as)})` : "(registrytoken)"}`;
  if (a.scheme === "basic") return authorization ? `Basic as ${user}` : "no credentials";
  return "open registry";
}

/** The auth stage judging as a client with this challenge behaviour (client profiles plug in here). */
export function authStageFor(behaviour: ChallengeBehaviour): Stage {
  return {
    id: "auth",
    title: "Authentication",
    scope: "endpoint",
    needs: ["ref", "link", "challenge", "credential"],
    run: (ctx) => eachCredential(ctx, (c) => run(c, behaviour)),
  };
}

export const authStage: Stage = authStageFor(CLASSIC_DOCKER);
