// A builtin loaded at first use: Bun compiles each node: module's source when it is first loaded,
// and a check that never needs it should not pay for it (docs/performance.md, "A lean HTTP client…").
const domainToASCII = (s: string) => (require("node:url") as typeof import("node:url")).domainToASCII(s);

import { joinHostPort } from "./origin";

/** Go's net.JoinHostPort (one copy, in origin.ts; the property tests name it here). */
export { joinHostPort };

/**
 * NO_PROXY matching exactly as golang.org/x/net/http/httpproxy does it (what dockerd,
 * the docker CLI and containerd use). The rules, checked against the 202 recorded
 * vectors in test/vectors/noproxy.json:
 * - split on "," only; each entry trimmed and lower-cased; "*" anywhere disables proxying;
 * - CIDRs and IP literals (optionally "ip:port" / "[v6]:port") match IP-literal hosts only;
 * - "example.com" matches itself and subdomains, ".example.com" / "*.example.com" subdomains only;
 * - "name:port" matches that port only;
 * - "localhost" and loopback IPs are never proxied (before NO_PROXY is even read).
 */

export type NoProxyEntry =
  | { kind: "all"; entry: string }
  | { kind: "cidr"; entry: string; net: Uint8Array; bits: number }
  | { kind: "ip"; entry: string; ip: Uint8Array; port: string }
  | { kind: "domain"; entry: string; suffix: string; port: string; matchHost: boolean };

export interface NoProxyDecision {
  useProxy: boolean;
  /** Why the request bypasses the proxy (null when it uses it). */
  bypass: { kind: "localhost" | "loopback" | "no-proxy" | "bad-address"; entry?: string } | null;
}

/** Go's net.SplitHostPort: host without brackets, or null on error. */
export function splitHostPort(hostport: string): { host: string; port: string } | null {
  const i = hostport.lastIndexOf(":");
  if (i < 0) return null;
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport.startsWith("[")) {
    const end = hostport.indexOf("]");
    if (end < 0) return null;
    if (end + 1 !== i) return null; // missing port, or "too many colons"
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(":")) return null;
  }
  if (hostport.slice(j).includes("[")) return null;
  if (hostport.slice(k).includes("]")) return null;
  return { host, port: hostport.slice(i + 1) };
}

function parseIPv4(s: string): number[] | null {
  const parts = s.split(".");
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    // Go (since 1.17) rejects leading zeros: "010.1.2.3" is not an IP.
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

/**
 * An IP literal as 16 bytes (IPv4 in its IPv4-mapped form, as Go's net.IP does), or
 * null. `allowZone` strips a "%zone" the way netip.ParseAddr does (request hosts only).
 */
export function parseIp(s: string, allowZone = false): Uint8Array | null {
  const v4 = parseIPv4(s);
  if (v4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  let addr = s;
  const pct = s.indexOf("%");
  if (pct >= 0) {
    if (!allowZone || pct === s.length - 1) return null;
    addr = s.slice(0, pct);
  }
  if (!addr.includes(":")) return null;
  const lastColon = addr.lastIndexOf(":");
  const last = addr.slice(lastColon + 1);
  if (last.includes(".")) {
    // Embedded IPv4 ("::ffff:10.1.2.3"): rewrite it as two hex groups.
    const t = parseIPv4(last);
    if (!t) return null;
    addr = `${addr.slice(0, lastColon + 1)}${((t[0]! << 8) | t[1]!).toString(16)}:${((t[2]! << 8) | t[3]!).toString(16)}`;
  }
  const halves = addr.split("::");
  if (halves.length > 2) return null;
  const group = (g: string): number | null => (/^[0-9a-fA-F]{1,4}$/.test(g) ? parseInt(g, 16) : null);
  const parseGroups = (h: string): number[] | null => {
    if (h === "") return [];
    const gs = h.split(":").map(group);
    return gs.some((g) => g === null) ? null : (gs as number[]);
  };
  const head = parseGroups(halves[0]!);
  const rest = halves.length === 2 ? parseGroups(halves[1]!) : [];
  if (!head || !rest) return null;
  const total = head.length + rest.length;
  if (halves.length === 1 ? total !== 8 : total > 7) return null;
  const groups = [...head, ...new Array(8 - total).fill(0), ...rest];
  const out = new Uint8Array(16);
  groups.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

function isV4Mapped(ip: Uint8Array): boolean {
  return ip.slice(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
}

export function isLoopback(ip: Uint8Array): boolean {
  if (isV4Mapped(ip)) return ip[12] === 127;
  return ip.slice(0, 15).every((b) => b === 0) && ip[15] === 1;
}

function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  return a.every((x, i) => x === b[i]);
}

function parseCidr(s: string): { net: Uint8Array; bits: number } | null {
  const slash = s.indexOf("/");
  if (slash < 0) return null;
  const ipText = s.slice(0, slash);
  const bitsText = s.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(bitsText)) return null;
  const ip = parseIp(ipText);
  if (!ip) return null;
  const v4 = parseIPv4(ipText) !== null;
  const bits = Number(bitsText);
  if (bits > (v4 ? 32 : 128)) return null;
  return { net: ip, bits: v4 ? bits + 96 : bits };
}

function inCidr(ip: Uint8Array, net: Uint8Array, bits: number): boolean {
  for (let i = 0; i < 16; i++) {
    const take = Math.max(0, Math.min(8, bits - i * 8));
    const mask = take === 0 ? 0 : (0xff << (8 - take)) & 0xff;
    if ((ip[i]! & mask) !== (net[i]! & mask)) return false;
  }
  return true;
}

/** Go's idnaASCII: ASCII stays as is; otherwise UTS-46 ToASCII, or the input on error. */
export function idnaAscii(s: string): string {
  if (/^[\x00-\x7f]*$/.test(s)) return s;
  const v = domainToASCII(s);
  return v === "" ? s : v;
}

/** Parse a NO_PROXY value into its matchers (Go's config.init). */
export function parseNoProxy(value: string): NoProxyEntry[] {
  const out: NoProxyEntry[] = [];
  for (const raw of value.split(",")) {
    const p = raw.trim().toLowerCase();
    if (p.length === 0) continue;
    if (p === "*") return [{ kind: "all", entry: "*" }];
    const cidr = parseCidr(p);
    if (cidr) {
      out.push({ kind: "cidr", entry: p, ...cidr });
      continue;
    }
    let phost = p;
    let pport = "";
    const hp = splitHostPort(p);
    if (hp) {
      if (hp.host.length === 0) continue; // ":443" — no host part: Go ignores the entry
      phost = hp.host.startsWith("[") && hp.host.endsWith("]") ? hp.host.slice(1, -1) : hp.host;
      pport = hp.port;
    }
    const ip = parseIp(phost);
    if (ip) {
      out.push({ kind: "ip", entry: p, ip, port: pport });
      continue;
    }
    if (phost.length === 0) continue;
    if (phost.startsWith("*.")) phost = phost.slice(1);
    let matchHost = false;
    if (!phost.startsWith(".")) {
      matchHost = true;
      phost = `.${phost}`;
    }
    out.push({ kind: "domain", entry: p, suffix: idnaAscii(phost), port: pport, matchHost });
  }
  return out;
}

/** Go's useProxy(addr): addr is "host:port" as canonicalAddr builds it. */
export function useProxy(addr: string, entries: readonly NoProxyEntry[]): NoProxyDecision {
  if (addr.length === 0) return { useProxy: true, bypass: null };
  const hp = splitHostPort(addr);
  if (!hp) return { useProxy: false, bypass: { kind: "bad-address" } };
  if (hp.host === "localhost") return { useProxy: false, bypass: { kind: "localhost" } };
  // netip.ParseAddr accepts a zone; the zone is dropped before matching (CVE-2025-22870).
  const ip = parseIp(hp.host, true);
  if (ip && isLoopback(ip)) return { useProxy: false, bypass: { kind: "loopback" } };
  const host = hp.host.trim().toLowerCase();
  for (const m of entries) {
    if (matches(m, host, hp.port, ip)) return { useProxy: false, bypass: { kind: "no-proxy", entry: m.entry } };
  }
  return { useProxy: true, bypass: null };
}

function matches(m: NoProxyEntry, host: string, port: string, ip: Uint8Array | null): boolean {
  switch (m.kind) {
    case "all":
      return true;
    case "cidr":
      return ip !== null && inCidr(ip, m.net, m.bits);
    case "ip":
      return ip !== null && sameIp(ip, m.ip) && (m.port === "" || m.port === port);
    case "domain":
      // An IP literal (zone included) is never matched as a name: "[::1%25.example.com]"
      // must not match ".example.com" (CVE-2025-22870, x/net v0.36.0).
      if (ip !== null) return false;
      if (host.endsWith(m.suffix) || (m.matchHost && host === m.suffix.slice(1))) return m.port === "" || m.port === port;
      return false;
  }
}
