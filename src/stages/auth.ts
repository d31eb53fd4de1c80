import { endpointSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { AuthChallenge } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { plainHttpAllowed } from "../net/origin";
import { challengeLines, challengeProblem, isProbedChallenge, parseChallenges } from "../registry/challenge";
import { formatDiagnostic, parseRegistryErrors } from "../registry/errors";
import { createHttpClient, type HttpResponse, NetError } from "../registry/http";
import { checkTokenTimes, grants, LEEWAY_SECONDS } from "../registry/jwt";
import { MEDIA } from "../registry/media-types";
import { RegistrySession } from "../registry/session";
import { TokenError, type TokenResult } from "../registry/token";
import {
  type ChallengeBehaviour,
  CLASSIC_DOCKER,
  classifyRegistryAnswer,
  classifyTokenFailure,
  plainCredentialTarget,
} from "./auth-classify";
import { judgeOpenPing401 } from "./auth-not-sent";
import { realmClientFor, realmEvidence } from "./auth-realm";
import { behaviourOf, credentialEvidence, credentialFor, hasCreds, realmNote, routingEvidence } from "./auth-routing";
import { grantedText, tokenEvidence, verdictFinding } from "./auth-verdict";
import { eachCredential } from "./config-credentials";

/** Docker's manifest Accept list (vendored docker/distribution ManifestMediaTypes, schema1 no longer registered). */
export const DOCKER_ACCEPT = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex].join(", ");

async function run(ctx: StageContext, fallback: ChallengeBehaviour): Promise<StageOutcome> {
  const ref = ctx.facts.ref!;
  const link = ctx.facts.link!;
  const ch = ctx.facts.challenge!;
  const behaviour = behaviourOf(ctx, fallback);
  const routed = credentialFor(ctx, ctx.facts.credential ?? null);
  const cred = routed.credential;
  const base = {
    registry: ref.registry,
    host: new URL(link.baseUrl).host,
    repository: ref.repository,
    image: ref.familiar,
    user: cred?.username ?? null,
    credSource: cred?.source ?? null,
    fixesFor: ctx.facts.client?.wire.fixesFor,
  };
  const raw = isProbedChallenge(ch) ? ch.raw : [];
  const registryDate = isProbedChallenge(ch) ? ch.date : null;
  const v2url = isProbedChallenge(ch) ? ch.url : `${link.baseUrl}/v2/`;
  const evidence: Evidence = {
    challenge: { status: ch.status, scheme: ch.chosen?.scheme ?? null, params: ch.chosen ? { ...ch.chosen.params } : null, raw },
    credential: credentialEvidence(cred),
    ...routingEvidence(routed.evidence, realmNote(ctx, ch.chosen?.params.realm, cred)),
  };
  const findings: Finding[] = [];
  const done = (summary: string): StageOutcome => ({ summary, evidence, findings });

  let chosen: AuthChallenge | null = ch.chosen;
  if (ch.status === 401) {
    const problem = challengeProblem(ch.challenges, chosen);
    if (problem) {
      findings.push(finding("AUTH_CHALLENGE_INVALID", { ...base, url: v2url, problem, raw }, evidence));
      return done(`401 from ${v2url} with no usable challenge: ${problem}`);
    }
  } else if (ch.status === 200) {
    chosen = null;
  }
  const scheme = chosen?.scheme === "bearer" ? "bearer" : chosen?.scheme === "basic" ? "basic" : "none";

  // Credentials never travel over plain HTTP unless the registry is insecure (Docker's rule for sending them at all).
  let sendCredentials = true;
  const creds = hasCreds(cred);
  const plainTarget = plainCredentialTarget(chosen, link.scheme, v2url);
  if (creds && plainTarget) {
    sendCredentials = plainHttpAllowed(plainTarget.url, link.insecure);
    findings.push(
      finding(
        "AUTH_BASIC_OVER_HTTP",
        { ...base, url: redactUrl(plainTarget.url), sent: sendCredentials, what: plainTarget.what },
        evidence,
      ),
    );
  }

  const session = new RegistrySession({
    scheme,
    challenge: chosen,
    credential: cred,
    repository: ref.repository,
    sendCredentials,
    realmClient: scheme === "bearer" ? realmClientFor(ctx, chosen!.params.realm!) : () => createHttpClient(endpointSettings(ctx)),
    now: () => ctx.deps.now(),
  });
  const credsSent = creds && sendCredentials;

  // 1. The token, when the registry uses a token service (and no registrytoken replaces it).
  let token: TokenResult | null = null;
  let clockProblem: string | null = null;
  if (scheme === "bearer" && !(credsSent && cred?.registryToken)) {
    try {
      token = await session.token(session.defaultScope);
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
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
      if (v.code === "AUTH_TOKEN_SERVER_UNREACHABLE" && info.net)
        evidence.realm = await realmEvidence(ctx, chosen!.params.realm!, info.net);
      // An unusable 2xx answer is said once, by the verdict's problem.
      const message = info.net
        ? info.net.message
        : info.diagnostics.length
          ? info.diagnostics.map(formatDiagnostic).join("; ")
          : e.kind === "invalid"
            ? ""
            : e.message;
      findings.push(
        verdictFinding(v, base, {
          message,
          realm: chosen!.params.realm!,
          lookupKey: cred?.lookupKey ?? ref.registry,
          scheme,
          granted: "(no token)",
          withheld: creds && !sendCredentials,
          credentialProblem: ctx.facts.local?.credentialProblem ?? null,
          evidence,
          times: null,
        }),
      );
      return done(
        `token from ${redactUrl(chosen!.params.realm!)} ${info.as === "anonymous" ? "anonymously" : `as ${cred?.username ?? "?"}`}: ${e.message}`,
      );
    }
    evidence.token = tokenEvidence(token);
    // The registry judges nbf/exp by its own clock (its Date header), with 60 s leeway.
    const regNow = registryDate && !Number.isNaN(Date.parse(registryDate)) ? new Date(Date.parse(registryDate)) : ctx.deps.now();
    clockProblem = checkTokenTimes(token.jwt?.claims ?? null, regNow).problem;
    const tsDate = token.serverDate ? Date.parse(token.serverDate) : NaN;
    const regDate = registryDate ? Date.parse(registryDate) : NaN;
    if (!Number.isNaN(tsDate) && !Number.isNaN(regDate) && Math.abs(tsDate - regDate) > LEEWAY_SECONDS * 1000) {
      clockProblem = `${clockProblem ? `${clockProblem}; ` : ""}the token server's clock is ${Math.round((tsDate - regDate) / 1000)} s off the registry's`;
    }
    evidence.clock = { local: ctx.deps.now().toISOString(), registryDate, tokenServerDate: token.serverDate, problem: clockProblem };
  }

  // 2. The registry's verdict on a HEAD of the manifest, with what Docker would send.
  const reference = ref.digest ?? ref.tag ?? "latest";
  const url = `${link.baseUrl}/v2/${ref.repository}/manifests/${reference}`;
  const authorization = await session.authorize();
  const client = createHttpClient(endpointSettings(ctx));
  try {
    let res: HttpResponse;
    try {
      res = await client.request({ method: "HEAD", url, headers: { accept: DOCKER_ACCEPT }, authorization });
    } catch (e) {
      if (!(e instanceof NetError)) throw e;
      evidence.manifestHead = { url, error: e.toEvidence() };
      findings.push(
        finding(
          "AUTH_NO_RESPONSE",
          { ...base, url, kind: e.kind, phase: e.phase, message: e.message, timeoutMs: ctx.options.timeoutMs },
          evidence,
        ),
      );
      return done(`HEAD ${url}: ${e.message}`);
    }
    const lines = challengeLines(res.rawHeaders);
    const challengeError = parseChallenges(lines).find((c) => c.scheme === "bearer")?.params.error ?? null;
    let errors: string[] = [];
    let errorCodes: string[] = [];
    if (res.status === 401 || res.status === 403) {
      // A HEAD has no body: read the error body with a GET, as docker and containerd do.
      const g = await client.request({ method: "GET", url, headers: { accept: DOCKER_ACCEPT }, authorization }).catch((e) => {
        if (e instanceof NetError) return null;
        throw e;
      });
      const diags = g ? parseRegistryErrors(g.body, g.headers["content-type"]) : [];
      errors = diags.map(formatDiagnostic);
      errorCodes = diags.map((d) => d.code);
    }
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
    if (res.status === 401 && scheme === "none") {
      const r = await judgeOpenPing401({
        ctx,
        behaviour,
        base,
        credential: cred,
        credentialsConfigured: creds,
        url,
        accept: DOCKER_ACCEPT,
        lines,
        evidence,
        pingOpen: !ch.unpinged,
      });
      findings.push(...r.findings);
      return r.session ? { summary: r.summary, evidence, findings, provides: { session: r.session } } : done(r.summary);
    }
    const grantsPull = token ? grants(token.jwt?.claims ?? null, ref.repository) : null;
    const v = classifyRegistryAnswer({
      status: res.status,
      scheme,
      challengeError,
      errorCodes,
      credsSent,
      authorizationSent: authorization !== null,
      grantsPull,
      clockProblem,
    });
    if (v.code) {
      const message = [challengeError ? `error="${challengeError}"` : "", ...errors].filter(Boolean).join("; ");
      findings.push(
        verdictFinding(v, base, {
          message,
          realm: chosen?.params.realm ?? null,
          lookupKey: cred?.lookupKey ?? ref.registry,
          scheme,
          granted: grantedText(token, ref.repository),
          withheld: creds && !sendCredentials,
          credentialProblem: ctx.facts.local?.credentialProblem ?? null,
          evidence,
          times: { local: ctx.deps.now().toISOString(), registryDate, tokenServerDate: token?.serverDate ?? null, problem: clockProblem },
        }),
      );
      return done(`HEAD ${url} → ${res.status}${message ? ` (${message})` : ""}`);
    }
    // Docker dates a cached token from issued_at plus expires_in on this machine's clock: a clock
    // far off the registry's makes long pulls reuse expired tokens (401 mid-pull). Warn only.
    const serverDate = registryDate ?? token?.serverDate ?? null;
    const offset =
      serverDate && !Number.isNaN(Date.parse(serverDate)) ? Math.round((ctx.deps.now().getTime() - Date.parse(serverDate)) / 1000) : 0;
    if (token && Math.abs(offset) > LEEWAY_SECONDS) {
      const problem = `this machine's clock is ${Math.abs(offset)} s ${offset > 0 ? "ahead of" : "behind"} the registry's`;
      findings.push(
        finding(
          "AUTH_CLOCK_SKEW",
          { ...base, problem, localTime: ctx.deps.now().toISOString(), registryDate, tokenServerDate: token.serverDate },
          evidence,
          {
            severity: "warning",
            note: "The registry accepts the token now, but cached tokens are timed by this clock: long pulls may reuse expired tokens, and TLS certificate dates are judged by it too.",
          },
        ),
      );
    }
    // Say whose token it is ("(basic)" read as a scheme, not as "with alice's password").
    const whose = (as: "basic" | "refresh_token" | "anonymous") =>
      as === "anonymous"
        ? "anonymous"
        : as === "basic"
          ? `as ${cred?.username ?? "?"}`
          : `as ${cred?.username ?? "?"}, with its identity token`;
    const how =
      scheme === "bearer"
        ? `token ${token ? `from ${redactUrl(chosen!.params.realm!)} (${whose(token.as)})` : "(registrytoken)"}`
        : scheme === "basic"
          ? authorization
            ? `Basic as ${cred?.username}`
            : "no credentials"
          : "open registry";
    return {
      summary: `${how}; HEAD manifest → ${res.status}${res.status === 404 ? " (authorized; the manifest stage judges existence)" : ""}`,
      evidence,
      findings,
      provides: { session },
    };
  } finally {
    await client.close();
  }
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
