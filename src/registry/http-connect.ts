import type net from "node:net";
import type { ClientSettings } from "../model/client-settings";
import { BunWire, type Wire } from "../net/bun-wire";
import { isIP } from "../net/ip";
import { bareHost, defaultPort, type TlsOptions } from "../net/origin";
import { socketError } from "./h1-client";
import { HeadReader, parseHead } from "./h1-parse";
import type { NetErrorPhase } from "./http-errors";
import { addressesFor } from "./http-util";

/* How http.ts's connections are made: to the addresses we resolved, recording how far each got. */

/** Per host:port: how far the last connection attempt got, and to which address. */
export interface ConnState {
  phase: NetErrorPhase;
  address?: string;
}

/** What a socket opener is asked for (undici's connector options use the same names). */
export interface ConnectOptions {
  hostname: string;
  host?: string;
  protocol: string;
  port: string | number;
  servername?: string | null;
}
export type ConnectCallback = (err: Error | null, socket: Wire | null) => void;
/** Opens one socket (TCP, or TLS when https), returning it at once so the TLS phase can be seen to begin. */
export type SocketOpener = (o: ConnectOptions, cb: ConnectCallback) => Wire | undefined;

const RETRY_NEXT = new Set(["ECONNREFUSED", "EHOSTUNREACH", "ENETUNREACH", "EADDRNOTAVAIL", "UND_ERR_CONNECT_TIMEOUT"]);

/**
 * A connector that dials the addresses we resolved (in order, next one on refusal as Go's
 * dialer does) and keeps SNI/verification on the hostname, recording how far it got.
 */
export function makeConnector(
  cfg: ClientSettings,
  base: SocketOpener,
  states: Map<string, ConnState>,
  opened: { count: number },
): (opts: ConnectOptions, cb: ConnectCallback) => void {
  return (opts, cb) => {
    opened.count++;
    const hostname = bareHost(opts.hostname);
    const port = opts.port || defaultPort(opts.protocol);
    const key = `${hostname}:${port}`;
    const st: ConnState = { phase: "dns" };
    states.set(key, st);
    addressesFor(hostname, cfg).then(
      (addrs) => {
        let i = 0;
        const attempt = (): void => {
          const a = addrs[i]!;
          st.phase = "connect";
          st.address = a.address;
          const sock = base(
            { ...opts, hostname: a.address, servername: opts.servername || (isIP(hostname) ? undefined : hostname) },
            (err, s) => {
              if (err) {
                const code = (err as { code?: string }).code;
                if (st.phase === "connect" && code && RETRY_NEXT.has(code) && ++i < addrs.length) return attempt();
                return cb(err, null);
              }
              st.phase = "response";
              cb(null, s!);
            },
          );
          if (opts.protocol === "https:") sock?.once?.("connect", () => (st.phase = "tls"));
        };
        attempt();
      },
      (err) => cb(err as Error, null),
    );
  };
}

/**
 * Sockets as undici's connector opened them (lib/core/connect.js): TCP keep-alive after 60 s, no
 * Nagle, ALPN http/1.1 on TLS, and a connect deadline whose error carries its code.
 * `via`: Bun's own sockets (net/bun-wire.ts) for the registry's connections; node:net's for a
 * proxy's, whose CONNECT tunnel node:tls then wraps (tunnelOpener).
 */
export function socketOpener(tlsOpts: TlsOptions | null, timeoutMs: number, via: "bun" | "node" = "bun"): SocketOpener {
  return (o, cb) => {
    const port = Number(o.port) || (o.protocol === "https:" ? 443 : 80);
    const https = o.protocol === "https:";
    let sock: Wire;
    if (via === "bun") {
      const tls = https ? { rejectUnauthorized: true, ...tlsOpts, serverName: o.servername ?? undefined, alpn: ["http/1.1"] } : null;
      sock = BunWire.connect(o.hostname, port, tls);
    } else if (https) {
      const tls = require("node:tls") as typeof import("node:tls");
      sock = tls.connect({ ...tlsOpts, servername: o.servername ?? undefined, ALPNProtocols: ["http/1.1"], port, host: o.hostname });
    } else sock = (require("node:net") as typeof import("node:net")).connect({ port, host: o.hostname });
    sock.setKeepAlive(true, 60_000);
    let done = false;
    const end = (err: Error | null) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.off("error", onError);
      if (err) sock.destroy();
      cb(err, err ? null : sock);
    };
    const onError = (err: Error) => end(err);
    const timer = setTimeout(() => {
      const err = new Error(`Connect Timeout Error (attempted address: ${o.hostname}:${port}, timeout: ${timeoutMs}ms)`);
      end(Object.assign(err, { code: "UND_ERR_CONNECT_TIMEOUT", name: "ConnectTimeoutError" }));
    }, timeoutMs);
    sock.on("error", onError);
    sock.once(o.protocol === "https:" ? "secureConnect" : "connect", () => end(null));
    return sock;
  };
}

/**
 * Connections through an HTTP proxy's CONNECT tunnel, as undici's ProxyAgent opened them for
 * Go's transport's behaviour (an https target, or any target through an https:// proxy):
 * `CONNECT host:port` with Host, `Proxy-Connection: keep-alive` and the proxy's credentials; a
 * status other than 200 fails with undici's words (http-errors.ts reads the status from them);
 * then TLS to the registry inside the tunnel, with the registry's TLS settings.
 */
export function tunnelOpener(
  openProxy: (cb: ConnectCallback) => void,
  proxyHeaders: Record<string, string>,
  tlsOpts: TlsOptions,
  timeoutMs: number,
  setPhase: (phase: NetErrorPhase) => void,
): (target: URL, done: ConnectCallback) => void {
  return (target, done) =>
    openProxy((err, wire) => {
      if (err || !wire) return done(err, null);
      // A proxy's socket is node:net's (http.ts opens it "node"), for node:tls to wrap.
      const sock = wire as net.Socket;
      const authority = target.port ? target.host : `${target.host}:${defaultPort(target.protocol)}`;
      let head = `CONNECT ${authority} HTTP/1.1\r\nhost: ${target.host}\r\nproxy-connection: keep-alive\r\n`;
      for (const [k, v] of Object.entries(proxyHeaders)) head += `${k}: ${v}\r\n`;
      awaitConnectAnswer(sock, timeoutMs, (e, rest) => {
        if (e) return done(e, null);
        if (rest.length) sock.unshift(rest);
        if (target.protocol !== "https:") return done(null, sock);
        setPhase("tls");
        const host = bareHost(target.hostname);
        const t = (require("node:tls") as typeof import("node:tls")).connect({
          ...tlsOpts,
          socket: sock,
          // The name the certificate is checked against (without it Node checks the proxy's address).
          host,
          servername: isIP(host) ? undefined : host,
          ALPNProtocols: ["http/1.1"],
        });
        t.once("secureConnect", () => {
          t.off("error", onTlsError);
          setPhase("response");
          done(null, t);
        });
        const onTlsError = (te: Error) => {
          t.destroy();
          done(te, null);
        };
        t.once("error", onTlsError);
      });
      sock.write(`${head}\r\n`);
    });
}

/** The proxy's answer to CONNECT: its head, then the tunnel's first bytes (if any came with it). */
function awaitConnectAnswer(sock: net.Socket, timeoutMs: number, then: (e: Error | null, rest: Buffer) => void): void {
  const reader = new HeadReader();
  let settled = false;
  const finish = (e: Error | null, rest: Buffer = Buffer.alloc(0)) => {
    if (settled) return;
    settled = true;
    clearTimeout(timer);
    sock.off("data", onData).off("error", onError).off("close", onClose);
    if (e) sock.destroy();
    then(e, rest);
  };
  const onData = (chunk: Buffer) => {
    try {
      const got = reader.push(chunk);
      if (!got) return;
      const status = parseHead(got.head, "HEAD").status;
      if (status === 200) return finish(null, got.rest);
      finish(
        Object.assign(new Error(`Proxy response (${status}) !== 200 when HTTP Tunneling`), {
          code: "UND_ERR_ABORTED",
          name: "RequestAbortedError",
        }),
      );
    } catch (e) {
      finish(e as Error);
    }
  };
  const onError = (e: Error) => finish(e);
  const onClose = () => finish(socketError("other side closed"));
  const timer = setTimeout(() => finish(Object.assign(new Error("Headers Timeout Error"), { code: "UND_ERR_HEADERS_TIMEOUT" })), timeoutMs);
  sock.on("data", onData).on("error", onError).on("close", onClose);
}
