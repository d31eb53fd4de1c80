import type { AuthBase } from "../model/catalogue/auth-base";
import { endpointSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { AuthChallenge, Challenge, Credential, ImageRef, LinkInfo } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import type { StageContext, StageOutcome } from "../model/stage";
import { plainHttpAllowed } from "../net/origin";
import { challengeProblem, isProbedChallenge } from "../registry/challenge";
import { createHttpClient } from "../registry/http";
import { RegistrySession } from "../registry/session";
import { plainCredentialTarget } from "./auth-classify";
import { realmClientFor } from "./auth-realm";
import { credentialEvidence, credentialFor, hasCreds, realmNote, routingEvidence } from "./auth-routing";

/** What the auth stage knows before it asks anything: the facts each step reads, and the evidence and findings they add to. */
export interface AuthAttempt {
  ctx: StageContext;
  ref: ImageRef;
  link: LinkInfo;
  ch: Challenge;
  base: AuthBase;
  cred: Credential | null;
  /** Credentials are configured for this endpoint. */
  creds: boolean;
  /** Docker's rule for sending them at all (false: plain HTTP to a registry it does not treat as insecure). */
  sendCredentials: boolean;
  /** The challenge answered (null: /v2/ was open). */
  chosen: AuthChallenge | null;
  scheme: "bearer" | "basic" | "none";
  raw: string[];
  registryDate: string | null;
  v2url: string;
  evidence: Evidence;
  findings: Finding[];
}

export function openAttempt(ctx: StageContext): AuthAttempt {
  const ref = ctx.facts.ref!;
  const link = ctx.facts.link!;
  const ch = ctx.facts.challenge!;
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
  const evidence: Evidence = {
    challenge: { status: ch.status, scheme: ch.chosen?.scheme ?? null, params: ch.chosen ? { ...ch.chosen.params } : null, raw },
    credential: credentialEvidence(cred),
    ...routingEvidence(routed.evidence, realmNote(ctx, ch.chosen?.params.realm, cred)),
  };
  const chosen = ch.status === 200 ? null : ch.chosen;
  return {
    ctx,
    ref,
    link,
    ch,
    base,
    cred,
    creds: hasCreds(cred),
    sendCredentials: true,
    chosen,
    scheme: chosen?.scheme === "bearer" ? "bearer" : chosen?.scheme === "basic" ? "basic" : "none",
    raw,
    registryDate: isProbedChallenge(ch) ? ch.date : null,
    v2url: isProbedChallenge(ch) ? ch.url : `${link.baseUrl}/v2/`,
    evidence,
    findings: [],
  };
}

/** The outcome so far, with this summary. */
export const doneWith = (a: AuthAttempt, summary: string): StageOutcome => ({ summary, evidence: a.evidence, findings: a.findings });

/** A 401 whose challenge cannot be used ends the stage: the summary says why; null when it can be used. */
export function unusableChallenge(a: AuthAttempt): string | null {
  if (a.ch.status !== 401) return null;
  const problem = challengeProblem(a.ch.challenges, a.ch.chosen);
  if (!problem) return null;
  a.findings.push(finding("AUTH_CHALLENGE_INVALID", { ...a.base, url: a.v2url, problem, raw: a.raw }, a.evidence));
  return `401 from ${a.v2url} with no usable challenge: ${problem}`;
}

/** Credentials never travel over plain HTTP unless the registry is insecure (Docker's rule for sending them at all). */
export function applyPlainHttpRule(a: AuthAttempt): void {
  const plainTarget = plainCredentialTarget(a.chosen, a.link.scheme, a.v2url);
  if (!a.creds || !plainTarget) return;
  a.sendCredentials = plainHttpAllowed(plainTarget.url, a.link.insecure);
  a.findings.push(
    finding(
      "AUTH_BASIC_OVER_HTTP",
      { ...a.base, url: redactUrl(plainTarget.url), sent: a.sendCredentials, what: plainTarget.what },
      a.evidence,
    ),
  );
}

export function sessionFor(a: AuthAttempt): RegistrySession {
  const { ctx } = a;
  return new RegistrySession({
    scheme: a.scheme,
    challenge: a.chosen,
    credential: a.cred,
    repository: a.ref.repository,
    sendCredentials: a.sendCredentials,
    realmClient: a.scheme === "bearer" ? realmClientFor(ctx, a.chosen!.params.realm!) : () => createHttpClient(endpointSettings(ctx)),
    now: () => ctx.deps.now(),
  });
}
