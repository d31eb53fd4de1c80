import { readdirSync } from "node:fs";
import path from "node:path";
import { readLocalFile } from "../host/local-file";
import type { FileProblem } from "./profile";
import { lineOf } from "./profile";
import { parseTomlFile } from "./toml-file";

/**
 * containers/image's registries.conf (v2) plus registries.conf.d/*.conf, merged in file order as
 * containers/image:pkg/sysregistriesv2/system_registries_v2.go does (tryUpdatingCache, mergeConfig,
 * postProcess, FindRegistry). Read only.
 */

export interface RegistryEntry {
  prefix: string;
  location: string;
  insecure: boolean;
  blocked: boolean;
  mirrorByDigestOnly: boolean;
  mirrors: { location: string; insecure: boolean }[];
  /** "file:line" of its [[registry]] table. */
  source: string;
}

export interface RegistriesConf {
  /** Files read, in merge order. */
  files: string[];
  registries: RegistryEntry[];
  search: string[];
  searchSource: string | null;
  shortNameMode: "enforcing" | "permissive" | "disabled";
  aliases: Record<string, string>;
  /** The file that set each alias. */
  aliasSources: Record<string, string>;
  /** `credential-helpers`, null when no file sets it (containers/image then uses ["containers-auth.json"]); "file:line". */
  credentialHelpers: string[] | null;
  credentialHelpersSource: string | null;
  /** v1 format, mixed formats, conflicting entries, syntax: each with file and line. */
  problems: (FileProblem & { fatal: boolean })[];
}

export function readRegistriesConf(main: string, dropInDir: string | null): RegistriesConf {
  const out: RegistriesConf = {
    files: [],
    registries: [],
    search: [],
    searchSource: null,
    shortNameMode: "permissive",
    aliases: {},
    aliasSources: {},
    credentialHelpers: null,
    credentialHelpersSource: null,
    problems: [],
  };
  const files = [main, ...listConf(dropInDir)];
  for (const [i, file] of files.entries()) {
    const r = readLocalFile(file);
    if (!r.ok) continue;
    out.files.push(file);
    mergeFile(out, file, new TextDecoder().decode(r.bytes), i > 0);
  }
  postProcess(out);
  return out;
}

function listConf(dir: string | null): string[] {
  if (!dir) return [];
  try {
    return readdirSync(dir)
      .filter((f) => f.endsWith(".conf"))
      .sort()
      .map((f) => path.join(dir, f));
  } catch {
    return [];
  }
}

/** Pure: one file's text merged into `out` (later files replace registries with the same prefix). */
export function mergeFile(out: RegistriesConf, file: string, text: string, dropIn: boolean): void {
  const parsed = parseTomlFile(file, text);
  if ("problem" in parsed) {
    out.problems.push({ ...parsed.problem, fatal: true });
    return;
  }
  const doc = parsed.doc;
  if (typeof doc.registries === "object" && doc.registries !== null) mergeV1(out, file, text, doc, dropIn);
  else {
    mergeSettings(out, file, text, doc);
    mergeRegistryTables(out, file, text, doc);
  }
}

/** A problem at a line of `file`; fatal ones stop containers/image from pulling at all. */
function fatal(out: RegistriesConf, file: string, line: number | null, message: string): void {
  out.problems.push({ path: file, line, column: null, fatal: true, message });
}

/** The v1 format: refused in a drop-in or next to v2 keys, else converted as containers/image does. */
function mergeV1(out: RegistriesConf, file: string, text: string, doc: Record<string, unknown>, dropIn: boolean): void {
  const line = lineOf(text, "[registries.");
  const v2 = doc.registry !== undefined || doc["unqualified-search-registries"] !== undefined;
  if (v2 || dropIn) {
    fatal(out, file, line, v2 ? "mixing sysregistry v1/v2 is not supported" : "registry must be in v2 format but is in v1");
    return;
  }
  out.problems.push({
    path: file,
    line,
    column: null,
    fatal: false,
    message: "v1 format ([registries.search]/[registries.insecure]/[registries.block]): deprecated, converted to v2 by containers/image",
  });
  fromV1(out, file, doc.registries as Record<string, { registries?: unknown }>, line);
}

/** unqualified-search-registries, short-name-mode and [aliases]: a later file's value wins; an empty alias removes one. */
function mergeSettings(out: RegistriesConf, file: string, text: string, doc: Record<string, unknown>): void {
  const search = doc["unqualified-search-registries"];
  if (Array.isArray(search)) {
    out.search = search.filter((s): s is string => typeof s === "string");
    out.searchSource = `${file}:${lineOf(text, "unqualified-search-registries") ?? "?"}`;
  }
  // A later file's list replaces the earlier one (containers-registries.conf(5), credential-helpers).
  const helpers = doc["credential-helpers"];
  if (Array.isArray(helpers)) {
    out.credentialHelpers = helpers.filter((h): h is string => typeof h === "string" && h !== "");
    out.credentialHelpersSource = `${file}:${lineOf(text, "credential-helpers") ?? "?"}`;
  }
  const mode = doc["short-name-mode"];
  if (mode === "enforcing" || mode === "permissive" || mode === "disabled") out.shortNameMode = mode;
  else if (mode !== undefined && mode !== "")
    fatal(out, file, lineOf(text, "short-name-mode"), `invalid short-name mode ${JSON.stringify(mode)}`);
  const aliases = doc.aliases;
  if (typeof aliases === "object" && aliases !== null)
    for (const [k, v] of Object.entries(aliases)) {
      if (typeof v !== "string") continue;
      if (v === "") delete out.aliases[k];
      else {
        out.aliases[k] = v;
        out.aliasSources[k] = file;
      }
    }
}

/** The [[registry]] tables, each checked as containers/image checks it. */
function mergeRegistryTables(out: RegistriesConf, file: string, text: string, doc: Record<string, unknown>): void {
  const regs = Array.isArray(doc.registry) ? (doc.registry as Record<string, unknown>[]) : [];
  const seen = new Map<string, number>();
  regs.forEach((r, n) => {
    const line = nthLine(text, "[[registry]]", n);
    const location = trimLocation(r.location);
    const prefix = trimLocation(r.prefix) || location;
    const entry: RegistryEntry = {
      prefix,
      location,
      insecure: r.insecure === true,
      blocked: r.blocked === true,
      mirrorByDigestOnly: r["mirror-by-digest-only"] === true,
      mirrors: (Array.isArray(r.mirror) ? (r.mirror as Record<string, unknown>[]) : []).map((m) => ({
        location: trimLocation(m.location),
        insecure: m.insecure === true,
      })),
      source: `${file}:${line ?? "?"}`,
    };
    if (/^https?:\/\//.test(String(r.location ?? "")) || /^https?:\/\//.test(String(r.prefix ?? "")))
      fatal(out, file, line, `invalid location '${r.location ?? r.prefix}': URI schemes are not supported`);
    if (prefix === "" && !entry.blocked) fatal(out, file, line, "invalid location: cannot be empty");
    if (seen.has(prefix))
      fatal(out, file, line, `registry ${JSON.stringify(prefix)} is defined more than once in this file (line ${seen.get(prefix)})`);
    seen.set(prefix, line ?? 0);
    // A drop-in's [[registry]] replaces an earlier one with the same prefix (mergeConfig).
    out.registries = [...out.registries.filter((x) => x.prefix !== prefix), entry];
  });
}

function fromV1(out: RegistriesConf, file: string, v1: Record<string, { registries?: unknown }>, line: number | null): void {
  const list = (k: string) =>
    Array.isArray(v1[k]?.registries) ? (v1[k]!.registries as unknown[]).filter((s): s is string => typeof s === "string") : [];
  out.search = list("search");
  out.searchSource = `${file}:${line ?? "?"}`;
  const get = (loc: string) => {
    const l = trimLocation(loc);
    let e = out.registries.find((r) => r.prefix === l);
    if (!e) {
      e = {
        prefix: l,
        location: l,
        insecure: false,
        blocked: false,
        mirrorByDigestOnly: false,
        mirrors: [],
        source: `${file}:${line ?? "?"}`,
      };
      out.registries.push(e);
    }
    return e;
  };
  for (const b of list("block")) get(b).blocked = true;
  for (const i of list("insecure")) get(i).insecure = true;
}

/** postProcess: the same location listed with different insecure/blocked settings is refused. */
function postProcess(out: RegistriesConf): void {
  for (const a of out.registries)
    for (const b of out.registries) {
      if (a === b || a.location !== b.location || a.location === "") continue;
      const what = a.insecure !== b.insecure ? "insecure" : a.blocked !== b.blocked ? "blocked" : null;
      if (what && out.registries.indexOf(a) < out.registries.indexOf(b)) {
        const [file, line] = splitSource(b.source);
        fatal(
          out,
          file,
          line,
          `registry '${a.location}' is defined multiple times with conflicting '${what}' setting (also at ${a.source})`,
        );
      }
    }
}

/** FindRegistry: the [[registry]] with the longest matching prefix (refMatchesPrefix; "*.example.com" matches subdomains). */
export function findRegistry(conf: RegistriesConf, name: string): RegistryEntry | null {
  let best: RegistryEntry | null = null;
  let len = 0;
  for (const r of conf.registries) {
    if (r.prefix.startsWith("*.")) {
      const host = name.split("/")[0]!.replace(/:\d+$/, "");
      if (host.endsWith(r.prefix.slice(1)) && r.prefix.length > len) {
        best = r;
        len = r.prefix.length;
      }
      continue;
    }
    const ok =
      name === r.prefix || (name.length > r.prefix.length && name.startsWith(r.prefix) && [":", "/", "@"].includes(name[r.prefix.length]!));
    if (ok && r.prefix.length > len) {
      best = r;
      len = r.prefix.length;
    }
  }
  return best;
}

function trimLocation(v: unknown): string {
  return typeof v === "string" ? v.replace(/\/+$/, "") : "";
}

function nthLine(text: string, needle: string, n: number): number | null {
  let at = -1;
  for (let i = 0; i <= n; i++) {
    at = text.indexOf(needle, at + 1);
    if (at < 0) return null;
  }
  return text.slice(0, at).split("\n").length;
}

function splitSource(s: string): [string, number | null] {
  const i = s.lastIndexOf(":");
  const n = Number(s.slice(i + 1));
  return [s.slice(0, i), Number.isInteger(n) ? n : null];
}
