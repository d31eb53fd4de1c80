import { keyringCredentials } from "../clients/keyring-credentials";
import type { ClientHost, CredentialSource } from "../clients/profile";
import type { ContainersAuth } from "../host/auth-json";
import { containersCredentials } from "../host/containers-credentials";
import { HELPER_PREFIX, type HelperOptions } from "../host/cred-helper";
import { type AuthResolution, convertToHostname, resolveAuthConfig } from "../host/credentials";
import type { LoadedConfig } from "../host/docker-config";
import type { Json } from "../model/evidence";
import type { Credential } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { rememberSecret, Secret } from "../model/secret";
import type { StageContext, StageOutcome } from "../model/stage";
import { type CredentialReach, endpointGetsCredentials, loginHost } from "../net/origin";
import { credentialFindings, envUnusable } from "./config-findings";

/** The credentials the judged client would use, in the order it tries them, and what was read to find them. */
export interface ClientCredentials {
  credentials: Credential[];
  /** docker-config only: docker/cli's lookup (for the config stage's evidence and findings). */
  resolution: AuthResolution | null;
  findings: Finding[];
  /** Replaces the docker-config evidence for other sources. */
  evidence: Json | null;
  /** The credentials part of the stage summary, for other sources. */
  summary: string | null;
}

/**
 * The config stage asks the judged client's profile where credentials come from (data, never the
 * client's name): --username/--password-stdin are the caller's credentials for every client.
 */
export async function clientCredentials(
  ctx: StageContext,
  source: CredentialSource,
  loaded: LoadedConfig,
  lookupKey: string,
): Promise<ClientCredentials> {
  const { options, deps } = ctx;
  const ref = ctx.facts.ref!;
  if (options.username !== null && options.password !== null)
    return { ...none(), credentials: [{ source: "--username", lookupKey, username: options.username, password: options.password }] };
  const helperOpts = { env: deps.env, timeoutMs: options.timeoutMs, signal: deps.signal };
  // Each source its own function: a check compiles only the judged client's.
  switch (source.kind) {
    case "docker-config":
      return dockerConfigCredentials(ctx, loaded, lookupKey);
    case "caller":
      return callerCredentials(loaded, lookupKey);
    case "auth-files":
      return authFilesCredentials(source, `${ref.registry}/${ref.repository}`, ref.registry, helperOpts);
    case "keyring":
      return keyringCredentialsOf(source, `${ref.registry}/${ref.repository}`, helperOpts);
  }
}

const none = (): ClientCredentials => ({ credentials: [], resolution: null, findings: [], evidence: null, summary: null });

/** ctr reads no stored credentials: say when config.json holds some it will not use. */
function callerCredentials(loaded: LoadedConfig, lookupKey: string): ClientCredentials {
  const unused = [...loaded.file.auths.keys(), ...loaded.file.credHelpers.keys()].filter(
    (k) => k === lookupKey || convertToHostname(k) === lookupKey,
  );
  const summary = unused.length
    ? `no credentials: ctr uses only --user (pass --username/--password-stdin); ${loaded.path} has ${unused.join(", ")}, which ctr does not read (nerdctl would)`
    : "no credentials: ctr uses only --user (pass --username/--password-stdin); anonymous pull";
  return { ...none(), summary, evidence: { source: "the caller's (ctr --user)", configJsonUnused: unused, configPath: loaded.path } };
}

/** podman, skopeo, CRI-O: containers-auth.json files and their credential helpers. */
async function authFilesCredentials(
  source: Extract<CredentialSource, { kind: "auth-files" }>,
  repo: string,
  registry: string,
  helperOpts: HelperOptions,
): Promise<ClientCredentials> {
  const a = await containersCredentials(source.helpers, source.helpersSource, source.files, repo, registry, helperOpts);
  const f = a.found;
  const credentials: Credential[] = f
    ? [
        {
          source: f.helper ? `${f.key} in ${f.file} → ${HELPER_PREFIX}${f.helper}` : `auths[${f.key}] in ${f.file}`,
          lookupKey: f.key,
          ...(f.username ? { username: f.username } : {}),
          ...(f.password ? { password: secretOf(f.username, f.password) } : {}),
          ...(f.identityToken ? { identityToken: new Secret(f.identityToken) } : {}),
        },
      ]
    : [];
  const findings = authFileFindings(a);
  const evidence = {
    searched: a.looked,
    found: f ? { file: f.file, key: f.key, username: f.username || null } : null,
    helperRuns: a.helperRuns.map((h) => ({ ...h })),
  };
  const summary = credentials[0]
    ? `credentials from ${credentials[0].source}${f?.username ? ` (user ${f.username})` : ""}`
    : a.problems[0]
      ? `the credential lookup ends with an error at ${a.problems[0].file}: skopeo and podman stop before any request`
      : `no auth file has credentials for ${repo}: anonymous pull`;
  return { ...none(), credentials, findings, evidence, summary };
}

/** The kubelet's credential keyring. */
async function keyringCredentialsOf(
  source: Extract<CredentialSource, { kind: "keyring" }>,
  repo: string,
  helperOpts: HelperOptions,
): Promise<ClientCredentials> {
  const k = await keyringCredentials(source, repo, helperOpts);
  const credentials = k.ordered.map((e) => ({
    source: `${e.file} auths[${e.key}]`,
    lookupKey: e.key,
    username: e.username,
    ...(e.password ? { password: secretOf(e.username, e.password.reveal()) } : {}),
  }));
  const summary = credentials.length
    ? `${credentials.length} matching credential${credentials.length === 1 ? "" : "s"}, tried in order: ${credentials.map((c) => c.source).join(", ")}`
    : `no keyring credential matches ${repo}: anonymous pull`;
  return { ...none(), credentials, findings: k.findings, evidence: k.evidence, summary };
}

/**
 * containers/image's lookup error (pkg/docker/config/config.go#getCredentialsWithHomeDir): when no
 * helper has credentials, skopeo and podman fail with it before any request ("getting username and
 * password: … reading JSON file …"), for a public image too. A helper's error followed by a later
 * helper's credentials is only logged; an `auth` without ":" is warned about and skipped.
 */
function authFileFindings(a: ContainersAuth): Finding[] {
  const fatal = a.found === null;
  const stop = a.problems.map((p) => {
    const consequence = fatal
      ? 'containers/image ends its credential lookup with this error, so skopeo and podman exit before any request with "getting username and password: … ' +
        `(this error)", for a public image too${p.searchStopped ? "; the auth files after this one are not read, even one holding the credentials" : ""}.`
      : "containers/image skipped this error because a later credential helper had credentials for the image.";
    return finding(
      "CLIENT_CONFIG_INVALID",
      { client: "podman", file: p.file, line: null, message: p.message, consequence },
      { ...p, fatal },
      { severity: fatal ? "error" : "warning" },
    );
  });
  const skipped = a.warnings.map((p) =>
    finding(
      "CLIENT_CONFIG_INVALID",
      { client: "podman", file: p.file, line: null, message: p.message, consequence: "containers/image warns and looks in the next file." },
      { ...p, fatal: false },
      { severity: "warning" },
    ),
  );
  return [...stop, ...skipped];
}

/** The password as a Secret, its Basic form remembered for the final scrub (a server may echo it). */
function secretOf(username: string, password: string): Secret {
  rememberSecret(Buffer.from(`${username}:${password}`).toString("base64"));
  return new Secret(password);
}

/** docker/cli's lookup: config.json, its helpers or DOCKER_AUTH_CONFIG for the registry. */
async function dockerConfigCredentials(ctx: StageContext, loaded: LoadedConfig, lookupKey: string): Promise<ClientCredentials> {
  const { options, deps } = ctx;
  const ref = ctx.facts.ref!;
  const resolution = await resolveAuthConfig(loaded.file, lookupKey, {
    env: deps.env,
    os: deps.hostPlatform.os,
    timeoutMs: options.timeoutMs,
    signal: deps.signal,
  });
  const findings = credentialFindings(resolution, loaded, ref.registry);
  const credential = credentialOf(resolution, loaded);
  if (resolution.envProblem) findings.push(envUnusable(resolution.envProblem));
  if (credential === null && resolution.error === null)
    findings.push(
      finding(
        "CREDS_NONE",
        { registry: ref.registry, lookupKey, configPath: loaded.path, found: loaded.found, image: ref.familiar },
        { lookupKey },
      ),
    );
  return { credentials: credential ? [credential] : [], resolution, findings, evidence: null, summary: null };
}

/** What later stages use: secrets wrapped, origin in words. null = anonymous. */
export function credentialOf(r: AuthResolution, loaded: LoadedConfig): Credential | null {
  if (r.error !== null) return null;
  const a = r.auth;
  if (!a.username && !a.password && !a.identitytoken && !a.registrytoken) return null;
  const where =
    r.store === "env"
      ? `DOCKER_AUTH_CONFIG auths[${r.matchedKey}] (read by Docker CLI 29+; older CLIs ignore it)`
      : r.store === "helper"
        ? `${r.helperVia === "credHelpers" ? `credHelpers[${r.lookupKey}]` : r.helperVia === "detected" ? "default store (detected on PATH)" : "credsStore"} → ${HELPER_PREFIX}${r.helper}`
        : `auths[${r.matchedKey}] in ${loaded.path}`;
  // Only the credential actually used joins the final scrub (its Basic form too): remembering
  // every value of every file would scrub common words ("password") from whole reports.
  return {
    source: where,
    lookupKey: r.lookupKey,
    ...(a.username ? { username: a.username } : {}),
    ...(a.password ? { password: secretOf(a.username ?? "", a.password) } : {}),
    ...(a.identitytoken ? { identityToken: new Secret(a.identitytoken) } : {}),
    ...(a.registrytoken ? { registryToken: new Secret(a.registrytoken) } : {}),
  };
}

/**
 * The credentials an endpoint stage may use, in the order the client tries them: none for an
 * endpoint the judged client keeps them from (src/net/origin.ts#endpointGetsCredentials).
 */
export function endpointCredentials(ctx: StageContext): Credential[] {
  const all = ctx.facts.credentials ?? (ctx.facts.credential ? [ctx.facts.credential] : []);
  const reach = ctx.facts.client?.wire.credentialsTo ?? "registry";
  const ep = ctx.endpoint;
  if (!ep || endpointGetsCredentials(reach, { host: ep.host, role: ep.role }, ctx.facts.ref!.registry)) return all;
  return [];
}

/**
 * An endpoint stage run once per credential the client would try, in order, until one is not
 * refused: kubelet asks the runtime once per matching credential
 * (kubernetes/kubernetes:pkg/kubelet/kuberuntime/kuberuntime_image.go#PullImage). When every one
 * is refused the first (most specific) one's outcome is reported, with each attempt in evidence.
 */
export async function eachCredential(ctx: StageContext, attempt: (ctx: StageContext) => Promise<StageOutcome>): Promise<StageOutcome> {
  const out = await eachCredentialRun(ctx, attempt);
  const also = otherHostsReached(ctx);
  return also ? { ...out, evidence: { ...out.evidence, credentialsAlsoSentTo: also } } : out;
}

/**
 * kubelet's credentials reach every host the pull touches: say which of this endpoint's are not
 * the image's registry (a mirror, a token realm elsewhere), since those see the pull secret too.
 */
function otherHostsReached(ctx: StageContext): Json | null {
  const ep = ctx.endpoint;
  if (ctx.facts.client?.wire.credentialsTo !== "every-host" || !ep || endpointCredentials(ctx).length === 0) return null;
  const hosts = new Set<string>();
  if (ep.host !== ctx.facts.ref!.registry && ep.host !== loginHost(ctx.facts.ref!.registry)) hosts.add(ep.host);
  const realm = ctx.facts.challenge?.chosen?.params.realm;
  if (realm && URL.canParse(realm) && new URL(realm).host !== ep.host) hosts.add(new URL(realm).host);
  return hosts.size ? { hosts: [...hosts], why: "the judged client sends its credentials to every host the pull touches" } : null;
}

async function eachCredentialRun(ctx: StageContext, attempt: (ctx: StageContext) => Promise<StageOutcome>): Promise<StageOutcome> {
  const list = endpointCredentials(ctx);
  // Nothing to try here (none configured, or the client keeps them from this endpoint: the
  // auth stage's credentialFor says so in its evidence, by the same rule).
  if (list.length === 0) return attempt(ctx);
  const withCred = (credential: Credential | null) => attempt({ ...ctx, facts: { ...ctx.facts, credential } });
  if (list.length <= 1) {
    const only = list[0] ?? null;
    const out = await withCred(only);
    return only === ctx.facts.credential ? out : { ...out, provides: { ...out.provides, credential: only } };
  }
  const tried: Json[] = [];
  let first: StageOutcome | null = null;
  for (const cred of list) {
    const out = await withCred(cred);
    const refused = out.findings.find((f) => f.severity === "error");
    tried.push({ source: cred.source, username: cred.username ?? null, outcome: refused ? refused.code : "accepted" });
    if (!refused)
      return {
        ...out,
        summary: `${out.summary} (credential ${tried.length} of ${list.length}: ${cred.source})`,
        evidence: { ...out.evidence, credentialsTried: tried },
        provides: { ...out.provides, credential: cred },
      };
    first ??= out;
  }
  const f = first!;
  return {
    ...f,
    summary: `${f.summary} (each of ${list.length} matching credentials refused)`,
    evidence: { ...f.evidence, credentialsTried: tried },
  };
}

/** Which hosts see the credentials, in words, for the config stage's evidence. */
export function reachEvidence(reach: CredentialReach, hosts: ClientHost[], registry: string): Json {
  const others = hosts.map((h) => h.host).filter((h) => h !== loginHost(registry));
  const words =
    reach === "login-host"
      ? `only ${loginHost(registry)}, the host logged in to: a mirror gets none and is asked anonymously`
      : reach === "registry"
        ? "the registry, and the daemon.json mirrors Docker tries for it"
        : "every host the pull touches: each mirror, the server and any token realm, whatever its host (the runtime gets them without a server address)";
  return { rule: reach, words, otherHosts: reach === "every-host" ? others : [] };
}
