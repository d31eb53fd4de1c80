/**
 * The rule "a finding never states what its evidence contradicts", for credentials: no finding
 * may say that credentials were sent, rejected or refused unless its own evidence shows an
 * Authorization header carrying them went out (issue 12: "The registry rejects the credentials
 * … as alice" while the evidence showed no Authorization at all).
 *
 * Every report checked by expectValidReport (all e2e runs of the binary), every auth stage run
 * of runAuth and the lab tour go through expectFindingsMatchEvidence.
 */

type Ev = Record<string, any>;
interface FindingLike {
  code: string;
  title: string;
  detail: string;
  evidence: Ev;
}
interface TraceLike {
  events: readonly { kind: string; requestHeaders?: Record<string, unknown> }[];
}

/** The words claim that credentials (an identity) reached the registry or its token service. */
export function claimsCredentialsSent(f: FindingLike): boolean {
  // By definition: AUTH_UNAUTHORIZED = these credentials were rejected; AUTH_DENIED = this identity was sent and refused.
  if (f.code === "AUTH_UNAUTHORIZED" || f.code === "AUTH_DENIED") return true;
  if (f.code === "AUTH_BASIC_OVER_HTTP") return !/not sent/.test(f.detail);
  // "no credentials were sent there" is a negation, not a claim.
  return /rejects? the credentials|to the credentials\b|(?<!\b(?:no|not|never) )credentials (?:were|was) (?:sent|rejected|refused)|refused (?:the|your) credentials/i.test(
    `${f.title}\n${f.detail}`,
  );
}

/** The evidence shows credentials behind an Authorization header: Basic, a token got with them, or a registrytoken. */
export function evidenceShowsCredentialsSent(ev: Ev): boolean {
  const viaCredentials = (x: Ev | null | undefined): boolean => {
    if (!x) return false;
    if (x.authorizationScheme === "basic") return true;
    if (x.authorizationScheme === "bearer" && (ev.credential?.kind === "registrytoken" || (ev.token && ev.token.as !== "anonymous")))
      return true;
    return false;
  };
  if (viaCredentials(ev.manifestHead) || viaCredentials(ev.retry)) return true;
  // Credentials went to the token service (Basic or a refresh token), whatever the registry then said.
  if (ev.token && typeof ev.token.as === "string" && ev.token.as !== "anonymous") return true;
  if (ev.retry?.token && ev.retry.token.as !== "anonymous") return true;
  // The OAuth POST (identity token or password in its form) went out before the GET fallback.
  if (ev.token?.fellBackToGet === true) return true;
  return false;
}

/** Assert the rule over findings; with a trace, also that some request really carried an Authorization header. */
export function expectFindingsMatchEvidence(findings: readonly FindingLike[], trace?: TraceLike): void {
  for (const f of findings) {
    if (!claimsCredentialsSent(f)) continue;
    if (!evidenceShowsCredentialsSent(f.evidence))
      throw new Error(`${f.code} says credentials were sent or rejected, but its evidence shows none were sent: ${f.detail}`);
    if (trace && !trace.events.some((e) => e.kind === "http" && e.requestHeaders && "authorization" in e.requestHeaders))
      throw new Error(`${f.code} says credentials were sent or rejected, but no request in the trace carried an Authorization header`);
  }
}
