import net from "node:net";
import type { EgressEntry, EgressRole } from "../model/egress";
import type { TraceEvent } from "../model/trace";

export type { EgressEntry, EgressRole };

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
  return { host: u.hostname.replace(/^\[|\]$/g, "").toLowerCase(), port: u.port ? Number(u.port) : scheme === "https" ? 443 : 80, scheme };
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
  const entries = new Map<string, EgressEntry>();
  const get = (w: Where, observed = true): EgressEntry => {
    const key = `${w.host}:${w.port}`;
    let e = entries.get(key);
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
      entries.set(key, e);
    }
    e.observed ||= observed;
    return e;
  };
  const role = (e: EgressEntry, r: EgressRole) => {
    if (!e.roles.includes(r)) e.roles.push(r);
  };

  for (const ep of input.endpoints) {
    const w = where(ep.url);
    if (w) role(get(w), ep.role === "mirror" ? "mirror" : "registry");
  }

  const dnsAnswers = new Map<string, Set<string>>();
  const blobHosts = new Set<string>();
  for (const ev of input.events) {
    if (ev.kind === "dns") {
      const name = ev.name.replace(/\.$/, "").toLowerCase();
      const set = dnsAnswers.get(name) ?? new Set<string>();
      for (const a of ev.answers) if (net.isIP(a)) set.add(a);
      dnsAnswers.set(name, set);
      continue;
    }
    if (ev.kind !== "http") continue;
    if (ev.method === "CONNECT") {
      // The proxy stage's tunnel: "host:port via http://proxy:3128".
      const [target, proxy] = ev.url.split(" via ");
      const pw = proxy ? proxyWhere(proxy) : null;
      if (pw) {
        const p = get({ ...pw, scheme: "http" });
        role(p, "proxy");
        if (ev.status !== null) p.reached = true;
      }
      const tw = target ? where(`https://${target}`) : null;
      if (tw) {
        const t = get(tw);
        t.via = "proxy";
        if (ev.status !== null && ev.status >= 200 && ev.status < 300) t.reached = true;
      }
      continue;
    }
    const w = where(ev.url);
    if (!w) continue;
    const e = get(w);
    e.scheme = w.scheme;
    if (ev.proxy) {
      e.via = "proxy";
      const pw = proxyWhere(ev.proxy);
      if (pw) {
        const p = get({ ...pw, scheme: "http" });
        role(p, "proxy");
        if (ev.status !== null) p.reached = true;
        if (ev.address && !p.addresses.includes(ev.address)) p.addresses.push(ev.address);
      }
    } else if (ev.address && !e.addresses.includes(ev.address)) e.addresses.push(ev.address);
    if (ev.status !== null && !(ev.proxy && PROXY_ANSWERS.has(ev.status))) e.reached = true;
    const path = URL.canParse(ev.url) ? new URL(ev.url).pathname : "";
    const isBlob = /\/blobs\//.test(path) || blobHosts.has(`${w.host}:${w.port}`);
    // A bearer challenge names the token realm, the host Docker asks for a token.
    const challenge = header(ev.responseHeaders, "www-authenticate");
    const realm = challenge ? /realm="([^"]+)"/i.exec(challenge)?.[1] : undefined;
    const rw = realm ? where(realm) : null;
    if (rw && /^\s*bearer/i.test(challenge!)) role(get(rw), "token");
    // A redirect hands the request to another host: for a blob, the storage or CDN host.
    const location = header(ev.responseHeaders, "location");
    if (ev.status !== null && ev.status >= 300 && ev.status < 400 && location && URL.canParse(location, ev.url)) {
      const lw = where(new URL(location, ev.url).toString());
      if (lw && `${lw.host}:${lw.port}` !== `${w.host}:${w.port}`) {
        const target = get(lw);
        if (e.via === "proxy" && !target.roles.length) target.via = "proxy";
        if (isBlob) {
          role(target, "blob");
          blobHosts.add(`${lw.host}:${lw.port}`);
        } else role(target, "registry");
      }
    }
  }

  // Hosts that answered requests but got no role from the above (a token request to a realm whose challenge came earlier, etc.).
  for (const e of entries.values()) {
    for (const a of dnsAnswers.get(e.host) ?? []) if (e.via === "direct" && !e.addresses.includes(a)) e.addresses.push(a);
    if (net.isIP(e.host) && e.via === "direct" && !e.addresses.includes(e.host)) e.addresses.push(e.host);
  }
  addDocumented(input.registry, entries, get, role);
  const out = [...entries.values()];
  for (const e of out) {
    e.roles.sort((a, b) => ROLE_ORDER.indexOf(a) - ROLE_ORDER.indexOf(b));
    e.addresses.sort();
    const doc = documentingEntry(e.host, input.registry);
    if (doc && !e.documented)
      e.documented = { registry: doc.entry.name, host: doc.pattern, sources: doc.entry.sources, checked: TABLE_CHECKED };
    if (e.observed && e.reached && e.roles.includes("blob") && !e.documented)
      e.flag = `blob host in no table of documented registry hosts (checked ${TABLE_CHECKED}): CDNs change, so allow it by name and check it again`;
  }
  return out.filter((e) => e.roles.length > 0 || e.observed);
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
