import { readFileSync } from "node:fs";
import { isIP } from "./ip";

/**
 * /etc/hosts as Go's resolver reads it (net/hosts.go), consulted before DNS when
 * nsswitch says `hosts: files dns` (the default): text after `#` is a comment, a line needs
 * an address and at least one name, an address that is not an IP literal drops the line,
 * names match case-insensitively with or without a trailing dot, and every matching line
 * contributes its address in file order.
 */
export interface HostsMatch {
  /** Addresses for the name, in file order (duplicates kept once). */
  addresses: string[];
  /** The matching lines as written, with their 1-based line numbers: "3: 10.0.0.9 registry.corp". */
  lines: string[];
}

function canonicalName(name: string): string {
  const lower = name.toLowerCase();
  return lower.endsWith(".") ? lower : `${lower}.`;
}

export function lookupHostsText(text: string, name: string): HostsMatch {
  const want = canonicalName(name);
  const out: HostsMatch = { addresses: [], lines: [] };
  text.split(/\r?\n/).forEach((raw, i) => {
    const hash = raw.indexOf("#");
    const line = hash >= 0 ? raw.slice(0, hash) : raw;
    const f = line.split(/[ \t\r]+/).filter((x) => x !== "");
    if (f.length < 2) return;
    const addr = f[0];
    if (isIP(addr.split("%")[0]) === 0) return;
    if (!f.slice(1).some((n) => canonicalName(n) === want)) return;
    if (!out.addresses.includes(addr)) out.addresses.push(addr);
    out.lines.push(`${i + 1}: ${raw.trim()}`);
  });
  return out;
}

/** Look the name up in a hosts file; a missing/unreadable file matches nothing (as in Go). */
export function lookupHostsFile(path: string, name: string): HostsMatch & { error: string | null } {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    return { addresses: [], lines: [], error: `${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}` };
  }
  return { ...lookupHostsText(text, name), error: null };
}
