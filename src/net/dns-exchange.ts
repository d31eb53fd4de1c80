import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import { joinHostPort } from "./origin";

/**
 * One DNS question to one server, the way Go's resolver asks it (net/dnsclient_unix.go
 * `exchange` / `dnsPacketRoundTrip`): a recursive query with a random id and an EDNS0
 * OPT record (UDP size 1232) over a connected UDP socket; replies whose id or question do
 * not match are ignored (possible forgeries) and the wait goes on until the deadline; a
 * reply with the TC bit is asked again over TCP (2-byte length prefix), each transport
 * with its own deadline.
 */
export type QType = "A" | "AAAA";
export type ExchangeErrorKind = "timeout" | "refused" | "network" | "malformed" | "aborted";

export interface ExchangeResult {
  server: string;
  name: string;
  type: QType;
  /** The transport that produced this result (tcp after a truncated UDP reply). */
  transport: "udp" | "tcp";
  /** "NOERROR", "NXDOMAIN", "SERVFAIL", "REFUSED", … or null when no reply came. */
  rcode: string | null;
  /** Addresses of the asked type in the answer section. */
  answers: string[];
  /** CNAME chain as "alias → target". */
  cnames: string[];
  durationMs: number;
  /** The UDP reply had TC set (so TCP was used). */
  truncated: boolean;
  authoritative: boolean;
  recursionAvailable: boolean;
  /** Replies dropped because id or question did not match. */
  ignoredReplies: number;
  /** Go-like error text: "read udp 127.0.0.1:40000->127.0.0.1:53: i/o timeout". */
  error?: string;
  errorKind?: ExchangeErrorKind;
}

export interface ServerAddress {
  host: string;
  port: number;
  family: 4 | 6;
  /** host:port as Go writes it ("[::1]:53"). */
  display: string;
}

/** Parse "10.0.0.2", "10.0.0.2:5353", "[fd00::1]:53", "fd00::1" (port 53 by default). null when invalid. */
export function parseServer(spec: string): ServerAddress | null {
  const s = spec.trim();
  let host: string;
  let port = 53;
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (br) {
    host = br[1];
    if (br[2] !== undefined) port = Number(br[2]);
  } else if (net.isIP(s.split("%")[0]) === 6) {
    host = s;
  } else {
    const m = /^([^:]+)(?::(\d+))?$/.exec(s);
    if (!m) return null;
    host = m[1];
    if (m[2] !== undefined) port = Number(m[2]);
  }
  const fam = net.isIP(host.split("%")[0]);
  if (fam === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  const family = fam === 6 ? 6 : 4;
  return { host, port, family, display: joinHostPort(host, port) };
}

interface WireReply {
  msg: packet.DecodedPacket & { rcode?: string };
  ignored: number;
}

class ExchangeFailure extends Error {
  constructor(
    readonly kind: ExchangeErrorKind,
    message: string,
    readonly ignored = 0,
  ) {
    super(message);
  }
}

function buildQuery(id: number, name: string, type: QType): packet.Packet {
  return {
    type: "query",
    id,
    flags: packet.RECURSION_DESIRED,
    questions: [{ type, name: name.replace(/\.$/, ""), class: "IN" }],
    additionals: [{ type: "OPT", name: ".", udpPayloadSize: 1232 } as unknown as packet.Answer],
  };
}

/** Go's checkResponse: a reply, same id, same question (name compared case-insensitively). */
function matches(msg: packet.DecodedPacket, id: number, name: string, type: QType): boolean {
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

function udpRoundTrip(srv: ServerAddress, name: string, type: QType, timeoutMs: number, signal?: AbortSignal): Promise<WireReply> {
  const id = randomInt(0, 0x10000);
  const query = packet.encode(buildQuery(id, name, type));
  const sock = dgram.createSocket(srv.family === 6 ? "udp6" : "udp4");
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
          msg = packet.decode(buf) as WireReply["msg"];
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

function tcpRoundTrip(srv: ServerAddress, name: string, type: QType, timeoutMs: number, signal?: AbortSignal): Promise<WireReply> {
  const id = randomInt(0, 0x10000);
  const query = packet.streamEncode(buildQuery(id, name, type));
  const sock = net.connect({ host: srv.host, port: srv.port });
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
          const msg = packet.decode(buf.subarray(2, 2 + len)) as WireReply["msg"];
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

function toResult(
  base: Pick<ExchangeResult, "server" | "name" | "type">,
  reply: WireReply,
  transport: "udp" | "tcp",
  truncated: boolean,
  started: number,
  ignored: number,
): ExchangeResult {
  const answers: string[] = [];
  const cnames: string[] = [];
  for (const a of reply.msg.answers ?? []) {
    if (a.type === base.type && typeof a.data === "string") answers.push(a.data);
    else if (a.type === "CNAME" && typeof a.data === "string") cnames.push(`${a.name} → ${a.data}`);
  }
  return {
    ...base,
    transport,
    rcode: reply.msg.rcode ?? null,
    answers,
    cnames,
    durationMs: Math.round(performance.now() - started),
    truncated,
    authoritative: reply.msg.flag_aa,
    recursionAvailable: reply.msg.flag_ra,
    ignoredReplies: ignored,
  };
}

export interface ExchangeOptions {
  timeoutMs: number;
  signal?: AbortSignal;
  /** resolv.conf `use-vc`: TCP only. */
  useTcp?: boolean;
}

/** Ask `server` for `name`/`type`; never throws: failures come back as `error`/`errorKind`. */
export async function exchange(server: ServerAddress, name: string, type: QType, opts: ExchangeOptions): Promise<ExchangeResult> {
  const base = { server: server.display, name, type };
  const started = performance.now();
  let truncated = false;
  let ignored = 0;
  try {
    if (!opts.useTcp) {
      const udp = await udpRoundTrip(server, name, type, opts.timeoutMs, opts.signal);
      ignored = udp.ignored;
      if (!udp.msg.flag_tc) return toResult(base, udp, "udp", false, started, ignored);
      truncated = true;
    }
    const tcp = await tcpRoundTrip(server, name, type, opts.timeoutMs, opts.signal);
    return toResult(base, tcp, "tcp", truncated, started, ignored);
  } catch (e) {
    // Only the failures the round trips describe become results; anything else is a bug.
    if (!(e instanceof ExchangeFailure)) throw e;
    const f = e;
    return {
      ...base,
      transport: truncated || opts.useTcp ? "tcp" : "udp",
      rcode: null,
      answers: [],
      cnames: [],
      durationMs: Math.round(performance.now() - started),
      truncated,
      authoritative: false,
      recursionAvailable: false,
      ignoredReplies: ignored + f.ignored,
      error: f.message,
      errorKind: f.kind,
    };
  }
}
