import path from "node:path";
import { readLocalFile } from "../host/local-file";
import type { ImageRef } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { parseReference, ReferenceParseError } from "../registry/reference";
import type { ClientInputs } from "./inputs";
import type { RegistriesConf } from "./registries-conf";
import { parseTomlFile } from "./toml-file";

/** One name containers/image would try for a short name, in its order. */
export interface ShortNameCandidate {
  ref: ImageRef;
  /** "alias (file)" or "unqualified-search-registries (file:line)". */
  via: string;
}

export interface ShortNameResolution {
  /** null: the input names its registry, nothing to resolve. */
  candidates: ShortNameCandidate[] | null;
  finding: Finding | null;
}

/** Whether containers/image takes the input as a short name: no domain ('.' or ':') and not localhost before the first '/'. */
export function isShortName(input: string): boolean {
  const first = input.split("/")[0]!;
  return !(input.includes("/") && (/[.:]/.test(first) || first === "localhost"));
}

/**
 * containers/image:pkg/shortnames/shortnames.go#Resolve. An alias (registries.conf [aliases], then the
 * short-name-aliases.conf cache that podman records after a prompt: pkg/sysregistriesv2/shortnames.go)
 * is the only candidate; else every unqualified-search registry in order, "REG/name" normalised as
 * reference.ParseNormalizedNamed does. Mode disabled or a single candidate: no question; several
 * without a terminal: permissive tries them in order, enforcing refuses.
 */
export function resolveShortName(inp: ClientInputs, conf: RegistriesConf): ShortNameResolution {
  const input = inp.ref.input;
  if (!isShortName(input)) return { candidates: null, finding: null };
  const at = input.indexOf("@");
  const beforeDigest = at >= 0 ? input.slice(0, at) : input;
  const colon = beforeDigest.lastIndexOf(":");
  const bare = colon > beforeDigest.lastIndexOf("/") ? beforeDigest.slice(0, colon) : beforeDigest;
  const suffix = input.slice(bare.length);
  const alias = aliasOf(inp, conf, bare);
  if (alias) {
    const ref = candidateRef(`${alias.value}${suffix}`);
    return { candidates: ref ? [{ ref, via: `alias ${JSON.stringify(bare)} (${alias.file})` }] : [], finding: null };
  }
  const file = conf.searchSource ?? conf.files[0] ?? inp.options.registriesConf ?? path.join(inp.paths.containersDir, "registries.conf");
  if (conf.search.length === 0)
    return {
      candidates: [],
      finding: finding(
        "SHORT_NAME_UNRESOLVED",
        { name: input, reason: "did not resolve to an alias and no unqualified-search registries are defined", file },
        { aliases: Object.keys(conf.aliases).length, search: [] },
      ),
    };
  const candidates = conf.search.flatMap((reg) => {
    const ref = candidateRef(`${reg}/${bare}${suffix}`);
    return ref ? [{ ref, via: `unqualified-search-registries (${file})` }] : [];
  });
  if (conf.shortNameMode === "enforcing" && candidates.length > 1 && !inp.tty)
    return {
      candidates,
      finding: finding(
        "SHORT_NAME_UNRESOLVED",
        {
          name: input,
          reason: `short-name resolution enforced but cannot prompt without a TTY (search registries: ${conf.search.join(", ")})`,
          file,
        },
        { search: conf.search, mode: conf.shortNameMode },
      ),
    };
  return { candidates, finding: null };
}

/** A candidate as containers/image names it; with neither tag nor digest it gets :latest (shortnames.go#addCandidate). */
function candidateRef(name: string): ImageRef | null {
  try {
    return parseReference(name);
  } catch (e) {
    if (e instanceof ReferenceParseError) return null;
    throw e;
  }
}

/** registries.conf [aliases] first, then the recorded short-name-aliases.conf (root: /var/cache, else the user's cache). */
function aliasOf(inp: ClientInputs, conf: RegistriesConf, bare: string): { value: string; file: string } | null {
  const own = conf.aliases[bare];
  if (own) return { value: own, file: conf.aliasSources[bare] ?? "registries.conf" };
  const cache =
    inp.uid === 0
      ? "/var/cache/containers/short-name-aliases.conf"
      : path.join(inp.env.XDG_CACHE_HOME || path.join(inp.homeDir, ".cache"), "containers", "short-name-aliases.conf");
  const r = readLocalFile(cache);
  if (!r.ok) return null;
  const parsed = parseTomlFile(cache, new TextDecoder().decode(r.bytes));
  if ("problem" in parsed) return null;
  const aliases = parsed.doc.aliases;
  if (typeof aliases !== "object" || aliases === null) return null;
  const v = (aliases as Record<string, unknown>)[bare];
  return typeof v === "string" && v !== "" ? { value: v, file: cache } : null;
}
