import { isIP, isIPv4, isIPv6 } from "../net/ip";

/**
 * Docker's insecure-registries rule (daemon/pkg/registry/config.go): an entry is either a
 * CIDR, matched against the registry's IP addresses, or an exact host[:port]. 127.0.0.0/8
 * and ::1/128 are always insecure. Host names are matched against CIDRs only after they
 * resolve (the connect stage does that with the dns stage's addresses). `loopback` false: a
 * client without that default (containerd, containers/image), for which only the list counts.
 */
export function isInsecureByConfig(hostPort: string, hostname: string, entries: readonly string[], loopback = true): boolean {
  for (const raw of entries) {
    const e = raw.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
    if (e.includes("/")) {
      if (isIP(hostname) && inCidr(hostname, e)) return true;
      continue;
    }
    // Docker compares the index name (host[:port] as written in the reference) exactly.
    if (e === hostPort) return true;
  }
  return loopback && isIP(hostname) !== 0 && isLoopback(hostname);
}

/** Whether an address is insecure by Docker's defaults or a CIDR entry. */
export function addressIsInsecure(address: string, entries: readonly string[], loopback = true): boolean {
  if (loopback && isLoopback(address)) return true;
  return entries.some((e) => e.includes("/") && inCidr(address, e.replace(/^https?:\/\//i, "")));
}

export function isLoopback(address: string): boolean {
  if (isIPv4(address)) return address.startsWith("127.");
  return address === "::1" || address === "0:0:0:0:0:0:0:1";
}

export function inCidr(address: string, cidr: string): boolean {
  const [base, bitsStr] = cidr.split("/");
  const bits = Number(bitsStr);
  if (!base || !Number.isInteger(bits)) return false;
  const a = toBytes(address);
  const b = toBytes(base);
  if (!a || !b || a.length !== b.length || bits < 0 || bits > a.length * 8) return false;
  for (let i = 0; i < bits; i++) {
    const byte = i >> 3;
    const mask = 0x80 >> (i & 7);
    if ((a[byte]! & mask) !== (b[byte]! & mask)) return false;
  }
  return true;
}

export function toBytes(address: string): number[] | null {
  if (isIPv4(address)) return address.split(".").map(Number);
  if (!isIPv6(address)) return null;
  let s = address;
  const v4 = s.match(/(\d+\.\d+\.\d+\.\d+)$/);
  let tail: number[] = [];
  if (v4) {
    tail = v4[1]!.split(".").map(Number);
    s = `${s.slice(0, -v4[1]!.length)}0:0`;
  }
  const [head, rest] = s.split("::");
  const h = head ? head.split(":") : [];
  const r = rest !== undefined ? (rest ? rest.split(":") : []) : [];
  const fill = rest !== undefined ? 8 - h.length - r.length : 0;
  const groups = [...h, ...Array(fill).fill("0"), ...r].map((g) => parseInt(g || "0", 16));
  const bytes: number[] = [];
  for (const g of groups) bytes.push((g >> 8) & 0xff, g & 0xff);
  if (v4) bytes.splice(12, 4, ...tail);
  return bytes.length === 16 ? bytes : null;
}
