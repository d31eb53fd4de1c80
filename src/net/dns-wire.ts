// A builtin loaded at first use: Bun compiles each node: module's source when it is first loaded,
// and a check that never needs it should not pay for it (docs/performance.md, "A lean HTTP client…").
const dgram = () => require("node:dgram") as typeof import("node:dgram");
const randomInt = (min: number, max: number) => (require("node:crypto") as typeof import("node:crypto")).randomInt(min, max);
// dns-packet too: a CommonJS package, evaluated (with Bun's require compiled for its
// builtins) when its module loads; a check of an IP literal asks no DNS question.
const packet = () => require("dns-packet") as typeof import("dns-packet");

import type net from "node:net";
import type * as Packet from "dns-packet";
import { joinHostPort } from "./origin";

/** The round trips of one DNS question (dns-exchange.ts says how Go asks it), over UDP and over TCP. */

export type QType = "A" | "AAAA";
export type ExchangeErrorKind = "timeout" | "refused" | "network" | "malformed" | "aborted";

export interface ServerAddress {
  host: string;
  port: number;
  family: 4 | 6;
  /** host:port as Go writes it ("[::1]:53"). */
  display: string;
}

export interface WireReply {
  msg: Packet.DecodedPacket & { rcode?: string };
  ignored: number;
}

export class ExchangeFailure extends Error {
  constructor(
    readonly kind: ExchangeErrorKind,
    message: string,
    readonly ignored = 0,
  ) {
    super(message);
  }
}

function buildQuery(id: number, name: string, type: QType): Packet.Packet {
  return {
    type: "query",
    id,
    flags: packet().RECURSION_DESIRED,
    questions: [{ type, name: name.replace(/\.$/, ""), class: "IN" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232 } as unknown as Packet.Answer],
  };
}

/** Go's checkResponse: a reply, same id, same question (name compared case-insensitively). */
function matches(msg: Packet.DecodedPacket, id: number, name: string, type: QType): boolean {
  if (msg.type !== "response" || msg.id !== id) return false;
  const q = msg.questions?.[0];
  if (!q) return false;
  return q.type === type && q.name.replace(/\.$/, "").toLowerCase() === name.replace(/\.$/, "").toLowerCase();
}

function sockName(local: { address: string; port: number } | null, srv: ServerAddress): string {
  const l = local ? joinHostPort(local.address, local.port) : "";
  return l ? `${l}->${srv.display}` : srv.display;
}

/** Run `body` with a deadline and the caller's signal; `cleanup` always runs. */
function withDeadline<T>(
  timeoutMs: number,
  signal: AbortSignal | undefined,
  onTimeout: () => ExchangeFailure,
  body: (resolve: (v: T) => void, reject: (e: ExchangeFailure) => void) => () => void,
): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let done = false;
    let cleanup: () => void = () => {};
    const finish = (fn: () => void) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      signal?.removeEventListener("abort", onAbort);
      cleanup();
      fn();
    };
    const onAbort = () => finish(() => reject(new ExchangeFailure("aborted", "operation was canceled")));
    const timer = setTimeout(() => finish(() => reject(onTimeout())), Math.max(1, timeoutMs));
    if (signal?.aborted) return onAbort();
    signal?.addEventListener("abort", onAbort, { once: true });
    cleanup = body(
      (v) => finish(() => resolve(v)),
      (e) => finish(() => reject(e)),
    );
  });
}

export function udpRoundTrip(srv: ServerAddress, name: string, type: QType, timeoutMs: number, signal?: AbortSignal): Promise<WireReply> {
  const id = randomInt(0, 0x10000);
  const query = packet().encode(buildQuery(id, name, type));
  const sock = dgram().createSocket(srv.family === 6 ? "udp6" : "udp4");
  let local: { address: string; port: number } | null = null;
  let ignored = 0;
  return withDeadline<WireReply>(
    timeoutMs,
    signal,
    () => new ExchangeFailure("timeout", `read udp ${sockName(local, srv)}: i/o timeout`, ignored),
    (resolve, reject) => {
      sock.on("error", (e: NodeJS.ErrnoException) => {
        const refused = e.code === "ECONNREFUSED";
        reject(
          new ExchangeFailure(
            refused ? "refused" : "network",
            `read udp ${sockName(local, srv)}: ${refused ? "read: connection refused" : e.message}`,
            ignored,
          ),
        );
      });
      sock.on("message", (buf) => {
        let msg: WireReply["msg"];
        try {
          msg = packet().decode(buf) as WireReply["msg"];
        } catch {
          ignored++;
          return;
        }
        if (!matches(msg, id, name, type)) {
          ignored++;
          return;
        }
        resolve({ msg, ignored });
      });
      sock.connect(srv.port, srv.host, () => {
        try {
          local = sock.address();
        } catch {
          local = null;
        }
        sock.send(query);
      });
      return () => {
        try {
          sock.close();
        } catch {
          // already closed
        }
      };
    },
  );
}

export function tcpRoundTrip(srv: ServerAddress, name: string, type: QType, timeoutMs: number, signal?: AbortSignal): Promise<WireReply> {
  const id = randomInt(0, 0x10000);
  const query = packet().streamEncode(buildQuery(id, name, type));
  // node:net only for DNS over TCP (a truncated answer, or a TCP-only server): a check does not otherwise load it.
  const sock: net.Socket = (require("node:net") as typeof import("node:net")).connect({ host: srv.host, port: srv.port });
  let buf = Buffer.alloc(0);
  let connected = false;
  const label = () => sockName(sock.localAddress && sock.localPort ? { address: sock.localAddress, port: sock.localPort } : null, srv);
  return withDeadline<WireReply>(
    timeoutMs,
    signal,
    () => new ExchangeFailure("timeout", `${connected ? "read" : "dial"} tcp ${label()}: i/o timeout`),
    (resolve, reject) => {
      sock.on("connect", () => {
        connected = true;
        sock.write(query);
      });
      sock.on("error", (e: NodeJS.ErrnoException) => {
        const refused = e.code === "ECONNREFUSED";
        reject(
          new ExchangeFailure(
            refused ? "refused" : "network",
            `${connected ? "read" : "dial"} tcp ${label()}: ${refused ? "connect: connection refused" : e.message}`,
          ),
        );
      });
      sock.on("data", (d: Buffer) => {
        buf = Buffer.concat([buf, d]);
        if (buf.length < 2) return;
        const len = buf.readUInt16BE(0);
        if (buf.length < 2 + len) return;
        try {
          const msg = packet().decode(buf.subarray(2, 2 + len)) as WireReply["msg"];
          if (!matches(msg, id, name, type))
            return reject(new ExchangeFailure("malformed", `tcp ${label()}: reply does not match the query (id or question)`));
          resolve({ msg, ignored: 0 });
        } catch (e) {
          reject(new ExchangeFailure("malformed", `tcp ${label()}: cannot unmarshal DNS message: ${(e as Error).message}`));
        }
      });
      sock.on("end", () => reject(new ExchangeFailure("network", `read tcp ${label()}: EOF`)));
      return () => sock.destroy();
    },
  );
}
