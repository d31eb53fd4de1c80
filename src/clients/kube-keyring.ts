import type { Secret } from "../model/secret";

/**
 * kubelet's keyring matching (kubernetes/kubernetes:pkg/credentialprovider/keyring.go
 * #BasicDockerKeyring.Add, #Lookup, #URLsMatch, #isDefaultRegistryMatch). Pure.
 */

/** Add: scheme stripped, a leading /v1/ or /v2/ dropped: "https://index.docker.io/v1/" → "index.docker.io". */
export function keyringKey(key: string): string {
  const u = parseSchemeless(key);
  if (!u) return key;
  let p = u.path;
  if (p.startsWith("/v2/") || p.startsWith("/v1/")) p = p.slice(3);
  return p.length > 0 && p !== "/" ? u.host + p : u.host;
}

/** One credential in a keyring: its key as written, where it came from, and its values. */
export interface KeyringEntry {
  key: string;
  file: string;
  username: string;
  password: Secret | null;
}

export interface KeyMatch {
  key: string;
  file: string;
  matches: boolean;
  /** Why it does or does not match, in words. */
  why: string;
}

/** The repository kubelet looks up: the image without tag or digest, registry first ("docker.io/library/nginx"). */
export function lookup<T extends { key: string; file: string }>(
  keys: T[],
  repo: string,
): { matches: (T & KeyMatch)[]; chosen: (T & KeyMatch)[]; viaDefault: boolean } {
  // The index is reverse-sorted, so the most specific key comes first; one key's credentials
  // stay in the order they were added (sort is stable).
  const sorted = [...keys].sort((a, b) => {
    const [ka, kb] = [keyringKey(a.key), keyringKey(b.key)];
    return ka === kb ? 0 : kb < ka ? -1 : 1;
  });
  const matches = sorted.map((k) => ({ ...k, ...explainMatch(keyringKey(k.key), repo) }));
  const chosen = matches.filter((m) => m.matches);
  if (chosen.length > 0 || !isDefaultRegistryMatch(repo)) return { matches, chosen, viaDefault: false };
  const hub = matches.filter((m) => keyringKey(m.key) === "index.docker.io");
  for (const h of hub) h.why = "no key matched docker.io; kubelet falls back to the index.docker.io key for Docker Hub images";
  return { matches, chosen: hub, viaDefault: hub.length > 0 };
}

/** URLsMatch: same number of host labels, each a glob, equal port, key path a string prefix of the image path. */
export function explainMatch(key: string, repo: string): { matches: boolean; why: string } {
  const g = parseSchemeless(key);
  const t = parseSchemeless(repo);
  if (!g || !t) return { matches: false, why: "the key is not a URL kubelet can parse" };
  const gl = g.hostname.split(".");
  const tl = t.hostname.split(".");
  if (gl.length !== tl.length)
    return {
      matches: false,
      why: `${gl.length} host label${gl.length === 1 ? "" : "s"} (${g.hostname}) vs the image's ${tl.length} (${t.hostname})`,
    };
  for (let i = 0; i < gl.length; i++)
    if (!globMatch(gl[i]!, tl[i]!)) return { matches: false, why: `label "${gl[i]}" does not match "${tl[i]}"` };
  if (g.port !== t.port) return { matches: false, why: `port ${g.port || "(none)"} ≠ the image's ${t.port || "(none)"}` };
  if (!t.path.startsWith(g.path)) return { matches: false, why: `path ${g.path} is not a prefix of ${t.path}` };
  return { matches: true, why: g.path ? `host and path prefix ${g.path} match` : "host matches" };
}

/** isDefaultRegistryMatch: a Docker Hub image (no "." or ":" in its first component, or docker.io/index.docker.io). */
export function isDefaultRegistryMatch(repo: string): boolean {
  const parts = repo.split("/");
  if (parts[0] === "") return false;
  if (parts.length === 1) return true;
  if (parts[0] === "docker.io" || parts[0] === "index.docker.io") return true;
  return !/[.:]/.test(parts[0]!);
}

function parseSchemeless(s: string): { host: string; hostname: string; port: string; path: string } | null {
  const v = /^https?:\/\//.test(s) ? s : `https://${s}`;
  const m = /^https?:\/\/([^/?#]*)([^?#]*)/.exec(v);
  if (!m) return null;
  const host = m[1]!;
  const pm = /^(.*?)(?::(\d*))?$/.exec(host)!;
  return { host, hostname: pm[1]!, port: pm[2] ?? "", path: m[2] ?? "" };
}

/** filepath.Match on one label: *, ?, [class] ('/' never appears in a label). */
function globMatch(glob: string, s: string): boolean {
  let re = "^";
  for (let i = 0; i < glob.length; i++) {
    const c = glob[i]!;
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      const end = glob.indexOf("]", i + 1);
      if (end < 0) return false;
      re += `[${glob
        .slice(i + 1, end)
        .replace(/^\^/, "^")
        .replace(/\\/g, "\\\\")}]`;
      i = end;
    } else re += c.replace(/[.+^${}()|\\]/g, "\\$&");
  }
  try {
    return new RegExp(`${re}$`).test(s);
  } catch {
    return false;
  }
}
