import { BunWire } from "./bun-wire";

export interface PlainHttpAnswer {
  ok: boolean;
  /** The status line when the server answered HTTP, e.g. "HTTP/1.1 200 OK". */
  firstLine: string | null;
  durationMs: number;
  error: string | null;
}

/**
 * Docker's HTTP fallback for an insecure registry: when HTTPS fails, it retries the same
 * host:port over plain HTTP. This asks that question on a fresh connection with a real
 * `GET /v2/` and reports the status line, so the connect stage knows whether the fallback
 * would carry the pull. It never sends credentials.
 */
export function plainHttpAnswer(
  address: string,
  port: number,
  hostHeader: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<PlainHttpAnswer> {
  const started = performance.now();
  const ms = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    let done = false;
    let buf = "";
    const sock = BunWire.connect(address, port);
    const finish = (r: Omit<PlainHttpAnswer, "durationMs">) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      sock.destroy();
      resolve({ ...r, durationMs: ms() });
    };
    const onAbort = () => finish({ ok: false, firstLine: null, error: "interrupted" });
    const timer = setTimeout(
      () => finish({ ok: false, firstLine: null, error: `no HTTP answer within ${opts.timeoutMs} ms` }),
      opts.timeoutMs,
    );
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    sock.setNoDelay(true);
    sock.once("connect", () =>
      sock.write(`GET /v2/ HTTP/1.1\r\nHost: ${hostHeader}\r\nUser-Agent: pulldoctor\r\nConnection: close\r\n\r\n`),
    );
    sock.on("data", (d: Buffer) => {
      buf += d.toString("latin1");
      const nl = buf.indexOf("\n");
      if (nl >= 0 || buf.length >= 256) {
        const line = buf.slice(0, nl >= 0 ? nl : 256).replace(/\r$/, "");
        finish(
          line.startsWith("HTTP/")
            ? { ok: true, firstLine: line, error: null }
            : { ok: false, firstLine: null, error: `not HTTP: ${JSON.stringify(line.slice(0, 40))}` },
        );
      }
    });
    sock.once("error", (e: NodeJS.ErrnoException) =>
      finish({ ok: false, firstLine: null, error: e.code ? `${e.code}: ${e.message}` : e.message }),
    );
    sock.once("close", () =>
      finish({ ok: false, firstLine: null, error: buf ? `closed after ${JSON.stringify(buf.slice(0, 40))}` : "closed without an answer" }),
    );
  });
}
