import type { Socket, SocketHandler } from "bun";
import { isVerifyError, nodeCode, tlsOptions, type WireTls } from "./bun-wire-tls";

export type { WireTls } from "./bun-wire-tls";

/*
 * A socket from Bun's own `Bun.connect`, shaped like the part of a node:net (or node:tls) socket
 * the diagnosis uses (TCP and TLS probes, the lean HTTP client). node:net and node:tls cost a
 * check ≈ 7 ms, compiled from source on load with node:stream and node:events under them
 * (docs/performance.md, "Sockets without node:net"); Bun.connect is native. Errors carry node's
 * codes and words ("connect ECONNREFUSED 127.0.0.1:5000", ERR_SSL_WRONG_VERSION_NUMBER), so the
 * classifiers read them as before. A proxy's sockets are still node's: both satisfy `Wire`.
 */

/** The socket surface the diagnosis needs; node:net's Socket and BunWire both have it. */
export interface Wire {
  readonly destroyed: boolean;
  write(data: Uint8Array | string): boolean;
  destroy(): void;
  pause(): unknown;
  resume(): unknown;
  isPaused(): boolean;
  ref(): unknown;
  unref(): unknown;
  setNoDelay(noDelay?: boolean): unknown;
  setKeepAlive(enable?: boolean, initialDelay?: number): unknown;
  on(event: string, fn: Listener): unknown;
  once(event: string, fn: Listener): unknown;
  off(event: string, fn: Listener): unknown;
  removeAllListeners(event?: string): unknown;
}

// node's emitter types its listeners' arguments as any; a narrower type here would not admit its sockets.
// biome-ignore lint/suspicious/noExplicitAny: as node:events declares a listener
type Listener = (...args: any[]) => void;

export class BunWire implements Wire {
  #sock: Socket | null = null;
  #listeners = new Map<string, Set<Listener>>();
  #pending: Buffer[] = [];
  #paused = false;
  #refd = true;
  #noDelay = false;
  /** TCP keep-alive's initial delay in ms, once asked for (0: off). */
  #keepAlive = 0;
  #closeEmitted = false;
  #secure = false;
  #sync = false;
  destroyed = false;
  /** After a TLS handshake: what node's TLSSocket reports. */
  authorizationError: (Error & { code?: string }) | null = null;

  constructor(private readonly tls: WireTls | null) {}

  /** TCP (or TLS when `tls` is given) to host:port, emitting connect, then secureConnect for TLS. */
  static connect(host: string, port: number, tls: WireTls | null = null): BunWire {
    const w = new BunWire(tls);
    // A connect that fails at once (an address with a zone Bun cannot route) reports during the
    // call, before the caller's listeners exist: node reports on a later tick, and so does this.
    w.#sync = true;
    Bun.connect({
      hostname: host,
      port,
      ...(tls ? { tls: tlsOptions(tls) } : {}),
      socket: w.#handlers(host, port),
    }).catch(() => {
      // connectError (the handler) has reported it.
    });
    w.#sync = false;
    return w;
  }

  /**
   * TLS on this connected socket. This socket goes on emitting what the server sends before
   * decryption ("data"), which is how a plain-HTTP answer to the ClientHello is seen.
   */
  startTls(tls: WireTls): BunWire {
    const t = new BunWire(tls);
    if (!this.#sock || this.destroyed) {
      queueMicrotask(() => t.#fail(Object.assign(new Error("socket closed before TLS"), { code: "ECONNRESET" })));
      return t;
    }
    const [, sock] = this.#sock.upgradeTLS({ tls: tlsOptions(tls), socket: t.#handlers("", 0) } as never);
    t.#sock = sock as Socket;
    return t;
  }

  #handlers(address: string, port: number): SocketHandler<undefined> {
    return {
      open: (s) => {
        this.#sock = s;
        if (this.destroyed) return void s.terminate();
        s.setNoDelay(this.#noDelay);
        if (this.#keepAlive) s.setKeepAlive(true, this.#keepAlive);
        if (!this.#refd) s.unref();
        if (this.#paused) s.pause();
        this.#drain(s);
        this.#emit("connect");
      },
      handshake: (s, ok, err) => this.#handshake(s, ok, err),
      data: (_s, chunk) => this.#emit("data", chunk),
      drain: (s) => this.#drain(s),
      end: (s) => {
        if (this.#unshaken()) return;
        this.#emit("end");
        // As node's sockets (allowHalfOpen false): the peer's end ends ours too.
        s.end();
      },
      close: (_s, err) => this.#onClose(err),
      error: (_s, err) => this.#fail(nodeCode(err)),
      connectError: (_s, err) => {
        const code = (err as { code?: string }).code ?? "ECONNREFUSED";
        // node's error: "connect ECONNREFUSED ::1:5000" (no brackets), with its fields.
        this.#fail(Object.assign(new Error(`connect ${code} ${address}:${port}`), { code, syscall: "connect", address, port }));
      },
    };
  }

  #handshake(s: Socket, ok: boolean, err: Error | null): void {
    const e = err ? nodeCode(err as Error & { code?: string }) : null;
    // A certificate that did not verify (or name) comes here too, the handshake complete: node's 'secureConnect'.
    if (!ok && !(e && isVerifyError(e) && s.getCipher()?.name)) {
      this.#fail(e ?? Object.assign(new Error("TLS handshake failed"), { code: "EPROTO" }));
      return;
    }
    // `ok` with an error: the handshake completed, the chain did not verify.
    this.authorizationError = e;
    this.#secure = true;
    if (this.authorizationError && this.tls?.rejectUnauthorized) this.#fail(this.authorizationError);
    else this.#emit("secureConnect");
  }

  #onClose(err: Error | undefined): void {
    if (this.#sync) return void queueMicrotask(() => this.#onClose(err));
    // Our own destroy() or failure: it says 'close' itself, later, as node does.
    if (this.destroyed) return;
    if (err) this.#fail(nodeCode(err));
    else if (!this.#unshaken()) this.#closed();
  }

  /** The peer closed a TLS connection before the handshake ended: node:tls's error for it. */
  #unshaken(): boolean {
    if (!this.tls || this.#secure || this.destroyed) return false;
    const message = "Client network socket disconnected before secure TLS connection was established";
    this.#fail(Object.assign(new Error(message), { code: "ECONNRESET" }));
    return true;
  }

  /** The socket failed: 'error' (unless the caller destroyed it), then 'close'. */
  #fail(err: Error): void {
    if (this.#sync) return void queueMicrotask(() => this.#fail(err));
    if (this.#closeEmitted) return;
    const quiet = this.destroyed;
    this.destroyed = true;
    // Before terminate(), whose close callback may run at once and clear the listeners.
    if (!quiet) this.#emit("error", err);
    this.#sock?.terminate();
    this.#closed();
  }

  #closed(): void {
    this.destroyed = true;
    if (this.#closeEmitted) return;
    this.#closeEmitted = true;
    this.#emit("close");
    this.#listeners.clear();
  }

  #drain(s: Socket): void {
    while (this.#pending.length) {
      const head = this.#pending[0] as Buffer;
      const n = s.write(head);
      if (n < head.length) {
        this.#pending[0] = head.subarray(Math.max(0, n));
        return;
      }
      this.#pending.shift();
    }
  }

  write(data: Uint8Array | string): boolean {
    if (this.destroyed) return false;
    // As node's: a string is UTF-8; bytes are sent from where they are, not copied.
    const buf = typeof data === "string" ? Buffer.from(data) : Buffer.from(data.buffer, data.byteOffset, data.byteLength);
    if (!this.#sock || this.#pending.length) {
      this.#pending.push(buf);
      return false;
    }
    const n = this.#sock.write(buf);
    if (n < buf.length) this.#pending.push(buf.subarray(Math.max(0, n)));
    return n >= buf.length;
  }

  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    this.#sock?.terminate();
    // node emits 'close' after destroy, on a later tick.
    queueMicrotask(() => this.#closed());
  }
  pause(): this {
    this.#paused = true;
    this.#sock?.pause();
    return this;
  }
  resume(): this {
    this.#paused = false;
    this.#sock?.resume();
    return this;
  }
  isPaused(): boolean {
    return this.#paused;
  }
  ref(): this {
    this.#refd = true;
    this.#sock?.ref();
    return this;
  }
  unref(): this {
    this.#refd = false;
    this.#sock?.unref();
    return this;
  }
  setNoDelay(noDelay = true): this {
    this.#noDelay = noDelay;
    this.#sock?.setNoDelay(noDelay);
    return this;
  }
  setKeepAlive(enable = false, initialDelay = 0): this {
    this.#keepAlive = enable ? Math.max(1, initialDelay) : 0;
    this.#sock?.setKeepAlive(enable, initialDelay);
    return this;
  }
  /** What node's TLSSocket reports after a handshake (the TLS probe's facts). */
  getPeerCertificate(detailed = false): unknown {
    // Bun's argument says "abbreviated", node's "detailed".
    return (this.#sock as unknown as { getPeerCertificate(abbreviated: boolean): unknown })?.getPeerCertificate(!detailed);
  }
  getProtocol(): string | null {
    return this.#sock?.getTLSVersion() ?? null;
  }
  getCipher(): { name: string } | undefined {
    return (this.#sock?.getCipher() as { name: string } | undefined) ?? undefined;
  }
  get alpnProtocol(): string | false | null {
    return this.#sock?.alpnProtocol ?? null;
  }

  on(event: string, fn: Listener): this {
    const set = this.#listeners.get(event) ?? new Set();
    this.#listeners.set(event, set);
    set.add(fn);
    return this;
  }
  once(event: string, fn: Listener): this {
    const once = Object.assign(
      (...args: unknown[]) => {
        this.off(event, fn);
        fn(...args);
      },
      { listener: fn },
    );
    return this.on(event, once);
  }
  /** Removes `fn`, also when it was added with once(), as node's emitter does. */
  off(event: string, fn: Listener): this {
    const set = this.#listeners.get(event);
    for (const l of set ?? []) if (l === fn || (l as { listener?: Listener }).listener === fn) set?.delete(l);
    return this;
  }
  removeAllListeners(event?: string): this {
    if (event) this.#listeners.delete(event);
    else this.#listeners.clear();
    return this;
  }
  #emit(event: string, ...args: unknown[]): void {
    for (const fn of [...(this.#listeners.get(event) ?? [])]) (fn as (...a: unknown[]) => void)(...args);
  }
}
