import type { Deps } from "../model/deps";
import type { Secret } from "../model/secret";
import type { Trace } from "../model/trace";
import { type HostResolution, resolveHost } from "./dns";
import { bareHost } from "./origin";
import { type TcpProbe, tcpProbe } from "./tcp";
import { type TlsProbe, tlsProbe } from "./tls";

export interface ProbeHostOptions {
  /** --dns servers. */
  servers?: string[];
  deps: Deps;
  timeoutMs: number;
  trace?: Trace;
  /** Addresses dialled in order until one connects; 0 when a proxy connects for us (DNS only). */
  maxAddresses: number;
  /** The TLS handshake to try on the connected address (the registry's CAs), or null for plain http. */
  tls: { ca: string[]; cert?: string; key?: Secret } | null;
}

export interface HostProbe {
  dns: HostResolution;
  /** Every connect attempted, in order. */
  tcp: TcpProbe[];
  /** The first that connected. */
  connected: TcpProbe | null;
  tls: TlsProbe | null;
}

/**
 * DNS → TCP → TLS for a host other than the registry (a token realm, a blob redirect target),
 * so a finding about it carries the same evidence the dns and connect stages give the
 * registry. The callers judge and word the result; this only observes.
 */
export async function probeHost(hostname: string, port: number, o: ProbeHostOptions): Promise<HostProbe> {
  const host = bareHost(hostname);
  const signal = o.deps.signal;
  const dns = await resolveHost(host, { servers: o.servers, deps: o.deps, timeoutMs: o.timeoutMs, trace: o.trace });
  const tcp: TcpProbe[] = [];
  if (dns.outcome === "ok") {
    for (const a of dns.addresses.slice(0, o.maxAddresses)) {
      const p = await tcpProbe(a.address, port, { timeoutMs: o.timeoutMs, signal });
      tcp.push(p);
      if (p.ok) break;
    }
  }
  const connected = tcp.find((p) => p.ok) ?? null;
  if (!connected || !o.tls) return { dns, tcp, connected, tls: null };
  const tls = await tlsProbe({
    servername: host,
    address: connected.address,
    port,
    ca: o.tls.ca,
    ...(o.tls.cert ? { cert: o.tls.cert } : {}),
    ...(o.tls.key ? { key: o.tls.key } : {}),
    timeoutMs: o.timeoutMs,
    signal,
    now: o.deps.now(),
  });
  return { dns, tcp, connected, tls };
}
