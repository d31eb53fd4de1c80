import dgram from "node:dgram";
import net from "node:net";
import * as packet from "dns-packet";
import { spawnPeer } from "./process";
import { requireBinary } from "./require";

export interface DnsmasqOptions {
  /** name → addresses (A and/or AAAA): --host-record (other types of the name answer NOERROR, empty). */
  hosts?: Record<string, string[]>;
  /** Domains answered NXDOMAIN: --address=/name/ (empty address). */
  nxdomain?: string[];
  /** name → TXT text: the name exists but has no A/AAAA. */
  txt?: Record<string, string>;
  /** alias → target: --cname (the target must be a host-record). */
  cnames?: Record<string, string>;
  /** Domains served only from local data (unknown names NXDOMAIN): --local=/domain/. Names outside every local domain get REFUSED (no upstream). */
  local?: string[];
  /**
   * Listen on this loopback address at port 53, so that a resolv.conf (which cannot name a
   * port) can point at it. Binding port 53 needs root; without it the start fails loudly.
   */
  port53On?: string;
}

export interface DnsmasqPeer {
  port: number;
  /** "127.0.0.1:PORT", the form --dns takes. */
  server: string;
  logs(): string;
  stop(): Promise<void>;
}

/** A free UDP+TCP port on `host` (dnsmasq serves both). */
async function freeDnsPort(host = "127.0.0.1"): Promise<number> {
  for (let i = 0; i < 20; i++) {
    const port = await new Promise<number>((resolve, reject) => {
      const s = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
      s.on("error", reject);
      s.bind(0, host, () => {
        const p = s.address().port;
        s.close(() => resolve(p));
      });
    });
    const tcpFree = await new Promise<boolean>((resolve) => {
      const srv = net.createServer();
      srv.once("error", () => resolve(false));
      srv.listen(port, host, () => srv.close(() => resolve(true)));
    });
    if (tcpFree) return port;
  }
  throw new Error("no free UDP+TCP port found");
}

/** Wait until dnsmasq answers a UDP query (any RCODE). */
async function waitForDns(port: number, timeoutMs = 5000, host = "127.0.0.1"): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = dgram.createSocket("udp4");
      const settle = (answered: boolean) => {
        clearTimeout(t);
        s.close();
        resolve(answered);
      };
      const t = setTimeout(() => settle(false), 200);
      s.on("error", () => settle(false));
      s.on("message", () => settle(true));
      s.send(
        packet.encode({
          type: "query",
          id: 1,
          flags: packet.RECURSION_DESIRED,
          questions: [{ type: "A", name: "ready.check", class: "IN" }],
        }),
        port,
        host,
      );
    });
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error(`dnsmasq on ${host}:${port} did not answer within ${timeoutMs} ms`);
}

/** A real dnsmasq on 127.0.0.1:<free port>, answering only from the records given (no upstream). */
export async function startDnsmasq(opts: DnsmasqOptions = {}): Promise<DnsmasqPeer> {
  const bin = requireBinary("dnsmasq", "dnsmasq-base");
  const host = opts.port53On ?? "127.0.0.1";
  if (opts.port53On && process.getuid?.() !== 0) throw new Error(`dnsmasq on ${host}:53 needs root (port 53); run the tests as root`);
  const port = opts.port53On ? 53 : await freeDnsPort();
  const args = [
    "--no-daemon",
    "--keep-in-foreground",
    `--port=${port}`,
    `--listen-address=${host}`,
    "--bind-interfaces",
    "--no-resolv",
    "--no-hosts",
    "--conf-file=/dev/null",
    "--pid-file=",
    "--log-queries",
    "--log-facility=-",
  ];
  // As root dnsmasq drops privileges to "nobody", which a minimal container may lack.
  if (process.getuid?.() === 0) args.push("--user=root");
  for (const d of opts.local ?? []) args.push(`--local=/${d}/`);
  for (const [name, addrs] of Object.entries(opts.hosts ?? {})) args.push(`--host-record=${name},${addrs.join(",")}`);
  for (const d of opts.nxdomain ?? []) args.push(`--address=/${d}/`);
  for (const [name, text] of Object.entries(opts.txt ?? {})) args.push(`--txt-record=${name},${text}`);
  for (const [alias, target] of Object.entries(opts.cnames ?? {})) args.push(`--cname=${alias},${target}`);
  const peer = spawnPeer(bin, args);
  try {
    await waitForDns(port, 5000, host);
  } catch (e) {
    peer.child.kill("SIGKILL");
    throw new Error(`dnsmasq did not start: ${(e as Error).message}\n${peer.logs()}`);
  }
  return {
    port,
    server: `${host}:${port}`,
    logs: peer.logs,
    stop: () => peer.terminate(2000),
  };
}

/** What a scripted server answers to one query: a reply, "drop" (never answer), or raw bytes. */
export type ScriptedAnswer = packet.Packet | "drop" | Buffer;

export interface ScriptedDns {
  port: number;
  server: string;
  /** Queries received, "udp A name" / "tcp AAAA name". */
  seen: string[];
  stop(): Promise<void>;
}

/** A reply to `q` with an RCODE (0 NOERROR, 2 SERVFAIL, 3 NXDOMAIN, 5 REFUSED), flags and answers. */
export function replyTo(
  q: packet.Packet,
  opts: { rcode?: number; truncated?: boolean; authoritative?: boolean; answers?: packet.Answer[]; id?: number } = {},
): packet.Packet {
  const flags =
    packet.RECURSION_DESIRED |
    packet.RECURSION_AVAILABLE |
    (opts.authoritative ? packet.AUTHORITATIVE_ANSWER : 0) |
    (opts.truncated ? packet.TRUNCATED_RESPONSE : 0) |
    (opts.rcode ?? 0);
  return { type: "response", id: opts.id ?? q.id, flags, questions: q.questions, answers: opts.answers ?? [] };
}

/**
 * A tiny DNS server written with dns-packet for faults dnsmasq cannot produce on demand
 * (SERVFAIL, truncation, silence): UDP and TCP on the same 127.0.0.1 port.
 */
export async function startScriptedDns(script: {
  udp: (q: packet.Packet) => ScriptedAnswer;
  tcp?: (q: packet.Packet) => ScriptedAnswer;
  host?: "127.0.0.1" | "::1";
}): Promise<ScriptedDns> {
  const host = script.host ?? "127.0.0.1";
  const port = await freeDnsPort(host);
  const seen: string[] = [];
  const udp = dgram.createSocket(host === "::1" ? "udp6" : "udp4");
  udp.on("message", (msg, rinfo) => {
    const q = packet.decode(msg);
    seen.push(`udp ${q.questions?.[0]?.type} ${q.questions?.[0]?.name}`);
    const a = script.udp(q);
    if (a === "drop") return;
    udp.send(Buffer.isBuffer(a) ? a : packet.encode(a), rinfo.port, rinfo.address);
  });
  await new Promise<void>((resolve) => udp.bind(port, host, () => resolve()));
  const sockets = new Set<net.Socket>();
  const tcp = net.createServer((sock) => {
    sockets.add(sock);
    sock.on("close", () => sockets.delete(sock));
    sock.on("error", () => {});
    let buf = Buffer.alloc(0);
    sock.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
      const q = packet.decode(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      buf = Buffer.alloc(0);
      seen.push(`tcp ${q.questions?.[0]?.type} ${q.questions?.[0]?.name}`);
      const a = script.tcp ? script.tcp(q) : "drop";
      if (a === "drop") return;
      sock.write(Buffer.isBuffer(a) ? a : packet.streamEncode(a));
    });
  });
  await new Promise<void>((resolve) => tcp.listen(port, host, () => resolve()));
  return {
    port,
    server: host === "::1" ? `[::1]:${port}` : `127.0.0.1:${port}`,
    seen,
    stop: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => udp.close(() => r()));
      await new Promise<void>((r) => tcp.close(() => r()));
    },
  };
}
