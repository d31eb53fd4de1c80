import path from "node:path";
import { type HelperOptions, type HelperRun, helperGet } from "./cred-helper";
import { readLocalFile } from "./local-file";

/**
 * Credentials as containers/image (podman, skopeo, buildah, CRI-O) finds them
 * (containers/image:pkg/docker/config/config.go #getAuthFilePaths, #getPathToAuthWithOS,
 * #findCredentialsInFile, #authKeysForKey, #normalizeAuthFileKey, #decodeDockerAuth).
 * Only the `auth` field of an entry is read (base64 of user:password); `username` and
 * `password` fields are not. Nothing is written.
 */

export interface AuthFile {
  path: string;
  /** ~/.dockercfg: the auths map is the whole file and keys are matched by host only. */
  legacy: boolean;
}

/**
 * The files in search order: the primary file, which an explicit one replaces (--authfile, which
 * podman and skopeo default to $REGISTRY_AUTH_FILE), else the per-user runtime file
 * ($XDG_RUNTIME_DIR/containers/auth.json, else /run/containers/<uid>/auth.json); then
 * $XDG_CONFIG_HOME/containers/auth.json, $DOCKER_CONFIG/config.json (else ~/.docker/config.json)
 * and ~/.dockercfg (containers-auth.json(5); measured with skopeo 1.9: an explicit file without a
 * match falls through to the others).
 */
export function authFilePaths(env: Readonly<Record<string, string | undefined>>, homeDir: string, uid: number): AuthFile[] {
  const runtime = env.REGISTRY_AUTH_FILE
    ? env.REGISTRY_AUTH_FILE
    : env.XDG_RUNTIME_DIR
      ? path.join(env.XDG_RUNTIME_DIR, "containers", "auth.json")
      : `/run/containers/${uid}/auth.json`;
  return [
    { path: runtime, legacy: false },
    { path: path.join(env.XDG_CONFIG_HOME || path.join(homeDir, ".config"), "containers", "auth.json"), legacy: false },
    { path: env.DOCKER_CONFIG ? path.join(env.DOCKER_CONFIG, "config.json") : path.join(homeDir, ".docker", "config.json"), legacy: false },
    { path: path.join(homeDir, ".dockercfg"), legacy: true },
  ];
}

/** "quay.io/team/app" → ["quay.io/team/app", "quay.io/team", "quay.io"]: the most specific key first. */
export function authKeysForKey(key: string): string[] {
  const out: string[] = [];
  for (let k = key; ; k = k.slice(0, k.lastIndexOf("/"))) {
    out.push(k);
    if (!k.includes("/")) return out;
  }
}

/** normalizeRegistry: Docker Hub's names become one. */
function normalizeRegistry(registry: string): string {
  return registry === "registry-1.docker.io" || registry === "docker.io" ? "index.docker.io" : registry;
}

/** normalizeAuthFileKey: a URL key ("https://index.docker.io/v1/") or a legacy key reduced to its host. */
export function normalizeAuthFileKey(key: string, legacy: boolean): string {
  const stripped = key.replace(/^http:\/\//, "").replace(/^https:\/\//, "");
  return normalizeRegistry(legacy || stripped !== key ? stripped.split("/")[0]! : stripped);
}

/** One file's answer for an image. */
export type FileAnswer =
  | { kind: "absent" }
  | { kind: "invalid"; message: string }
  | { kind: "none" }
  | { kind: "entry"; key: string; username: string; password: string; identityToken: string; problem: string | null }
  | { kind: "helper"; helper: string; registry: string };

/** findCredentialsInFile on text already read: credHelpers[registry] first, then the keys, most specific first. */
export function findInAuthText(text: string, file: AuthFile, repoKey: string, registry: string): FileAnswer {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The parser's message quotes the text, which may be a credential: name the file only.
    return { kind: "invalid", message: `reading JSON file "${file.path}": unmarshaling JSON at "${file.path}": not valid JSON` };
  }
  // Go's json.Unmarshal leaves the struct empty for `null`, and refuses any other non-object.
  if (parsed === null) return { kind: "none" };
  if (typeof parsed !== "object" || Array.isArray(parsed))
    return { kind: "invalid", message: `reading JSON file "${file.path}": unmarshaling JSON at "${file.path}": not an object` };
  const o = parsed as Record<string, unknown>;
  const auths = (file.legacy ? o : (o.auths ?? {})) as Record<string, unknown>;
  const helpers = (file.legacy ? {} : (o.credHelpers ?? {})) as Record<string, unknown>;
  if (typeof helpers[registry] === "string") return { kind: "helper", helper: helpers[registry] as string, registry };
  // Repository and namespace keys match exactly; only registry keys are normalised.
  for (const key of file.legacy ? [registry] : authKeysForKey(repoKey))
    if (Object.hasOwn(auths, key)) return decodeEntry(key, auths[key], file);
  const want = normalizeRegistry(registry);
  for (const [k, v] of Object.entries(auths)) if (normalizeAuthFileKey(k, file.legacy) === want) return decodeEntry(k, v, file);
  return { kind: "none" };
}

/** decodeDockerAuth: base64 of user:password; without a colon only the identity token counts, as Docker does. */
function decodeEntry(key: string, raw: unknown, file: AuthFile): FileAnswer {
  const e = (raw ?? {}) as Record<string, unknown>;
  const identityToken = typeof e.identitytoken === "string" ? e.identitytoken : "";
  const auth = typeof e.auth === "string" ? e.auth : "";
  const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(auth) && auth.length % 4 === 0 ? Buffer.from(auth, "base64").toString("utf8") : null;
  if (decoded === null) return { kind: "invalid", message: `${file.path}: auths[${key}].auth is not base64` };
  const colon = decoded.indexOf(":");
  if (colon < 0)
    return {
      kind: "entry",
      key,
      username: "",
      password: "",
      identityToken,
      problem: decoded.length > 0 ? `auths[${key}].auth has no ":" between user and password; it is skipped` : null,
    };
  return {
    kind: "entry",
    key,
    username: decoded.slice(0, colon),
    password: decoded.slice(colon + 1).replace(/^\0+|\0+$/g, ""),
    identityToken,
    problem: null,
  };
}

/** What the search found, and every file it looked at (for evidence). */
export interface ContainersAuth {
  found: {
    file: string;
    key: string;
    username: string;
    password: string;
    identityToken: string;
    /** docker-credential-<helper> from the file's credHelpers. */
    helper: string | null;
  } | null;
  looked: { file: string; result: string }[];
  /**
   * Errors that ended the auth-file search (at most one there: containers/image returns the first
   * file's error), or a registries.conf helper's failure (kept until a later helper has credentials).
   */
  problems: { file: string; message: string; searchStopped?: true }[];
  /** What containers/image warns about and skips (an `auth` without ":"). */
  warnings: { file: string; message: string }[];
  helperRuns: HelperRun[];
}

/** getCredentialsWithHomeDir for the default helper list ["containers-auth.json"]: the first file that has credentials wins. */
export async function containersAuth(files: AuthFile[], repoKey: string, registry: string, opts: HelperOptions): Promise<ContainersAuth> {
  const out: ContainersAuth = { found: null, looked: [], problems: [], warnings: [], helperRuns: [] };
  for (const file of files) {
    const a = readAuthFile(file, repoKey, registry);
    if (a.kind === "absent" || a.kind === "none") {
      out.looked.push({ file: file.path, result: a.kind === "absent" ? "absent" : `no key for ${repoKey}` });
      continue;
    }
    // getCredentialsWithHomeDir's getCredentialsFromAuthFiles returns findCredentialsInFile's first
    // error: the files after it are never read, even when one of them holds the credentials.
    if (a.kind === "invalid") return stopped(out, file, a.message);
    if (a.kind === "helper") {
      const got = await helperGet(a.helper, a.registry, opts);
      out.helperRuns.push(got.run);
      if (got.kind === "found") {
        const token = got.username === "<token>";
        out.looked.push({ file: file.path, result: `credHelpers[${a.registry}] → docker-credential-${a.helper}` });
        out.found = {
          file: file.path,
          key: `credHelpers[${a.registry}]`,
          username: token ? "" : got.username,
          password: token ? "" : got.secret,
          identityToken: token ? got.secret : "",
          helper: a.helper,
        };
        return out;
      }
      // getCredsFromCredHelper: "credentials not found" is no credentials here; any other failure is the search's error.
      if (got.kind !== "not-found") return stopped(out, file, got.error, `: ${got.kind}`);
      out.looked.push({ file: file.path, result: `credHelpers[${a.registry}] → docker-credential-${a.helper}: ${got.kind}` });
      continue;
    }
    // decodeDockerAuth logs a warning for an entry without ":" and goes on to the next file.
    if (a.problem) out.warnings.push({ file: file.path, message: a.problem });
    if (!a.username && !a.password && !a.identityToken) {
      out.looked.push({ file: file.path, result: `auths[${a.key}] holds no usable credentials` });
      continue;
    }
    out.looked.push({ file: file.path, result: `auths[${a.key}]` });
    out.found = { file: file.path, key: a.key, username: a.username, password: a.password, identityToken: a.identityToken, helper: null };
    return out;
  }
  return out;
}

/**
 * One file read as authPath.parse does: a missing file (ENOENT, os.IsNotExist) is skipped; any
 * other read error (EACCES, EISDIR, a file the doctor will not read) is an error, as a parse error is.
 */
function readAuthFile(file: AuthFile, repoKey: string, registry: string): FileAnswer {
  const r = readLocalFile(file.path);
  if (r.ok) return findInAuthText(new TextDecoder().decode(r.bytes), file, repoKey, registry);
  if ("error" in r && r.error.code === "ENOENT") return { kind: "absent" };
  const why = "error" in r ? (r.error.code ?? r.error.message) : r.refused;
  return { kind: "invalid", message: `reading JSON file "${file.path}": ${why}` };
}

/** The search ends at this file with its error; the files after it are listed as not read. */
function stopped(out: ContainersAuth, file: AuthFile, message: string, suffix = ""): ContainersAuth {
  out.looked.push({ file: file.path, result: `error${suffix}: the search stops here` });
  out.problems.push({ file: file.path, message, searchStopped: true });
  return out;
}
