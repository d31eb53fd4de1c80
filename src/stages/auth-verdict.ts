import type { AuthBase } from "../model/catalogue/auth-base";
import type { Evidence } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import { escapeControls } from "../registry/http-util";
import { claimsEvidence } from "../registry/jwt";
import type { TokenResult } from "../registry/token";
import type { AuthVerdict } from "./auth-classify";

/** The finding for an auth verdict, with the words' facts (the catalogue writes the words). */
export function verdictFinding(
  v: AuthVerdict,
  base: AuthBase,
  x: {
    message: string;
    realm: string | null;
    lookupKey: string;
    scheme: string;
    granted: string;
    withheld?: boolean;
    credentialProblem?: string | null;
    /** Overrides the verdict's `where` (a repository 401 behind an open /v2/). */
    where?: "repository";
    evidence: Evidence;
    times: { local: string; registryDate: string | null; tokenServerDate: string | null; problem: string | null } | null;
  },
): Finding {
  const ev = x.evidence;
  switch (v.code) {
    case "AUTH_UNAUTHORIZED":
      return finding("AUTH_UNAUTHORIZED", { ...base, where: v.where, status: v.status, message: x.message }, ev);
    case "AUTH_DENIED":
      return finding(
        "AUTH_DENIED",
        { ...base, status: v.status, message: x.message, granted: x.granted, isHub: base.registry === "docker.io" },
        ev,
      );
    case "AUTH_CREDENTIALS_REQUIRED":
      return finding(
        "AUTH_CREDENTIALS_REQUIRED",
        {
          ...base,
          scheme: x.scheme,
          status: v.status,
          lookupKey: x.lookupKey,
          unreadable: Boolean(x.credentialProblem) && !x.withheld,
          where: x.where ?? v.where,
          scope: v.scope ?? false,
        },
        x.credentialProblem ? { ...ev, credentialProblem: x.credentialProblem } : ev,
        x.withheld
          ? {
              note: "Credentials are configured but were withheld: they would travel over plain HTTP to a registry that is not insecure by configuration.",
            }
          : x.credentialProblem
            ? { note: `Why: ${x.credentialProblem} Fix that first (the config stage's finding says how).` }
            : {},
      );
    case "AUTH_TOKEN_SERVER_UNREACHABLE": {
      const realm = x.realm ?? "";
      const kind = (ev.realm as { error?: { kind?: string } } | undefined)?.error?.kind ?? null;
      return finding(
        "AUTH_TOKEN_SERVER_UNREACHABLE",
        { ...base, realm: redactUrl(realm), realmHost: realm ? new URL(realm).host : "", status: v.status, message: x.message, kind },
        ev,
      );
    }
    case "AUTH_TOKEN_INVALID":
      return finding(
        "AUTH_TOKEN_INVALID",
        { ...base, realm: x.realm ? redactUrl(x.realm) : null, problem: `${v.problem}${x.message ? ` (${x.message})` : ""}` },
        ev,
      );
    case "AUTH_CLOCK_SKEW":
      return finding(
        "AUTH_CLOCK_SKEW",
        {
          ...base,
          problem: x.times?.problem ?? "token times outside the registry's clock",
          localTime: x.times?.local ?? "",
          registryDate: x.times?.registryDate ?? null,
          tokenServerDate: x.times?.tokenServerDate ?? null,
        },
        ev,
      );
    default:
      throw new Error(`no finding for verdict ${JSON.stringify(v)}`);
  }
}

/** A token answer as evidence (never the token itself). */
export function tokenEvidence(t: TokenResult): Evidence {
  return {
    url: t.url,
    method: t.method,
    as: t.as,
    status: t.status,
    expiresIn: t.expiresIn,
    // The token server's own words: shown, control characters escaped.
    issuedAt: t.issuedAt === null ? null : escapeControls(t.issuedAt),
    serverDate: t.serverDate,
    durationMs: t.durationMs,
    fellBackToGet: t.fellBackToGet,
    jwt: claimsEvidence(t.jwt),
  };
}

/** What the token grants on this repository, for AUTH_DENIED. */
export const grantedText = (t: TokenResult | null, repo: string): string => {
  const acc = t?.jwt?.claims.access;
  if (!acc) return t ? "(opaque token)" : "(no token)";
  const mine = acc.filter((a) => a.name === repo);
  return mine.length ? mine.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).join(" ") : "nothing for this repository";
};
