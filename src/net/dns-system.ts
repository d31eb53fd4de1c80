// A builtin loaded at first use: Bun compiles each node: module's source when it is first loaded,
// and a check that never needs it should not pay for it (docs/performance.md, "A lean HTTP client…").
const dns = () => require("node:dns") as typeof import("node:dns");

import type { ResolvedAddress } from "../model/facts";
import { settleOnce } from "./settle";

/**
 * What the operating system's resolver (getaddrinfo: nsswitch, systemd-resolved, a VPN's
 * split DNS, mDNS…) answers for a host. Docker's daemon does not use it (Go's own resolver
 * reads /etc/hosts and /etc/resolv.conf), so a disagreement explains "it resolves for curl
 * but not for docker pull". getaddrinfo cannot be cancelled: the wait is bounded instead.
 */
export interface SystemLookup {
  addresses: ResolvedAddress[];
  /** "ENOTFOUND", "EAI_AGAIN", "timeout", "aborted", … or null. */
  code: string | null;
  error: string | null;
  durationMs: number;
}

export function systemLookup(hostname: string, opts: { timeoutMs: number; signal?: AbortSignal }): Promise<SystemLookup> {
  const started = performance.now();
  const took = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const finish = settleOnce<Omit<SystemLookup, "durationMs">>((r) => resolve({ ...r, durationMs: took() }), {
      timeoutMs: Math.max(1, opts.timeoutMs),
      signal: opts.signal,
      onTimeout: () => ({ addresses: [], code: "timeout", error: `no answer from the system resolver within ${opts.timeoutMs} ms` }),
      onAbort: () => ({ addresses: [], code: "aborted", error: "operation was canceled" }),
    });
    if (opts.signal?.aborted) return;
    dns().lookup(hostname, { all: true, verbatim: true }, (err, addrs) => {
      if (err) return finish({ addresses: [], code: err.code ?? "ERROR", error: err.message });
      const addresses: ResolvedAddress[] = [];
      for (const a of addrs)
        if (!addresses.some((x) => x.address === a.address)) addresses.push({ address: a.address, family: a.family === 6 ? 6 : 4 });
      finish({ addresses, code: null, error: null });
    });
  });
}
