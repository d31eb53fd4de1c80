/*
 * node:net's isIP, isIPv4 and isIPv6, with the same answers (test/property/ip.property.test.ts
 * compares them on random and edge-case strings), without loading node:net: a check that never
 * opens a node:net socket would otherwise load and compile it, with node:stream and node:events
 * under it, only to ask whether a host is an address (docs/performance.md, "Sockets without node:net").
 */

const V4_PART = "(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]\\d|\\d)";
const V4 = new RegExp(`^(?:${V4_PART}\\.){3}${V4_PART}$`);
const HEX = /^[0-9a-fA-F]{1,4}$/;
/** A zone after '%' ("fe80::1%eth0"), as Node's grammar allows it. */
const ZONE = /^[0-9a-zA-Z\-.:]+$/;

export function isIPv4(s: string): boolean {
  return V4.test(s);
}

export function isIPv6(s: string): boolean {
  const pct = s.indexOf("%");
  if (pct >= 0 && !ZONE.test(s.slice(pct + 1))) return false;
  const addr = pct >= 0 ? s.slice(0, pct) : s;
  const halves = addr.split("::");
  if (halves.length > 2) return false;
  const groups = (h: string): string[] | null => (h === "" ? [] : h.split(":"));
  const head = groups(halves[0] ?? "");
  const tail = halves.length === 2 ? groups(halves[1] ?? "") : null;
  if (!head) return false;
  const all = tail ? [...head, ...tail] : head;
  // An IPv4 tail ("::ffff:1.2.3.4") stands for two groups; it ends the address.
  const last = (tail ?? head).at(-1);
  let count = all.length;
  if (last?.includes(".")) {
    if (!isIPv4(last)) return false;
    all.pop();
    count++;
  }
  if (!all.every((g) => HEX.test(g))) return false;
  return tail ? count <= 7 : count === 8;
}

export function isIP(s: string): 0 | 4 | 6 {
  return isIPv4(s) ? 4 : isIPv6(s) ? 6 : 0;
}
