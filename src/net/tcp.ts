import { BunWire, type Wire } from "./bun-wire";
import { isIPv6 } from "./ip";
import { joinHostPort } from "./origin";

export type TcpErrorKind = "refused" | "timeout" | "reset" | "unreachable" | "other";

export interface TcpProbe {
  address: string;
  family: 4 | 6;
  port: number;
  ok: boolean;
  durationMs: number;
  error?: { kind: TcpErrorKind; code: string; message: string };
}

/**
 * Errno → kind. Go's dialer reports the same errnos ("connect: connection refused",
 * "i/o timeout", "connect: no route to host", "connect: network is unreachable").
 */
export function classifyTcpError(code: string | undefined): TcpErrorKind {
  switch (code) {
    case "ECONNREFUSED":
      return "refused";
    case "ETIMEDOUT":
    case "ETIME":
      return "timeout";
    case "ECONNRESET":
    case "ECONNABORTED":
    case "EPIPE":
      return "reset";
    case "EHOSTUNREACH":
    case "ENETUNREACH":
    case "EHOSTDOWN":
    case "ENETDOWN":
    case "EADDRNOTAVAIL":
    case "EAFNOSUPPORT":
      return "unreachable";
    default:
      return "other";
  }
}

/** The message Go's dialer would print after "dial tcp ADDR:PORT: ", for the evidence. */
export function goDialText(code: string, address: string, port: number): string {
  const host = joinHostPort(address, port);
  const tail: Record<string, string> = {
    ECONNREFUSED: "connect: connection refused",
    ETIMEDOUT: "i/o timeout",
    ECONNRESET: "read: connection reset by peer",
    EHOSTUNREACH: "connect: no route to host",
    ENETUNREACH: "connect: network is unreachable",
  };
  return `dial tcp ${host}: ${tail[code] ?? code}`;
}

/**
 * One TCP connect to one address, with our own timer (the kernel's SYN retry lasts
 * minutes; Go's dialer gives up after 30 s, we after opts.timeoutMs). Never throws.
 * With `keep`, the connected socket is handed back (for the TLS probe) instead of closed.
 */
export function tcpProbe(
  address: string,
  port: number,
  opts: { timeoutMs: number; signal?: AbortSignal; keep?: (s: BunWire) => void },
): Promise<TcpProbe> {
  const family: 4 | 6 = isIPv6(address) ? 6 : 4;
  const start = performance.now();
  return new Promise<TcpProbe>((resolve) => {
    let done = false;
    let sock: Wire | null = null;
    const finish = (err?: { code: string; message: string }) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      const durationMs = Math.round((performance.now() - start) * 10) / 10;
      if (err) {
        sock?.destroy();
        resolve({
          address,
          family,
          port,
          ok: false,
          durationMs,
          error: { kind: classifyTcpError(err.code), code: err.code, message: err.message },
        });
        return;
      }
      const s = sock as BunWire;
      s.removeAllListeners("error");
      // A reset between handing over and the caller's own listener must not crash the process.
      s.on("error", () => {});
      if (opts.keep) opts.keep(s);
      else s.destroy();
      resolve({ address, family, port, ok: true, durationMs });
    };
    const onAbort = () => finish({ code: "ABORTED", message: "aborted" });
    const timer = setTimeout(
      () =>
        finish({ code: "ETIMEDOUT", message: `${goDialText("ETIMEDOUT", address, port)} (no answer to SYN within ${opts.timeoutMs} ms)` }),
      opts.timeoutMs,
    );
    if (opts.signal?.aborted) return onAbort();
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    const s = BunWire.connect(address, port);
    sock = s;
    s.once("connect", () => finish());
    s.once("error", (e: NodeJS.ErrnoException) => {
      const code = e.code ?? "EUNKNOWN";
      finish({
        code,
        message: goDialText(code, address, port) + (goDialText(code, address, port).endsWith(code) ? ` (${e.message})` : ""),
      });
    });
  });
}
