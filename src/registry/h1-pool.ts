import type { Wire } from "../net/bun-wire";
import { abortError, Conn, type H1Request, type H1Response, socketError } from "./h1-client";

/*
 * The lean client's connections (h1-client.ts): kept alive per origin, as Go's transport keeps
 * them, and handed to the next request for the same origin; a dead or retired one is dropped.
 */

/** Opens a socket to an origin (TCP, or TLS for https), as http-connect.ts's connector does. */
export type Connector = (origin: URL, done: (err: Error | null, socket: Wire | null) => void) => void;

/** A forwarding proxy: where it is, the headers it is sent (its credentials), how to reach it. */
export interface Forward {
  proxy: URL;
  headers: Record<string, string>;
  connect: Connector;
}

/** Kept-alive connections per origin; a request takes an idle one or opens one through the connector. */
export class H1Pool {
  #idle = new Map<string, Conn[]>();
  #all = new Set<Conn>();
  #closed = false;
  constructor(
    private readonly connector: Connector,
    /** Through an http:// proxy: plain-http requests go to it in absolute form, as Go forwards them. */
    private readonly forward: Forward | null = null,
  ) {}

  async request(req: H1Request): Promise<H1Response> {
    if (this.#closed) throw Object.assign(new Error("The client is destroyed"), { code: "UND_ERR_DESTROYED" });
    const origin = new URL(req.origin);
    const fwd = this.forward && origin.protocol === "http:" ? this.forward : null;
    if (!fwd)
      return (this.#take(origin.origin) ?? (await this.#open(origin, origin.origin, req.signal, this.connector))).exchange(
        req,
        origin.host,
      );
    const key = `forward ${fwd.proxy.origin}`;
    const conn = this.#take(key) ?? (await this.#open(fwd.proxy, key, req.signal, fwd.connect));
    const res = await conn.exchange(
      { ...req, path: `${origin.origin}${req.path}`, headers: { ...fwd.headers, ...req.headers } },
      origin.host,
    );
    // As undici's Http1ProxyWrapper: the proxy refusing a forwarded request for want of credentials is a failure, not an answer.
    if (res.statusCode !== 407) return res;
    res.body.destroy();
    throw Object.assign(new Error("Proxy Authentication Required (407)"), { code: "UND_ERR_INVALID_ARG", name: "InvalidArgumentError" });
  }

  #take(key: string): Conn | null {
    const list = this.#idle.get(key) ?? [];
    for (let c = list.pop(); c; c = list.pop()) if (!c.dead && !c.socket.destroyed) return c;
    return null;
  }

  #open(origin: URL, key: string, signal: AbortSignal, connector: Connector): Promise<Conn> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) return reject(abortError(signal));
      const onAbort = () => reject(abortError(signal));
      signal.addEventListener("abort", onAbort, { once: true });
      connector(origin, (err, socket) => {
        signal.removeEventListener("abort", onAbort);
        if (err || !socket) return reject(err ?? socketError("no socket"));
        if (signal.aborted || this.#closed) {
          socket.destroy();
          return reject(abortError(signal));
        }
        const conn = new Conn(socket, (c) => this.#release(key, c));
        this.#all.add(conn);
        resolve(conn);
      });
    });
  }

  #release(key: string, c: Conn): void {
    if (c.busy) return;
    const list = this.#idle.get(key) ?? [];
    if (c.dead || this.#closed) {
      this.#all.delete(c);
      this.#idle.set(
        key,
        list.filter((x) => x !== c),
      );
      c.kill();
      return;
    }
    if (!list.includes(c)) list.push(c);
    this.#idle.set(key, list);
    c.idle(() => c.kill());
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const c of this.#all) c.kill();
    this.#all.clear();
    this.#idle.clear();
  }
}
