import net from "node:net";
import tls from "node:tls";
import { redactUrl } from "../model/redact";
import type { Secret } from "../model/secret";
import { isIP } from "./ip";
import { basicAuthorization, joinHostPort } from "./origin";
import { proxyDialTarget } from "./proxy-env";
import { closedEarly, type Failure, parseConnectHead, refusal, socketFailure, TunnelError, timedOut } from "./tunnel-errors";

export { TunnelError, type TunnelErrorKind } from "./tunnel-errors";

/**
 * HTTP CONNECT through a proxy, the way Go's net/http Transport does it for an https://
 * request (what dockerd does on every pull through HTTPS_PROXY): dial the proxy (TLS
 * first for an https:// proxy URL), send `CONNECT host:port HTTP/1.1` with Host and, when
 * the proxy URL has userinfo, `Proxy-Authorization: Basic …`, and require status 200.
 * Every failure is a TunnelError whose `message` is what Docker prints after "proxyconnect tcp:".
 */
export interface TunnelOptions {
  proxyUrl: string;
  auth: { username: string; password: Secret } | null;
  host: string;
  port: number;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface Tunnel {
  socket: net.Socket;
  status: number;
  headers: Record<string, string>;
  durationMs: number;
  /** The proxy's address as dialled ("127.0.0.1:3128"). */
  proxyAddress: string;
  statusLine: string;
}

/** A proxy URL no CONNECT can go through: refused before dialling. */
function unusableProxy(shown: string, message: string): Promise<never> {
  return Promise.reject(new TunnelError({ kind: "protocol", phase: "dial", proxy: shown, durationMs: 0, message }));
}

export function openTunnel(opts: TunnelOptions): Promise<Tunnel> {
  const started = performance.now();
  const shown = redactUrl(opts.proxyUrl);
  const elapsed = () => Math.round(performance.now() - started);
  let target: { scheme: string; host: string; port: number };
  try {
    target = proxyDialTarget(opts.proxyUrl);
  } catch (e) {
    return unusableProxy(shown, `invalid proxy URL ${shown}: ${(e as Error).message}`);
  }
  if (target.scheme !== "http" && target.scheme !== "https")
    return unusableProxy(
      shown,
      `proxy scheme ${target.scheme}:// cannot carry an HTTP CONNECT tunnel (pulldoctor tunnels through http:// and https:// proxies)`,
    );
  const dialAddr = joinHostPort(target.host, target.port);
  const authority = joinHostPort(opts.host, opts.port);

  return new Promise<Tunnel>((resolve, reject) => {
    let phase: TunnelError["phase"] = "dial";
    let done = false;
    let head = Buffer.alloc(0);
    const wantTls = target.scheme === "https";
    // Dial first, then (https:// proxy) start TLS on the connected socket: the phase of a
    // failure is then exact (refused dial vs a port that does not speak TLS).
    let socket: net.Socket = net.connect({ host: target.host, port: target.port });
    const fail = (init: Failure) => {
      if (done) return;
      done = true;
      cleanup();
      socket.destroy();
      reject(new TunnelError({ ...init, phase, proxy: shown, durationMs: elapsed() }));
    };
    const timer = setTimeout(() => fail(timedOut(phase, dialAddr, authority, opts.timeoutMs)), opts.timeoutMs);
    const onAbort = () => fail({ kind: "timeout", code: "ABORTED", message: `CONNECT ${authority} through ${dialAddr} was cancelled` });
    opts.signal?.addEventListener("abort", onAbort, { once: true });
    if (opts.signal?.aborted) return onAbort();
    function cleanup() {
      clearTimeout(timer);
      opts.signal?.removeEventListener("abort", onAbort);
      socket.removeListener("data", onData);
      socket.removeListener("error", onError);
      socket.removeListener("close", onClose);
    }

    const sendConnect = () => {
      phase = "connect";
      const lines = [`CONNECT ${authority} HTTP/1.1`, `Host: ${authority}`, "User-Agent: pulldoctor"];
      if (opts.auth) lines.push(`Proxy-Authorization: ${basicAuthorization(opts.auth.username, opts.auth.password).reveal()}`);
      socket.write(`${lines.join("\r\n")}\r\n\r\n`);
    };
    socket.once("connect", () => {
      if (!wantTls) return sendConnect();
      phase = "proxy-tls";
      const raw = socket;
      raw.removeListener("error", onError);
      raw.removeListener("close", onClose);
      socket = tls.connect({ socket: raw, servername: isIP(target.host) ? undefined : target.host, ALPNProtocols: ["http/1.1"] });
      socket.on("error", onError);
      socket.on("close", onClose);
      socket.once("secureConnect", () => {
        socket.on("data", onData);
        sendConnect();
      });
    });
    function onError(err: NodeJS.ErrnoException) {
      fail(socketFailure(phase, err, target.host, dialAddr));
    }
    function onClose() {
      fail(closedEarly(phase, dialAddr, authority));
    }
    function onData(chunk: Buffer) {
      head = Buffer.concat([head, chunk]);
      const answer = parseConnectHead(head, dialAddr);
      if (answer === null) return;
      if ("failure" in answer) return fail(answer.failure);
      if (answer.status !== 200) return fail(refusal(answer));
      done = true;
      cleanup();
      // Stop the flow before handing over: bytes after the head belong to the caller (e.g. a ServerHello).
      socket.pause();
      if (answer.rest.length) socket.unshift(answer.rest);
      resolve({
        socket,
        status: answer.status,
        headers: answer.headers,
        durationMs: elapsed(),
        proxyAddress: `${socket.remoteAddress ?? target.host}:${socket.remotePort ?? target.port}`,
        statusLine: answer.statusLine,
      });
    }
    if (!wantTls) socket.on("data", onData);
    socket.on("error", onError);
    socket.on("close", onClose);
  });
}
