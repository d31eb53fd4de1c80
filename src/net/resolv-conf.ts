import { readFileSync } from "node:fs";
import { isIP } from "./ip";
import { joinHostPort } from "./origin";

/**
 * /etc/resolv.conf as Go's resolver reads it (net/dnsconfig_unix.go), which is what the
 * Docker daemon uses to resolve registry hosts. The rules followed here:
 * - whole-line comments start with `#` or `;`; fields are split on blanks;
 * - at most 3 `nameserver` lines are kept; a value that is not an IP address is ignored;
 * - `domain X` sets the search list to [X]; `search A B` replaces it (`.` entries dropped);
 *   the last such line wins;
 * - options: `ndots:n` (clamped 0..15), `timeout:n` and `attempts:n` (at least 1),
 *   `rotate`, `single-request`/`single-request-reopen`, `use-vc`/`usevc`/`tcp`, `trust-ad`,
 *   `edns0`, `no-reload`; anything else is remembered as unknown;
 * - no nameserver (or no readable file) ⇒ 127.0.0.1:53 and [::1]:53.
 * Go also derives a search domain from the host name when none is configured; the doctor
 * has no injected host name, so that default is not reproduced.
 */
export interface ResolvConf {
  /** host:port, IPv6 in brackets: "10.0.0.2:53", "[fd00::53]:53". */
  servers: string[];
  /** Rooted suffixes ("corp.example.com."). */
  search: string[];
  ndots: number;
  timeoutMs: number;
  attempts: number;
  rotate: boolean;
  singleRequest: boolean;
  useTcp: boolean;
  /** true when no usable nameserver line was present and Go's defaults apply. */
  defaultServers: boolean;
  /** Lines or options Go ignores, nameservers beyond the third, read errors. */
  problems: string[];
}

export const GO_DEFAULT_SERVERS = ["127.0.0.1:53", "[::1]:53"];

function ensureRooted(name: string): string {
  return name.endsWith(".") ? name : `${name}.`;
}

/** Go's dtoi: leading decimal digits, 0 when there are none. */
function leadingInt(s: string): number {
  const m = /^\d+/.exec(s);
  return m ? Math.min(Number(m[0]), 0xffffff) : 0;
}

export function parseResolvConf(text: string): ResolvConf {
  const conf: ResolvConf = {
    servers: [],
    search: [],
    ndots: 1,
    timeoutMs: 5000,
    attempts: 2,
    rotate: false,
    singleRequest: false,
    useTcp: false,
    defaultServers: false,
    problems: [],
  };
  for (const line of text.split(/\r?\n/)) {
    if (line.startsWith("#") || line.startsWith(";")) continue;
    const f = line.split(/[ \t\r]+/).filter((x) => x !== "");
    if (f.length === 0) continue;
    switch (f[0]) {
      case "nameserver": {
        if (f.length < 2) break;
        if (conf.servers.length >= 3) {
          conf.problems.push(`nameserver ${f[1]} ignored: Go uses at most 3 nameservers`);
          break;
        }
        // Go accepts an IPv6 address with a zone (fe80::1%eth0); isIP (as node:net's) does not.
        const bare = f[1].split("%")[0];
        if (isIP(bare) !== 0) conf.servers.push(joinHostPort(f[1], 53));
        else conf.problems.push(`nameserver ${f[1]} ignored: not an IP address`);
        break;
      }
      case "domain":
        if (f.length > 1) conf.search = [ensureRooted(f[1])];
        break;
      case "search":
        conf.search = f
          .slice(1)
          .map(ensureRooted)
          .filter((s) => s !== ".");
        break;
      case "options":
        for (const s of f.slice(1)) {
          if (s.startsWith("ndots:")) conf.ndots = Math.min(15, Math.max(0, leadingInt(s.slice(6))));
          else if (s.startsWith("timeout:")) conf.timeoutMs = Math.max(1, leadingInt(s.slice(8))) * 1000;
          else if (s.startsWith("attempts:")) conf.attempts = Math.max(1, leadingInt(s.slice(9)));
          else if (s === "rotate") conf.rotate = true;
          else if (s === "single-request" || s === "single-request-reopen") conf.singleRequest = true;
          else if (s === "use-vc" || s === "usevc" || s === "tcp") conf.useTcp = true;
          else if (s === "trust-ad" || s === "edns0" || s === "no-reload") continue;
          else conf.problems.push(`option ${s} ignored by Go's resolver`);
        }
        break;
      case "lookup":
        break;
      default:
        conf.problems.push(`line ignored by Go's resolver: ${line.trim()}`);
    }
  }
  if (conf.servers.length === 0) {
    conf.servers = [...GO_DEFAULT_SERVERS];
    conf.defaultServers = true;
  }
  return conf;
}

/** Read and parse; an unreadable file gives Go's defaults and says why in `problems`. */
export function readResolvConf(path: string): ResolvConf {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (e) {
    const conf = parseResolvConf("");
    conf.problems.push(`${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
    return conf;
  }
  return parseResolvConf(text);
}

/**
 * The names Go tries for `name`, in order (dnsConfig.nameList): a rooted name only as is;
 * with at least `ndots` dots the name as is first, then each search suffix; with fewer,
 * the suffixes first and the name as is last. Names ending in `.onion` are never queried
 * (RFC 7686); names longer than 254 characters give nothing.
 */
export function nameList(name: string, conf: Pick<ResolvConf, "ndots" | "search">): string[] {
  if (name.endsWith(".")) return name.length > 254 || avoidDns(name) ? [] : [name];
  if (name.length > 253) return [];
  const rooted = `${name}.`;
  const hasNdots = name.split(".").length - 1 >= conf.ndots;
  const out: string[] = [];
  if (hasNdots && !avoidDns(rooted)) out.push(rooted);
  for (const suffix of conf.search) {
    const fqdn = rooted + suffix;
    if (!avoidDns(fqdn) && fqdn.length <= 254) out.push(fqdn);
  }
  if (!hasNdots && !avoidDns(rooted)) out.push(rooted);
  return out;
}

function avoidDns(name: string): boolean {
  return /\.onion\.?$/i.test(name);
}
