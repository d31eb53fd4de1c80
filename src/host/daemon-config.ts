import { readdirSync } from "node:fs";
import path from "node:path";
import type { ProxySettings } from "../model/facts";
import { decodeFirstValue, goQuoteChar, hasMore } from "./go-json";
import { readLocalFile } from "./local-file";

/**
 * What the Docker daemon would run with: /etc/docker/daemon.json (read as dockerd reads
 * it: trimmed, empty is fine, anything else must be one JSON object or the daemon refuses
 * to start) and the proxy variables of its systemd unit (docker.service.d drop-ins).
 */

export interface DaemonJson {
  path: string;
  found: boolean;
  mirrors: string[];
  insecureRegistries: string[];
  proxies: ProxySettings | null;
  /** dockerd's own words after "unable to configure the Docker daemon with file PATH: ". */
  problem: { message: string; kind: "read" | "syntax" | "type"; line?: number; column?: number; refused?: boolean } | null;
  /** Top-level keys present (never values: a daemon.json may hold secrets in other keys). */
  keys: string[];
  /**
   * Where dockerd 20.10 (Debian 12's docker.io; it read the file as a stream) differs: its
   * error text, or null when it accepts the file. Absent when both agree (seen with the
   * real dockerd 20.10 here).
   */
  dockerd20?: string | null;
}

export function readDaemonJson(file: string): DaemonJson {
  const out: DaemonJson = { path: file, found: false, mirrors: [], insecureRegistries: [], proxies: null, problem: null, keys: [] };
  const read = readLocalFile(file);
  if (!read.ok) {
    if ("refused" in read)
      return { ...out, found: true, problem: { kind: "read", message: `read ${file}: ${read.refused}`, refused: true } };
    const err = read.error;
    if (err.code === "ENOENT" || err.code === "ENOTDIR") return out;
    out.found = true;
    out.problem = {
      kind: "read",
      message: `open ${file}: ${err.code === "EACCES" ? "permission denied" : err.code === "EISDIR" ? "is a directory" : err.message}`,
    };
    return out;
  }
  out.found = true;
  return { ...out, ...parseDaemonJson(new TextDecoder("utf-8", { ignoreBOM: true }).decode(read.bytes)) };
}

const PROXY_KEYS = new Map<string, "http" | "https" | "no">([
  ["http-proxy", "http"],
  ["https-proxy", "https"],
  ["no-proxy", "no"],
]);

/** dockerd's getConflictFreeConfiguration: TrimSpace, then json.Unmarshal (whole input). */
export function parseDaemonJson(
  text: string,
): Pick<DaemonJson, "mirrors" | "insecureRegistries" | "proxies" | "problem" | "keys" | "dockerd20"> {
  const none = { mirrors: [], insecureRegistries: [], proxies: null, keys: [] };
  const trimmed = text.trim();
  // Current dockerd trims the file and accepts an empty one; dockerd 20.10 said "EOF" and stopped.
  if (trimmed === "") return { ...none, problem: null, dockerd20: "EOF" };
  const bytes = new TextEncoder().encode(text);
  const r = decodeFirstValue(bytes);
  if (r.error) {
    // json.Unmarshal says "unexpected end of JSON input" where 20.10's Decoder said "unexpected EOF".
    if (r.error.message === "unexpected EOF")
      return {
        ...none,
        problem: { kind: "syntax", message: "unexpected end of JSON input", line: r.error.line, column: r.error.column },
        dockerd20: "unexpected EOF",
      };
    return { ...none, problem: { kind: "syntax", message: r.error.message, line: r.error.line, column: r.error.column } };
  }
  if (hasMore(bytes, r.end)) {
    let k = r.end;
    while (bytes[k] === 0x20 || bytes[k] === 0x0a || bytes[k] === 0x09 || bytes[k] === 0x0d) k++;
    const before = new TextDecoder().decode(bytes.subarray(0, k));
    // dockerd 20.10 read the first value only and started.
    return {
      ...none,
      problem: {
        kind: "syntax",
        message: `invalid character ${goQuoteChar(bytes[k]!)} after top-level value`,
        line: before.split("\n").length,
        column: k - before.lastIndexOf("\n"),
      },
      dockerd20: null,
    };
  }
  const v = r.value!;
  if (v.t !== "object")
    return { ...none, problem: { kind: "type", message: `json: cannot unmarshal ${v.t} into Go value of type map[string]interface {}` } };
  const keys = v.entries.map(([k]) => k);
  let problem: DaemonJson["problem"] = null;
  const typeErr = (field: string, got: string, want: string) => {
    problem ??= { kind: "type", message: `json: cannot unmarshal ${got} into Go struct field Config.${field} of type ${want}` };
  };
  const strings = (field: string): string[] => {
    const e = v.entries.filter(([k]) => k === field).pop()?.[1];
    if (!e || e.t === "null") return [];
    if (e.t !== "array") {
      typeErr(field, e.t, "[]string");
      return [];
    }
    return e.items.flatMap((x) => {
      if (x.t === "string") return [x.v];
      typeErr(field, x.t, "string");
      return [];
    });
  };
  const mirrors = strings("registry-mirrors");
  const insecureRegistries = strings("insecure-registries");
  let proxies: ProxySettings | null = null;
  const p = v.entries.filter(([k]) => k === "proxies").pop()?.[1];
  if (p && p.t === "object") {
    proxies = {};
    for (const [k, x] of p.entries) {
      // A Map, not an object literal: "constructor" or "__proto__" must not find Object.prototype's members.
      const name = PROXY_KEYS.get(k);
      if (!name) continue;
      if (x.t === "string") proxies[name] = x.v;
      else if (x.t !== "null") typeErr(`proxies.${k}`, x.t, "string");
    }
  } else if (p && p.t !== "null") typeErr("proxies", p.t, "config.Proxies");
  return { mirrors, insecureRegistries, proxies, problem, keys };
}

export interface DropInProxies {
  /** Drop-in files read, in the order systemd applies them. */
  files: string[];
  /** Files that set a proxy variable. */
  setBy: string[];
  proxies: ProxySettings | null;
  /** The unit's environment after every file (what the service's process sees). */
  env: Record<string, string>;
  /** The file that last set each variable of `env`. */
  origin: Record<string, string>;
}

/**
 * docker.service.d/*.conf: `Environment=` lines, quoted or not, several assignments per
 * line. A file name in an earlier directory (/etc) hides the same name in later ones
 * (/run, /usr/lib); files apply in name order; an empty `Environment=` resets. `units`: the
 * unit file's own paths, earliest first; the first that exists applies before the drop-ins.
 */
export function readDropIns(dirs: readonly string[], units: readonly string[] = []): DropInProxies {
  const byName = new Map<string, string>();
  for (const dir of dirs) {
    let names: string[];
    try {
      names = readdirSync(dir).filter((n) => n.endsWith(".conf"));
    } catch {
      continue;
    }
    for (const n of names) if (!byName.has(n)) byName.set(n, path.join(dir, n));
  }
  const unit = units.find((u) => readLocalFile(u).ok);
  const files = [...(unit ? [unit] : []), ...[...byName.keys()].sort().map((n) => byName.get(n)!)];
  const state: DropInState = { env: new Map(), origin: new Map(), setBy: new Set() };
  // Most hosts have no drop-in: the parsing is a function of its own, compiled only for one.
  for (const file of files) applyDropIn(file, state);
  const { env, origin, setBy } = state;
  // Go's httpproxy reads the upper-case name first, then the lower-case one.
  const pick = (upper: string) => env.get(upper) ?? env.get(upper.toLowerCase());
  const http = pick("HTTP_PROXY");
  const https = pick("HTTPS_PROXY");
  const no = pick("NO_PROXY");
  const proxies = http || https || no ? { ...(http ? { http } : {}), ...(https ? { https } : {}), ...(no ? { no } : {}) } : null;
  return { files, setBy: [...setBy], proxies, env: Object.fromEntries(env), origin: Object.fromEntries(origin) };
}

interface DropInState {
  env: Map<string, string>;
  /** The file that set each variable. */
  origin: Map<string, string>;
  /** Files that set a proxy variable. */
  setBy: Set<string>;
}

/** One unit file or drop-in's `Environment=` lines of [Service], applied in order. */
function applyDropIn(file: string, state: DropInState): void {
  const read = readLocalFile(file);
  if (!read.ok) return;
  const text = new TextDecoder("utf-8", { ignoreBOM: true }).decode(read.bytes);
  let section = "";
  for (const raw of text.replace(/\\\n/g, " ").split("\n")) {
    const line = raw.trim();
    if (line.startsWith("[")) section = line;
    if (section !== "[Service]" || !/^Environment\s*=/.test(line)) continue;
    const value = line.replace(/^Environment\s*=\s*/, "");
    if (value === "") {
      state.env = new Map();
      state.origin = new Map();
      continue;
    }
    for (const assignment of splitAssignments(value)) {
      const eq = assignment.indexOf("=");
      if (eq <= 0) continue;
      const name = assignment.slice(0, eq);
      state.env.set(name, assignment.slice(eq + 1));
      state.origin.set(name, file);
      if (/^(https?|no)_proxy$/i.test(name)) state.setBy.add(file);
    }
  }
}

/** systemd's word splitting for Environment=: double or single quotes group, backslash escapes. */
function splitAssignments(s: string): string[] {
  const out: string[] = [];
  let cur = "";
  let quote: string | null = null;
  let inWord = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (quote) {
      if (c === "\\" && i + 1 < s.length) cur += s[++i];
      else if (c === quote) quote = null;
      else cur += c;
    } else if (c === '"' || c === "'") {
      quote = c;
      inWord = true;
    } else if (c === " " || c === "\t") {
      if (inWord) out.push(cur);
      [cur, inWord] = ["", false];
    } else {
      cur += c === "\\" && i + 1 < s.length ? s[++i] : c;
      inWord = true;
    }
  }
  if (inWord) out.push(cur);
  return out;
}
