import {
  type ExchangeErrorKind,
  ExchangeFailure,
  type QType,
  type ServerAddress,
  tcpRoundTrip,
  udpRoundTrip,
  type WireReply,
} from "./dns-wire";

// In a module of its own so the argument parser can use it without loading dns-packet.
export { parseServer } from "./dns-server";
export type { ExchangeErrorKind, QType, ServerAddress } from "./dns-wire";

/**
 * One DNS question to one server, the way Go's resolver asks it (net/dnsclient_unix.go
 * `exchange` / `dnsPacketRoundTrip`): a recursive query with a random id and an EDNS0
 * OPT record (UDP size 1232) over a connected UDP socket; replies whose id or question do
 * not match are ignored (possible forgeries) and the wait goes on until the deadline; a
 * reply with the TC bit is asked again over TCP (2-byte length prefix), each transport
 * with its own deadline.
 */
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
