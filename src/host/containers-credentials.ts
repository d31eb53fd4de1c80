import { type AuthFile, type ContainersAuth, containersAuth } from "./auth-json";
import { HELPER_PREFIX, type HelperOptions, helperGet } from "./cred-helper";

/** The built-in helper: containers/image's auth.json search (pkg/sysregistriesv2 AuthenticationFileHelper). */
export const AUTH_FILES_HELPER = "containers-auth.json";

/**
 * containers/image's credential lookup (pkg/docker/config/config.go#getCredentialsWithHomeDir): the
 * registries.conf `credential-helpers` in order (default ["containers-auth.json"]); the built-in one
 * searches the auth files with the repository's keys, any other is `docker-credential-<name> get`
 * asked for the registry host only (helpers hold no namespaced keys). The first helper with
 * credentials wins; a helper's "not found" goes on to the next; any other failure (the auth-file
 * search's error included) is kept and reported only when no later helper has credentials: then
 * the lookup fails and skopeo/podman stop before any request. `source` is where the list was set.
 */
export async function containersCredentials(
  helpers: readonly string[],
  source: string | null,
  files: AuthFile[],
  repoKey: string,
  registry: string,
  opts: HelperOptions,
): Promise<ContainersAuth> {
  const out: ContainersAuth = { found: null, looked: [], problems: [], warnings: [], helperRuns: [] };
  const where = source ?? "registries.conf";
  for (const helper of helpers) {
    if (helper === AUTH_FILES_HELPER) {
      const a = await containersAuth(files, repoKey, registry, opts);
      out.looked.push(...a.looked);
      out.problems.push(...a.problems);
      out.warnings.push(...a.warnings);
      out.helperRuns.push(...a.helperRuns);
      if (a.found) return { ...out, found: a.found };
      continue;
    }
    const got = await helperGet(helper, registry, opts);
    out.helperRuns.push(got.run);
    const key = `credential-helpers[${JSON.stringify(helper)}]`;
    if (got.kind === "found") {
      const token = got.username === "<token>";
      out.looked.push({ file: where, result: `${key} → ${HELPER_PREFIX}${helper}` });
      out.found = {
        file: where,
        key,
        username: token ? "" : got.username,
        password: token ? "" : got.secret,
        identityToken: token ? got.secret : "",
        helper,
      };
      return out;
    }
    out.looked.push({ file: where, result: `${key} → ${HELPER_PREFIX}${helper}: ${got.kind}` });
    if (got.kind !== "not-found") out.problems.push({ file: where, message: got.error });
  }
  return out;
}
