import type { EgressEntry, EgressRole } from "../model/egress";
import type { TraceEvent } from "../model/trace";
import { hostPort } from "../net/origin";

export type { EgressEntry, EgressRole };

import { isIP } from "../net/ip";
import { documentingEntry, hostMatches, TABLE_CHECKED, tableEntryFor } from "./table";

export interface EgressInput {
  events: readonly TraceEvent[];
  /** The endpoints the run planned: mirrors, then the upstream registry. */
  endpoints: readonly { url: string; role: "mirror" | "upstream" }[];
  /** The image's registry as Docker names it ("docker.io"), for the dated table. */
  registry: string | null;
}

const ROLE_ORDER: EgressRole[] = ["registry", "mirror", "token", "blob", "proxy"];
/** Answers that come from a proxy, not from the host behind it. */
const PROXY_ANSWERS = new Set([407, 502, 503, 504]);

interface Where {
  host: string;
  port: number;
  scheme: "https" | "http";
}

function where(raw: string): Where | null {
  if (!URL.canParse(raw)) return null;
  const u = new URL(raw);
  if (u.protocol !== "https:" && u.protocol !== "http:") return null;
  const scheme = u.protocol === "https:" ? "https" : "http";
  const { host, port } = hostPort(u);
  return { host: host.toLowerCase(), port, scheme };
}

/** "host:port" from a proxy's host[:port] as the trace names it. */
function proxyWhere(p: string): Where | null {
  return where(/^[a-z][a-z0-9+.-]*:\/\//i.test(p) ? p : `http://${p}`);
}

/**
 * The egress list of one run, from what its trace recorded (every HTTP exchange and DNS
 * answer is there) and the dated table of public registries. Pure: nothing is asked again.
 */
export function deriveEgress(input: EgressInput): EgressEntry[] {
  const b = new Builder();
  for (const ep of input.endpoints) {
    const w = where(ep.url);
    if (w) b.role(b.get(w), ep.role === "mirror" ? "mirror" : "registry");
  }
  for (const ev of input.events) {
    if (ev.kind === "dns") b.onDns(ev);
    else if (ev.kind === "http" && ev.method === "CONNECT") b.onConnect(ev);
    else if (ev.kind === "http") b.onHttp(ev);
  }
  return b.finish(input.registry);
}

type HttpEvent = Extract<TraceEvent, { kind: "http" }>;

class Builder {
  readonly entries = new Map<string, EgressEntry>();
  private readonly dnsAnswers = new Map<string, Set<string>>();
  /** host:port of every host a blob request was redirected to (their own redirects are blob hops too). */
  private readonly blobHosts = new Set<string>();

  get = (w: Where, observed = true): EgressEntry => {
    const key = `${w.host}:${w.port}`;
    let e = this.entries.get(key);
    if (!e) {
      e = {
        host: w.host,
        port: w.port,
        scheme: w.scheme,
        roles: [],
        addresses: [],
        via: "direct",
        observed,
        reached: false,
        documented: null,
        flag: null,
      };
      this.entries.set(key, e);
    }
    e.observed ||= observed;
    return e;
  };

  role = (e: EgressEntry, r: EgressRole): void => {
    if (!e.roles.includes(r)) e.roles.push(r);
  };

  onDns(ev: Extract<TraceEvent, { kind: "dns" }>): void {
    const name = ev.name.replace(/\.$/, "").toLowerCase();
    const set = this.dnsAnswers.get(name) ?? new Set<string>();
    for (const a of ev.answers) if (isIP(a)) set.add(a);
    this.dnsAnswers.set(name, set);
  }

  /** The proxy stage's tunnel, traced as "host:port via http://proxy:3128". */
  onConnect(ev: HttpEvent): void {
    const [target, proxy] = ev.url.split(" via ");
    const pw = proxy ? proxyWhere(proxy) : null;
    if (pw) this.proxyAnswered(pw, ev, null);
    const tw = target ? where(`https://${target}`) : null;
    if (!tw) return;
    const t = this.get(tw);
    t.via = "proxy";
    if (ev.status !== null && ev.status >= 200 && ev.status < 300) t.reached = true;
  }

  private proxyAnswered(pw: Where, ev: HttpEvent, address: string | null): void {
    const p = this.get({ ...pw, scheme: "http" });
    this.role(p, "proxy");
    if (ev.status !== null) p.reached = true;
    if (address && !p.addresses.includes(address)) p.addresses.push(address);
  }

  onHttp(ev: HttpEvent): void {
    const w = where(ev.url);
    if (!w) return;
    const e = this.get(w);
    e.scheme = w.scheme;
    const pw = ev.proxy ? proxyWhere(ev.proxy) : null;
    if (ev.proxy) e.via = "proxy";
    if (pw) this.proxyAnswered(pw, ev, ev.address ?? null);
    else if (!ev.proxy && ev.address && !e.addresses.includes(ev.address)) e.addresses.push(ev.address);
    // A proxy's own error answer says nothing of the host behind it.
    if (ev.status !== null && !(ev.proxy && PROXY_ANSWERS.has(ev.status))) e.reached = true;
    // A bearer challenge names the token realm, the host Docker asks for a token.
    const challenge = header(ev.responseHeaders, "www-authenticate");
    const realm = challenge && /^\s*bearer/i.test(challenge) ? /realm="([^"]+)"/i.exec(challenge)?.[1] : undefined;
    const rw = realm ? where(realm) : null;
    if (rw) this.role(this.get(rw), "token");
    this.onRedirect(ev, w, e);
  }

  /** A redirect hands the request to another host: for a blob, the storage or CDN host. */
  private onRedirect(ev: HttpEvent, w: Where, e: EgressEntry): void {
    const location = header(ev.responseHeaders, "location");
    if (ev.status === null || ev.status < 300 || ev.status >= 400 || !location || !URL.canParse(location, ev.url)) return;
    const lw = where(new URL(location, ev.url).toString());
    if (!lw || (lw.host === w.host && lw.port === w.port)) return;
    const target = this.get(lw);
    if (e.via === "proxy" && !target.roles.length) target.via = "proxy";
    const fromBlob = /\/blobs\//.test(new URL(ev.url).pathname) || this.blobHosts.has(`${w.host}:${w.port}`);
    if (!fromBlob) {
      this.role(target, "registry");
      return;
    }
    this.role(target, "blob");
    this.blobHosts.add(`${lw.host}:${lw.port}`);
  }

  finish(registry: string | null): EgressEntry[] {
    for (const e of this.entries.values()) {
      if (e.via !== "direct") continue;
      for (const a of this.dnsAnswers.get(e.host) ?? []) if (!e.addresses.includes(a)) e.addresses.push(a);
      if (isIP(e.host) && !e.addresses.includes(e.host)) e.addresses.push(e.host);
    }
    addDocumented(registry, this.entries, this.get, this.role);
    const out = [...this.entries.values()];
    for (const e of out) {
      e.roles.sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));
      e.addresses.sort();
      const doc = documentingEntry(e.host, registry);
      if (doc && !e.documented)
        e.documented = { registry: doc.entry.name, host: doc.pattern, sources: doc.entry.sources, checked: TABLE_CHECKED };
      if (e.observed && e.reached && e.roles.includes("blob") && !e.documented)
        e.flag = `blob host in no table of documented registry hosts (checked ${TABLE_CHECKED}): CDNs change, so allow it by name and check it again`;
    }
    return out;
  }
}

/** The public registry's documented hosts: added unobserved when no request went to them. */
function addDocumented(
  registry: string | null,
  entries: Map<string, EgressEntry>,
  get: (w: Where, observed?: boolean) => EgressEntry,
  role: (e: EgressEntry, r: EgressRole) => void,
): void {
  const entry = registry ? tableEntryFor(registry) : null;
  if (!entry || !registry) return;
  const registryVia = [...entries.values()].find((e) => e.roles.includes("registry"))?.via ?? "direct";
  for (const d of entry.hosts(registry)) {
    const documented = { registry: entry.name, host: d.host, sources: entry.sources, checked: TABLE_CHECKED };
    const seen = [...entries.values()].filter((e) => e.port === 443 && hostMatches(d.host, e.host));
    for (const e of seen) e.documented ??= documented;
    // A wildcard stays listed even when one of its hosts was seen: the next pull may use another.
    if (seen.some((e) => e.host === d.host.toLowerCase())) continue;
    const e = get({ host: d.host.toLowerCase(), port: 443, scheme: "https" }, false);
    e.via = registryVia;
    e.documented = documented;
    for (const r of d.roles) role(e, r);
  }
}

function header(h: Record<string, string | string[]>, name: string): string | undefined {
  const v = h[name] ?? h[Object.keys(h).find((k) => k.toLowerCase() === name) ?? ""];
  return Array.isArray(v) ? v[0] : v;
}
