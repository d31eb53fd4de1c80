// A builtin loaded at first use: Bun compiles each node: module's source when it is first loaded,
// and a check that never needs it should not pay for it (docs/performance.md, "A lean HTTP client…").
const dgram = () => require("node:dgram") as typeof import("node:dgram");

import type { ResolvedAddress } from "../model/facts";
import { isIP } from "./ip";

/**
 * The order Go gives DNS answers before dialing (net/addrselect.go sortByRFC6724), reduced to
 * the rules that decide the order in practice:
 * - Rule 1: addresses this host has no source address for (no route: the UDP "connect" to
 *   port 9 that Go also uses fails) go last;
 * - Rule 6: higher RFC 6724 precedence first (::1 50, global IPv6 40, IPv4 35, 6to4 30,
 *   Teredo 5, ULA fc00::/7 3, site-local/6bone 1);
 * - otherwise the order of the answers is kept (sort.Stable).
 * Addresses from /etc/hosts are not sorted (Go returns them in file order).
 */
async function hasSource(a: ResolvedAddress, timeoutMs: number): Promise<boolean> {
  return await new Promise<boolean>((resolve) => {
    const sock = dgram().createSocket(a.family === 6 ? "udp6" : "udp4");
    let done = false;
    const finish = (ok: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      try {
        sock.close();
      } catch {
        // already closed
      }
      resolve(ok);
    };
    const timer = setTimeout(() => finish(false), timeoutMs);
    sock.on("error", () => finish(false));
    // No packet is sent: connect() on a UDP socket only asks the kernel for a route.
    sock.connect(9, a.address, () => finish(true));
  });
}

function expandV6(addr: string): number[] {
  const [head, tail] = addr.split("%")[0].split("::");
  // A trailing dotted quad (::ffff:10.0.0.1) is two 16-bit words.
  const parse = (s: string | undefined) =>
    (s ? s.split(":").filter((x) => x !== "") : []).flatMap((x) => {
      if (!x.includes(".")) return [parseInt(x, 16)];
      const b = x.split(".").map(Number);
      return [(b[0] << 8) | b[1], (b[2] << 8) | b[3]];
    });
  const h = parse(head);
  const t = tail === undefined ? [] : parse(tail);
  return [...h, ...new Array(Math.max(0, 8 - h.length - t.length)).fill(0), ...t];
}

/** RFC 6724 policy-table precedence. */
export function precedence(a: ResolvedAddress): number {
  if (a.family === 4) return 35;
  const w = expandV6(a.address);
  if (w.every((x, i) => (i < 7 ? x === 0 : x === 1))) return 50; // ::1
  if (w.slice(0, 5).every((x) => x === 0) && w[5] === 0xffff) return 35; // ::ffff:0:0/96
  if (w[0] === 0x2002) return 30; // 6to4
  if (w[0] === 0x2001 && w[1] === 0) return 5; // Teredo
  if ((w[0] & 0xfe00) === 0xfc00) return 3; // ULA
  if ((w[0] & 0xffc0) === 0xfec0 || w[0] === 0x3ffe) return 1; // site-local, 6bone
  if (w.slice(0, 6).every((x) => x === 0)) return 1; // ::/96 (IPv4-compatible)
  return 40;
}

export async function sortLikeGo(addrs: ResolvedAddress[]): Promise<ResolvedAddress[]> {
  if (addrs.length < 2) return addrs;
  const usable = await Promise.all(addrs.map((a) => (isIP(a.address.split("%")[0]) ? hasSource(a, 200) : Promise.resolve(false))));
  const keyed = addrs.map((a, i) => ({ a, i, ok: usable[i], prec: precedence(a) }));
  keyed.sort((x, y) => (x.ok !== y.ok ? (x.ok ? -1 : 1) : y.prec - x.prec || x.i - y.i));
  return keyed.map((k) => k.a);
}
