import { statSync } from "node:fs";
import path from "node:path";
import type { Deps } from "../model/deps";
import { decodeFirstValue } from "./go-json";
import { type DecodedMap, type DecodedStruct, GO_STRING, goMap, goSlice, goStruct, unmarshal } from "./go-unmarshal";
import { readLocalFile } from "./local-file";

/**
 * The Docker client config (config.json) loaded as docker/cli loads it
 * (cli/config: Load, LoadFromReader): a missing file is an empty config; a file that does
 * not parse prints "WARNING: Error parsing config file (PATH): ERR" and Docker goes on
 * with whatever was decoded before the error — usually nothing, so it pulls anonymously.
 */

/** types.AuthConfig, with config.json's lower-case JSON names. */
export interface AuthEntry {
  username?: string;
  password?: string;
  auth?: string;
  email?: string;
  serveraddress?: string;
  identitytoken?: string;
  registrytoken?: string;
}

const AUTH_CONFIG = goStruct("types.AuthConfig", {
  username: GO_STRING,
  password: GO_STRING,
  auth: GO_STRING,
  email: GO_STRING,
  serveraddress: GO_STRING,
  identitytoken: GO_STRING,
  registrytoken: GO_STRING,
});
const STRING_MAP = goMap(GO_STRING, "map[string]string");
const PROXY_CONFIG = goStruct("configfile.ProxyConfig", {
  httpProxy: GO_STRING,
  httpsProxy: GO_STRING,
  noProxy: GO_STRING,
  ftpProxy: GO_STRING,
  allProxy: GO_STRING,
});
const STRING_FIELDS = [
  "psFormat",
  "imagesFormat",
  "networksFormat",
  "pluginsFormat",
  "volumesFormat",
  "statsFormat",
  "detachKeys",
  "credsStore",
  "serviceInspectFormat",
  "servicesFormat",
  "tasksFormat",
  "secretFormat",
  "configFormat",
  "nodesFormat",
  "currentContext",
  "experimental",
];
/** configfile.ConfigFile: every field, so a wrong type anywhere is reported as Docker reports it. */
export const CONFIG_FILE = goStruct("configfile.ConfigFile", {
  auths: goMap(AUTH_CONFIG, "map[string]types.AuthConfig"),
  HttpHeaders: STRING_MAP,
  credHelpers: STRING_MAP,
  pruneFilters: goSlice(GO_STRING, "[]string"),
  proxies: goMap(PROXY_CONFIG, "map[string]configfile.ProxyConfig"),
  cliPluginsExtraDirs: goSlice(GO_STRING, "[]string"),
  plugins: goMap(STRING_MAP, "map[string]map[string]string"),
  aliases: STRING_MAP,
  features: STRING_MAP,
  ...Object.fromEntries(STRING_FIELDS.map((f) => [f, GO_STRING])),
});

export interface ConfigFile {
  auths: Map<string, AuthEntry>;
  credsStore: string;
  credHelpers: Map<string, string>;
  /** `docker context use NAME` (selects the Engine the CLI talks to). */
  currentContext: string;
}

export interface ConfigProblem {
  /** Go's error text, as Docker prints it after "Error parsing config file (PATH): ". */
  message: string;
  kind: "read" | "syntax" | "type" | "auth";
  line?: number;
  column?: number;
  /** For "auth": the auths key whose `auth` value did not decode. */
  key?: string;
  /** For "read": pulldoctor did not read it on purpose (a pipe, a device, over the size limit). */
  refused?: boolean;
}

export interface LoadedConfig {
  path: string;
  found: boolean;
  kind: "config.json" | "dockerconfigjson" | "none";
  /** Where the path came from: --docker-config, $DOCKER_CONFIG or the home directory. */
  from: "--docker-config" | "DOCKER_CONFIG" | "home";
  file: ConfigFile;
  problem: ConfigProblem | null;
  /** What Docker prints on stderr for it (null when it loads cleanly). */
  warning: string | null;
  /** auths keys holding a secret in the file itself (base64 `auth`, `password`, or a token). */
  plaintextKeys: string[];
}

/** Which config.json Docker would read. */
export function locateConfig(dockerConfig: string | null, deps: Deps): { path: string; from: LoadedConfig["from"] } {
  if (dockerConfig) {
    let isDir = false;
    try {
      isDir = statSync(dockerConfig).isDirectory();
    } catch {
      isDir = !/\.(json|dockerconfigjson)$/i.test(dockerConfig);
    }
    return { path: isDir ? path.join(dockerConfig, "config.json") : dockerConfig, from: "--docker-config" };
  }
  const env = deps.env.DOCKER_CONFIG;
  if (env) return { path: path.join(env, "config.json"), from: "DOCKER_CONFIG" };
  return { path: path.join(deps.homeDir, ".docker", "config.json"), from: "home" };
}

export function emptyConfigFile(): ConfigFile {
  return { auths: new Map(), credsStore: "", credHelpers: new Map(), currentContext: "" };
}

export function loadDockerConfig(dockerConfig: string | null, deps: Deps): LoadedConfig {
  const { path: p, from } = locateConfig(dockerConfig, deps);
  const kind: LoadedConfig["kind"] = path.basename(p) === "config.json" ? "config.json" : "dockerconfigjson";
  const read = readLocalFile(p);
  if (!read.ok) {
    const err = "error" in read ? read.error : null;
    if (err?.code === "ENOENT")
      return { path: p, found: false, kind: "none", from, file: emptyConfigFile(), problem: null, warning: null, plaintextKeys: [] };
    const verb = err === null || err.code === "EISDIR" ? "read" : "open";
    const reason =
      err === null
        ? (read as { refused: string }).refused
        : err.code === "EACCES"
          ? "permission denied"
          : err.code === "EISDIR"
            ? "is a directory"
            : (err.message ?? String(err));
    const problem: ConfigProblem = { kind: "read", message: `${verb} ${p}: ${reason}`, ...(err === null ? { refused: true } : {}) };
    return { path: p, found: true, kind, from, file: emptyConfigFile(), problem, warning: warningFor(p, problem), plaintextKeys: [] };
  }
  const { file, problem, plaintextKeys } = parseConfigBytes(read.bytes);
  return { path: p, found: true, kind, from, file, problem, warning: problem ? warningFor(p, problem) : null, plaintextKeys };
}

function warningFor(p: string, problem: ConfigProblem): string {
  return `WARNING: Error parsing config file (${p}): ${problem.message}`;
}

/** LoadFromReader: decode, then turn each `auth` into username/password. */
export function parseConfigBytes(bytes: Uint8Array | string): { file: ConfigFile; problem: ConfigProblem | null; plaintextKeys: string[] } {
  const file = emptyConfigFile();
  const syntax = decodeFirstValue(bytes);
  if (syntax.error) {
    return {
      file,
      problem: { kind: "syntax", message: syntax.error.message, line: syntax.error.line, column: syntax.error.column },
      plaintextKeys: [],
    };
  }
  const decoded = unmarshal<DecodedStruct | undefined>(syntax.value, CONFIG_FILE);
  const v = decoded.value ?? {};
  if (v.auths instanceof Map) for (const [k, a] of v.auths) file.auths.set(k, { ...((a as AuthEntry | undefined) ?? {}) });
  if (typeof v.credsStore === "string") file.credsStore = v.credsStore;
  if (typeof v.currentContext === "string") file.currentContext = v.currentContext;
  if (v.credHelpers instanceof Map)
    for (const [k, h] of v.credHelpers as DecodedMap) file.credHelpers.set(k, typeof h === "string" ? h : "");
  const plaintextKeys = [...file.auths]
    .filter(([, a]) => Boolean(a.auth || a.password || a.identitytoken || a.registrytoken))
    .map(([k]) => k);
  if (decoded.error) {
    const off = syntax.value ? positionOfError(bytes, decoded.error) : null;
    return { file, problem: { kind: "type", message: decoded.error, ...(off ?? {}) }, plaintextKeys };
  }
  // Docker walks the map in Go's random order and stops at the first bad `auth`; the
  // entries it reached are decoded, the rest keep their raw `auth`. We walk in file order.
  for (const [key, a] of file.auths) {
    if (a.auth) {
      const r = decodeAuth(a.auth);
      if ("error" in r) return { file, problem: { kind: "auth", message: r.error, key }, plaintextKeys };
      a.username = r.username;
      a.password = r.password;
    }
    delete a.auth;
    a.serveraddress = key;
  }
  return { file, problem: null, plaintextKeys };
}

/** A best-effort line for a type error: the first line naming the field. */
function positionOfError(bytes: Uint8Array | string, message: string): { line: number; column: number } | null {
  const m = /Go struct field [^.]+\.([^ ]+) of type/.exec(message);
  if (!m) return null;
  const field = m[1]!.split(".").pop()!;
  const text = typeof bytes === "string" ? bytes : new TextDecoder().decode(bytes);
  const idx = text.toLowerCase().indexOf(`"${field.toLowerCase()}"`);
  if (idx < 0) return null;
  const before = text.slice(0, idx);
  const line = before.split("\n").length;
  return { line, column: idx - before.lastIndexOf("\n") };
}

/** configfile.decodeAuth: strict base64 (padding required, CR/LF skipped), then "user:password". */
export function decodeAuth(auth: string): { username: string; password: string } | { error: string } {
  if (auth === "") return { username: "", password: "" };
  const r = goBase64Decode(auth);
  if ("error" in r) return r;
  const s = new TextDecoder().decode(r.bytes);
  const colon = s.indexOf(":");
  if (colon < 0 || colon === 0) return { error: "invalid auth configuration file" };
  return { username: s.slice(0, colon), password: s.slice(colon + 1).replace(/^\0+|\0+$/g, "") };
}

const B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/** Go's base64.StdEncoding.DecodeString, with its "illegal base64 data at input byte N" offsets. */
export function goBase64Decode(src: string): { bytes: Uint8Array } | { error: string } {
  const s = new TextEncoder().encode(src);
  // At most 3 bytes per 4 input bytes; a preallocated buffer, not a JS array (a 16 MiB
  // `auth` value cost over a gigabyte as an array).
  const out = new Uint8Array(Math.floor(s.length / 4) * 3 + 3);
  let n = 0;
  const corrupt = (at: number) => ({ error: `illegal base64 data at input byte ${at}` });
  const nl = (c: number | undefined) => c === 0x0a || c === 0x0d;
  let si = 0;
  while (si < s.length) {
    const buf: number[] = [];
    let dlen = 4;
    for (let j = 0; j < 4; j++) {
      if (si === s.length) {
        if (j === 0) return { bytes: out.slice(0, n) };
        return corrupt(si - j);
      }
      const c = s[si++]!;
      const d = B64.indexOf(String.fromCharCode(c));
      if (c < 0x80 && d >= 0) {
        buf.push(d);
        continue;
      }
      if (nl(c)) {
        j--;
        continue;
      }
      if (c !== 0x3d) return corrupt(si - 1);
      if (j === 0 || j === 1) return corrupt(si - 1);
      if (j === 2) {
        while (si < s.length && nl(s[si])) si++;
        if (si === s.length) return corrupt(s.length);
        if (s[si] !== 0x3d) return corrupt(si - 1);
        si++;
      }
      while (si < s.length && nl(s[si])) si++;
      if (si < s.length) return corrupt(si);
      dlen = j;
      break;
    }
    const v = ((buf[0] ?? 0) << 18) | ((buf[1] ?? 0) << 12) | ((buf[2] ?? 0) << 6) | (buf[3] ?? 0);
    const bytes = [(v >> 16) & 0xff, (v >> 8) & 0xff, v & 0xff];
    for (let k = 0; k < dlen - 1; k++) out[n++] = bytes[k]!;
    if (dlen < 4) break;
  }
  return { bytes: out.slice(0, n) };
}
