import { joinHostPort } from "../net/origin";
import { HELPER_PREFIX, type HelperOptions, type HelperRun, helperGet, helperList, lookPath } from "./cred-helper";
import { type AuthEntry, type ConfigFile, decodeAuth } from "./docker-config";
import { decodeFirstValue, hasMore } from "./go-json";
import { type DecodedMap, GO_STRING, goMap, goStruct, unmarshal } from "./go-unmarshal";

/**
 * Which credentials `docker pull` sends, decided exactly as docker/cli decides it
 * (configfile.GetAuthConfig, credentials file/native stores, DOCKER_AUTH_CONFIG): table-
 * tested against test/vectors/credentials.json.
 */

/** Docker Hub's credentials live under this key only (registry.IndexServer). */
export const HUB_AUTH_KEY = "https://index.docker.io/v1/";

/** The key docker/cli looks up for a registry domain (getAuthConfigKey). */
export function authLookupKey(registry: string): string {
  return registry === "docker.io" || registry === "index.docker.io" ? HUB_AUTH_KEY : registry;
}

/** credentials.ConvertToHostname: an auths key with scheme/path reduced to host[:port]. */
export function convertToHostname(maybeUrl: string): string {
  if (maybeUrl.includes("://")) {
    const h = urlHostPort(maybeUrl);
    if (h !== null) return h;
  }
  const slash = maybeUrl.indexOf("/");
  return slash >= 0 ? maybeUrl.slice(0, slash) : maybeUrl;
}

/** Go's url.Parse + Hostname()/Port() + net.JoinHostPort, for the shapes auths keys take. */
function urlHostPort(u: string): string | null {
  const rest = u.slice(u.indexOf("://") + 3);
  let authority = rest.split(/[/?#]/, 1)[0]!;
  const at = authority.lastIndexOf("@");
  if (at >= 0) authority = authority.slice(at + 1);
  let hostname: string;
  let port = "";
  if (authority.startsWith("[")) {
    const close = authority.indexOf("]");
    if (close < 0) return null;
    hostname = authority.slice(1, close);
    const after = authority.slice(close + 1);
    if (after.startsWith(":") && /^:[0-9]*$/.test(after)) port = after.slice(1);
    else if (after !== "") return null;
  } else {
    const colon = authority.lastIndexOf(":");
    if (colon >= 0 && /^:[0-9]*$/.test(authority.slice(colon))) [hostname, port] = [authority.slice(0, colon), authority.slice(colon + 1)];
    else hostname = authority;
  }
  try {
    hostname = decodeURIComponent(hostname);
  } catch {
    return null;
  }
  if (hostname === "") return null;
  if (port === "") return hostname;
  return joinHostPort(hostname, port);
}

export interface CredentialOptions extends HelperOptions {
  /** "linux" picks pass/secretservice as the default store, "darwin" osxkeychain, "windows" wincred. */
  os: string;
}

/** ContainsAuth: any credsStore, credHelpers or auths at all disables default-store detection. */
export function containsAuth(file: ConfigFile): boolean {
  return file.credsStore !== "" || file.credHelpers.size > 0 || file.auths.size > 0;
}

/** The credsStore in effect after LoadDefaultConfigFile (DetectDefaultStore). */
export function effectiveCredsStore(file: ConfigFile, opts: Pick<CredentialOptions, "env" | "os">): string {
  if (containsAuth(file)) return file.credsStore;
  let platformDefault = "";
  if (opts.os === "linux") platformDefault = lookPath("pass", opts.env) !== null ? "pass" : "secretservice";
  else if (opts.os === "darwin") platformDefault = "osxkeychain";
  else if (opts.os === "windows") platformDefault = "wincred";
  if (platformDefault === "" || lookPath(HELPER_PREFIX + platformDefault, opts.env) === null) return "";
  return platformDefault;
}

const ENV_AUTH = goStruct("configfile.envConfig", {
  auths: goMap(goStruct("configfile.envAuth", { auth: GO_STRING }), "map[string]configfile.envAuth"),
});

/** DOCKER_AUTH_CONFIG: null when unset or empty; a failure is printed by Docker, which then ignores it. */
export function parseEnvAuthConfig(
  value: string | undefined,
): { ok: true; auths: Map<string, AuthEntry> } | { ok: false; message: string } | null {
  if (value === undefined || value === "") return null;
  return parseSetEnvAuthConfig(value);
}

/** DOCKER_AUTH_CONFIG when set (apart: most runs have none, and then this is not compiled). */
function parseSetEnvAuthConfig(value: string): { ok: true; auths: Map<string, AuthEntry> } | { ok: false; message: string } {
  const fail = (m: string) => ({ ok: false as const, message: `Failed to create credential store from DOCKER_AUTH_CONFIG:  ${m}` });
  const syn = decodeFirstValue(value);
  if (syn.error) return fail(syn.error.message);
  const dec = unmarshal<{ auths?: DecodedMap } | undefined>(syn.value, ENV_AUTH, { disallowUnknown: true });
  if (dec.error) return fail(dec.error);
  if (hasMore(value, syn.end)) return fail("DOCKER_AUTH_CONFIG does not support more than one JSON object");
  const auths = new Map<string, AuthEntry>();
  for (const [key, e] of dec.value?.auths ?? new Map()) {
    const auth = (e as { auth?: string } | undefined)?.auth ?? "";
    if (auth === "") return fail(`DOCKER_AUTH_CONFIG environment variable is missing key \`auth\` for ${key}`);
    const r = decodeAuth(auth);
    if ("error" in r) return fail(r.error);
    auths.set(key, { username: r.username, password: r.password, serveraddress: key });
  }
  return { ok: true, auths };
}

export interface AuthResolution {
  lookupKey: string;
  /** credsStore after default-store detection. */
  credsStore: string;
  /** Which store answered: DOCKER_AUTH_CONFIG, a helper, or config.json itself. */
  store: "env" | "helper" | "file";
  /** Helper suffix (docker-credential-<helper>) when store is "helper". */
  helper: string | null;
  /** "detected": config.json names no store and Docker picked pass/secretservice from PATH. */
  helperVia: "credHelpers" | "credsStore" | "detected" | null;
  /** The auths key (or DOCKER_AUTH_CONFIG key) that matched, and how. */
  matchedKey: string | null;
  matchKind: "exact" | "hostname" | null;
  /** What Docker sends ({} = anonymous). Values are secrets: never put this in evidence. */
  auth: AuthEntry;
  /** Docker aborts the pull with exactly this text. */
  error: string | null;
  helperRuns: HelperRun[];
  /** What Docker printed about a DOCKER_AUTH_CONFIG it could not use. */
  envProblem: string | null;
}

function fileStoreGet(
  file: ConfigFile,
  key: string,
): { auth: AuthEntry; matchedKey: string | null; matchKind: AuthResolution["matchKind"] } {
  const exact = file.auths.get(key);
  if (exact) return { auth: { ...exact }, matchedKey: key, matchKind: "exact" };
  // Legacy keys (https://host/v1/, http://host:5000): Go walks its map in random order
  // and takes the first match; we take the first in file order.
  for (const [k, a] of file.auths) if (convertToHostname(k) === key) return { auth: { ...a }, matchedKey: k, matchKind: "hostname" };
  return { auth: {}, matchedKey: null, matchKind: null };
}

/** configfile.GetAuthConfig(lookupKey) as `docker pull` calls it. */
export async function resolveAuthConfig(file: ConfigFile, lookupKey: string, opts: CredentialOptions): Promise<AuthResolution> {
  const credsStore = effectiveCredsStore(file, opts);
  const base = { lookupKey, credsStore, helperRuns: [] as HelperRun[], envProblem: null as string | null };
  const env = parseEnvAuthConfig(opts.env.DOCKER_AUTH_CONFIG);
  if (env && !env.ok) base.envProblem = env.message;
  if (env?.ok && env.auths.has(lookupKey)) {
    return {
      ...base,
      store: "env",
      helper: null,
      helperVia: null,
      matchedKey: lookupKey,
      matchKind: "exact",
      auth: { ...env.auths.get(lookupKey)! },
      error: null,
    };
  }
  const viaHelpers = lookupKey !== "" && file.credHelpers.has(lookupKey);
  const helper = viaHelpers ? file.credHelpers.get(lookupKey)! : credsStore;
  const fromFile = fileStoreGet(file, lookupKey);
  if (helper === "") return { ...base, store: "file", helper: null, helperVia: null, ...fromFile, error: null };

  // nativeStore.Get: the file entry (for email and registrytoken) overlaid with the helper's answer.
  const answer = await helperGet(helper, lookupKey, opts);
  base.helperRuns.push(answer.run);
  const common = {
    ...base,
    store: "helper" as const,
    helper,
    helperVia: viaHelpers ? ("credHelpers" as const) : file.credsStore === "" ? ("detected" as const) : ("credsStore" as const),
    matchedKey: fromFile.matchedKey,
    matchKind: fromFile.matchKind,
  };
  if (answer.kind === "missing" || answer.kind === "failed") return { ...common, auth: fromFile.auth, error: answer.error };
  const auth = withHelperAnswer(fromFile.auth, answer);
  delete auth.serveraddress;
  if (answer.kind === "found") auth.serveraddress = lookupKey;
  return { ...common, auth: dropEmpty(auth), error: null };
}

/**
 * A config.json entry with a helper's answer in place of its secrets, as docker/cli's
 * nativeStore.Get does: the helper's username and secret ("<token>" as the username means an
 * identity token), the file's other fields kept.
 */
function withHelperAnswer(base: AuthEntry, answer: { kind: string; username?: string; secret?: string }): AuthEntry {
  const auth = { ...base };
  delete auth.username;
  delete auth.password;
  delete auth.identitytoken;
  if (answer.kind === "found") {
    if (answer.username === "<token>") auth.identitytoken = answer.secret;
    else [auth.username, auth.password] = [answer.username, answer.secret];
  }
  return auth;
}

function dropEmpty(a: AuthEntry): AuthEntry {
  const out: AuthEntry = {};
  for (const [k, v] of Object.entries(a) as [keyof AuthEntry, string | undefined][]) if (v) out[k] = v;
  return out;
}

/** ConfigFile.GetAllCredentials (what `docker build` sends): the default store, then each credHelpers entry. */
export async function getAllCredentials(
  file: ConfigFile,
  opts: CredentialOptions,
): Promise<{ all: Map<string, AuthEntry>; error: string | null; helperRuns: HelperRun[]; envProblem: string | null }> {
  const helperRuns: HelperRun[] = [];
  const credsStore = effectiveCredsStore(file, opts);
  const env = parseEnvAuthConfig(opts.env.DOCKER_AUTH_CONFIG);
  const envProblem = env && !env.ok ? env.message : null;
  let all = new Map<string, AuthEntry>();
  if (credsStore === "") {
    for (const [k, a] of file.auths) all.set(k, { ...a });
  } else {
    const list = await helperList(credsStore, opts);
    helperRuns.push(list.run);
    if (!list.ok) return { all: new Map(), error: list.error, helperRuns, envProblem };
    for (const registry of list.entries.keys()) {
      const got = await helperGet(credsStore, registry, opts);
      helperRuns.push(got.run);
      if (got.kind === "missing" || got.kind === "failed") return { all: new Map(), error: got.error, helperRuns, envProblem };
      const ac = withHelperAnswer(file.auths.get(registry) ?? {}, got);
      if (!ac.serveraddress && got.kind === "found") ac.serveraddress = registry;
      all.set(registry, dropEmpty(ac));
    }
  }
  if (env?.ok) all = new Map([...all, ...env.auths]);
  for (const registry of file.credHelpers.keys()) {
    const r = await resolveAuthConfig(file, registry, opts);
    helperRuns.push(...r.helperRuns);
    if (r.error === null) all.set(registry, r.auth);
  }
  return { all, error: null, helperRuns, envProblem };
}
