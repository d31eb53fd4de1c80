import type { ClientProfile, CredentialSource } from "../clients/profile";
import { authLookupKey } from "../host/credentials";
import type { LoadedConfig } from "../host/docker-config";
import type { Json } from "../model/evidence";
import type { ClientWire, Credential, JudgedClient } from "../model/facts";
import type { Finding } from "../model/finding";
import type { StageContext } from "../model/stage";
import { type ClientCredentials, clientCredentials } from "./config-credentials";
import { configUnreadable } from "./config-findings";

/** Findings that mean credentials may exist but could not be read (a later 401 is not "none configured"). */
const UNREAD = new Set(["CREDS_HELPER_MISSING", "CREDS_HELPER_FAILED", "CONFIG_UNREADABLE", "CREDS_PROVIDER_FAILED"]);

/** One client's credential-lookup findings: its source's own, and config.json unreadable when that is what it reads. */
export function lookupFindings(creds: ClientCredentials, source: CredentialSource, loaded: LoadedConfig): Finding[] {
  const findings = [...creds.findings];
  // config.json is what the docker CLI reads; other clients' files are judged by their own findings.
  if (loaded.problem && source.kind === "docker-config") findings.unshift(configUnreadable(loaded, creds.credentials[0] ?? null));
  return findings;
}

/** Why credentials that may exist were not read, for the auth stage's 401 (null when a credential was found). */
export function credentialProblemOf(credential: Credential | null, findings: Finding[]): string | null {
  const unread = credential ? undefined : findings.find((f) => UNREAD.has(f.code));
  return unread ? `${unread.code}: ${unread.detail}` : null;
}

/** A podman short-name candidate's credentials, looked up for its own registry (containers/image per image). */
export async function candidatesCredentials(
  ctx: StageContext,
  wire: ClientWire,
  source: CredentialSource,
  loaded: LoadedConfig,
): Promise<Record<string, Credential[]> | undefined> {
  let out: Record<string, Credential[]> | undefined;
  for (const h of wire.hosts ?? []) {
    if (!h.ref || out?.[h.ref.canonical]) continue;
    const own = { ...ctx, facts: { ...ctx.facts, ref: h.ref } };
    const got = await clientCredentials(own, source, loaded, authLookupKey(h.ref.registry));
    out = { ...out, [h.ref.canonical]: got.credentials };
  }
  return out;
}

/**
 * --client all: every client's own credentials (its profile's source), its short-name candidates'
 * credentials and its credential-lookup findings, each finding labelled with the clients it concerns
 * (one line when several clients read the same file the same way, as Docker's two stores do). A
 * lookup error stops that client as its other config errors do (docker/cli fails the pull when its
 * credential helper fails).
 */
export async function everyClientsCredentials(
  ctx: StageContext,
  all: NonNullable<JudgedClient["all"]>,
  profiles: ClientProfile[],
  loaded: LoadedConfig,
  lookupKey: string,
  first: ClientCredentials,
): Promise<{ findings: Finding[]; lookups: Json[] }> {
  const byKey = new Map<string, { f: Finding; labels: string[] }>();
  const lookups: Json[] = [];
  for (const [i, x] of all.entries()) {
    const source = profiles[i]!.credentials.source;
    const creds = i === 0 ? first : await clientCredentials(ctx, source, loaded, lookupKey);
    const findings = lookupFindings(creds, source, loaded);
    x.credentials = creds.credentials;
    x.credentialProblem = credentialProblemOf(creds.credentials[0] ?? null, findings);
    x.code ??= findings.find((f) => f.severity === "error")?.code ?? null;
    const stops = findings.find((f) => f.severity === "error");
    lookups.push(lookupEvidence(creds, x.credentialProblem ?? (stops ? `${stops.code}: ${stops.detail}` : null)));
    const candidates = await candidatesCredentials(ctx, x.wire, source, loaded);
    if (candidates) x.candidateCredentials = candidates;
    for (const f of findings) {
      const key = `${f.code}\0${f.severity}\0${f.detail}`;
      const known = byKey.get(key);
      if (known) known.labels.push(x.label);
      else byKey.set(key, { f, labels: [x.label] });
    }
  }
  const findings = [...byKey.values()].map(({ f, labels }) => ({ ...f, detail: `[${labels.join(", ")}] ${f.detail}` }));
  return { findings, lookups };
}

/** One client's lookup for the config evidence: where its first credential comes from (no secret), or why none. */
function lookupEvidence(creds: ClientCredentials, problem: string | null): Json {
  const c = creds.credentials[0];
  return {
    found: c ? c.source : null,
    username: c?.username ?? null,
    matching: creds.credentials.length,
    ...(creds.summary ? { summary: creds.summary } : {}),
    problem,
  };
}

/** Whether a config finding of --client all concerns this client: unlabelled, or its label among those it starts with. */
export function concernsClient(f: Finding, label: string): boolean {
  if (f.stage !== "config" || !f.detail.startsWith("[")) return true;
  const head = f.detail.slice(1, f.detail.indexOf("] "));
  return `, ${head}, `.includes(`, ${label}, `);
}
