import { statSync } from "node:fs";
import path from "node:path";
import { readLocalFile } from "../host/local-file";
import { bareHost } from "../net/origin";
import type { Capability, ClientHost, FileProblem } from "./profile";
import { lineOf } from "./profile";
import { parseTomlFile } from "./toml-file";

/**
 * containerd's hosts.toml trees, read as containerd reads them
 * (containerd/containerd:core/remotes/docker/config/hosts.go, config_unix.go). Nothing is written.
 */

const ALL_CAPS: Capability[] = ["pull", "resolve", "push"];
const KNOWN_CAPS = new Set<string>(["pull", "resolve", "push", "referrers"]);

/** config_unix.go#hostPaths: `<host>_<port>_` (when there is a port), `<host:port>`, then `_default`. */
export function hostDirCandidates(root: string, host: string): string[] {
  const i = host.lastIndexOf(":");
  const out = i > 0 ? [path.join(root, `${host.slice(0, i)}_${host.slice(i + 1)}_`)] : [];
  return [...out, path.join(root, host), path.join(root, "_default")];
}

export interface HostsLookup {
  /** Every directory looked at, in order, and whether it exists. */
  tried: { dir: string; exists: boolean }[];
  /** The directory containerd uses (the first that exists), or null. */
  dir: string | null;
  file: string | null;
  /** The hosts in the order containerd tries them (the ref host last unless `server` names another). */
  hosts: ClientHost[];
  /** hosts.toml did not decode: containerd logs "failed to decode" and keeps only the dir's cert files. */
  problem: FileProblem | null;
}

/** The hosts containerd would try for `refHost` with these roots (CRI local mode: first root with a dir wins). */
export function lookupHosts(roots: readonly string[], refHost: string, defaultScheme?: "http"): HostsLookup {
  const tried: HostsLookup["tried"] = [];
  for (const root of roots) {
    for (const dir of hostDirCandidates(root, refHost)) {
      const exists = isDir(dir);
      tried.push({ dir, exists });
      if (!exists) continue;
      const file = path.join(dir, "hosts.toml");
      const read = readLocalFile(file);
      const text = read.ok ? new TextDecoder().decode(read.bytes) : "";
      // loadHostDir: an absent or empty hosts.toml means Docker-style cert files only.
      if (text === "") return { tried, dir, file: null, hosts: finishHosts([], refHost, defaultScheme, dir), problem: null };
      const parsed = parseHostsToml(file, text);
      if ("problem" in parsed) return { tried, dir, file, hosts: finishHosts([], refHost, defaultScheme, dir), problem: parsed.problem };
      return { tried, dir, file, hosts: finishHosts(parsed.hosts, refHost, defaultScheme, dir), problem: null };
    }
  }
  return { tried, dir: null, file: null, hosts: finishHosts([], refHost, defaultScheme, null), problem: null };
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** One entry before the ref host is filled in: `host` "" = server omitted. */
interface RawHost {
  scheme: "https" | "http";
  host: string;
  path: string;
  capabilities: Capability[];
  ca: string[] | null;
  client: [string, string][] | null;
  skipVerify: boolean | null;
  source: string;
}

/** hosts.go#parseHostsFile: `[host."URL"]` tables in file order, then the top-level `server`. Pure. */
export function parseHostsToml(file: string, text: string): { hosts: RawHost[] } | { problem: FileProblem } {
  const parsed = parseTomlFile(file, text);
  if ("problem" in parsed) return parsed;
  const doc = parsed.doc;
  const dir = path.dirname(file);
  const hosts: RawHost[] = [];
  const tables = doc.host ?? {};
  if (typeof tables !== "object" || Array.isArray(tables) || tables === null)
    return { problem: { path: file, line: lineOf(text, "host"), column: null, message: `"host" must be a table of [host."URL"] entries` } };
  // Object keys keep insertion order, which is file order: what getSortedHosts reads.
  for (const [url, cfg] of Object.entries(tables as Record<string, unknown>)) {
    const where = lineOf(text, `"${url}"`) ?? lineOf(text, url);
    const h = hostEntry(url, cfg, dir, `${file}:${where ?? "?"}`);
    if (typeof h === "string") return { problem: { path: file, line: where, column: null, message: `[host."${url}"]: ${h}` } };
    hosts.push(h);
  }
  const server = doc.server;
  if (server !== undefined && typeof server !== "string")
    return { problem: { path: file, line: lineOf(text, "server"), column: null, message: `"server" must be a string` } };
  const top = hostEntry(server ?? "", doc, dir, `${file}:${server ? (lineOf(text, "server") ?? "?") : "(implicit)"}`);
  if (typeof top === "string") return { problem: { path: file, line: null, column: null, message: top } };
  hosts.push(top);
  return { hosts };
}

/** hosts.go#parseHostConfig: one host's fields, with go-toml's type strictness. An error is a string. */
function hostEntry(server: string, cfg: unknown, dir: string, source: string): RawHost | string {
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) return "must be a table";
  const c = cfg as Record<string, unknown>;
  const out: RawHost = { scheme: "https", host: "", path: "/v2", capabilities: ALL_CAPS, ca: null, client: null, skipVerify: null, source };
  const override = c.override_path ?? false;
  if (typeof override !== "boolean") return `override_path must be true or false, not ${JSON.stringify(override)}`;
  if (server !== "") {
    let u: URL;
    try {
      u = new URL(server.startsWith("http") ? server : `https://${server}`);
    } catch {
      return `unable to parse server ${server}`;
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") return `unsupported scheme in ${server}`;
    out.scheme = u.protocol === "http:" ? "http" : "https";
    out.host = u.host;
    const p = path.posix.normalize(u.pathname).replace(/\/$/, "");
    out.path = p === "" ? (override ? "" : "/v2") : p.endsWith("/v2") || override ? p : `${p}/v2`;
  }
  if (c.skip_verify !== undefined) {
    if (typeof c.skip_verify !== "boolean") return `skip_verify must be true or false, not ${JSON.stringify(c.skip_verify)}`;
    out.skipVerify = c.skip_verify;
  }
  if (c.capabilities !== undefined) {
    if (!Array.isArray(c.capabilities) || c.capabilities.some((x) => typeof x !== "string"))
      return "capabilities must be a list of strings";
    const caps = (c.capabilities as string[]).map((x) => x.toLowerCase());
    const bad = caps.find((x) => !KNOWN_CAPS.has(x));
    if (bad !== undefined) return `unknown capability ${bad}`;
    if (caps.length > 0) out.capabilities = [...new Set(caps)] as Capability[];
  }
  const abs = (p: string) => (path.isAbsolute(p) ? p : path.join(dir, p));
  if (c.ca !== undefined) {
    if (typeof c.ca === "string") out.ca = [abs(c.ca)];
    else if (Array.isArray(c.ca) && c.ca.every((x) => typeof x === "string")) out.ca = (c.ca as string[]).map(abs);
    else return `invalid type for "ca": ${JSON.stringify(c.ca)}`;
  }
  if (c.client !== undefined) {
    const pairs: [string, string][] = [];
    const items = typeof c.client === "string" ? [c.client] : Array.isArray(c.client) ? c.client : null;
    if (items === null) return `invalid type for "client": ${JSON.stringify(c.client)}`;
    for (const it of items) {
      if (typeof it === "string") pairs.push([abs(it), ""]);
      else if (Array.isArray(it) && it.length === 2 && it.every((x) => typeof x === "string")) pairs.push([abs(it[0]), abs(it[1])]);
      else return `invalid pair ${JSON.stringify(it)} for "client"`;
    }
    out.client = pairs;
  }
  if (c.dial_timeout !== undefined && (typeof c.dial_timeout !== "string" || !/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(c.dial_timeout)))
    return `dial_timeout: invalid duration ${JSON.stringify(c.dial_timeout)}`;
  return out;
}

/**
 * hosts.go#ConfigureHosts: the last entry without a server becomes the ref host (docker.io →
 * registry-1.docker.io; localhost with a port → http with skip_verify, i.e. https first then http),
 * and an http host with TLS settings on a port other than 80 tries https first.
 */
function finishHosts(raw: RawHost[], refHost: string, defaultScheme: "http" | undefined, dir: string | null): ClientHost[] {
  const list = raw.length > 0 ? raw : [{ ...emptyHost(), source: dir ? `${dir} (no hosts.toml: cert files only)` : "default" }];
  const last = list[list.length - 1]!;
  if (last.host === "") {
    last.path = "/v2";
    last.capabilities = ALL_CAPS;
    if (refHost === "docker.io") {
      last.scheme = "https";
      last.host = "registry-1.docker.io";
    } else if (isLocalhost(refHost) && defaultScheme === undefined) {
      last.host = refHost;
      const port = portOf(refHost);
      last.scheme = port === "" || port === "443" ? "https" : "http";
      if (port !== "80") last.skipVerify = true;
    } else {
      last.host = refHost;
      last.scheme = defaultScheme ?? "https";
    }
  }
  return list.map((h, i) => {
    const explicitTls = h.ca !== null || h.client !== null || h.skipVerify !== null;
    const fallback = h.scheme === "http" && explicitTls && portOf(h.host) !== "80";
    const scheme = fallback ? "https" : h.scheme;
    return {
      url: `${scheme}://${h.host}`,
      host: h.host,
      scheme,
      path: h.path,
      capabilities: h.capabilities,
      // loadHostDir: without a hosts.toml that decodes, the dir's Docker-style cert files are read instead.
      tls: { ca: h.ca ?? [], client: h.client ?? [], skipVerify: h.skipVerify, certFiles: raw.length === 0 ? dir : null },
      httpFallback: fallback,
      role: i === list.length - 1 ? "upstream" : "mirror",
      source: h.source,
    };
  });
}

function emptyHost(): RawHost {
  return { scheme: "https", host: "", path: "/v2", capabilities: ALL_CAPS, ca: null, client: null, skipVerify: null, source: "default" };
}

function portOf(host: string): string {
  const m = /:(\d+)$/.exec(host);
  return m ? m[1]! : "";
}

/** core/remotes/docker/resolver.go#IsLocalhost: "localhost" or a loopback IP, any port. */
export function isLocalhost(host: string): boolean {
  const name = bareHost(host.replace(/:\d+$/, ""));
  return name === "localhost" || /^127\./.test(name) || name === "::1";
}
