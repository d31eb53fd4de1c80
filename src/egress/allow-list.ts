import type { EgressEntry } from "../model/egress";
import { isIPv6 } from "../net/ip";

/** The egress lists of several runs as one: a host:port once, with every role, address and observation. */
export function unionEgress(lists: readonly (readonly EgressEntry[])[]): EgressEntry[] {
  const byKey = new Map<string, EgressEntry>();
  for (const list of lists) {
    for (const e of list) {
      const key = `${e.host}:${e.port}`;
      const have = byKey.get(key);
      if (!have) {
        byKey.set(key, { ...e, roles: [...e.roles], addresses: [...e.addresses] });
        continue;
      }
      for (const r of e.roles) if (!have.roles.includes(r)) have.roles.push(r);
      for (const a of e.addresses) if (!have.addresses.includes(a)) have.addresses.push(a);
      if (e.observed && !have.observed) have.scheme = e.scheme;
      have.observed ||= e.observed;
      have.reached ||= e.reached;
      if (e.via === "proxy") have.via = "proxy";
      have.documented ??= e.documented;
      have.flag ??= e.flag;
    }
  }
  const order = ["registry", "mirror", "token", "blob", "proxy"];
  const rank = (e: EgressEntry) => Math.min(...e.roles.map((r) => order.indexOf(r)), order.length);
  return [...byKey.values()]
    .map((e) => ({ ...e, roles: [...e.roles].sort((a, b) => order.indexOf(a) - order.indexOf(b)), addresses: [...e.addresses].sort() }))
    .sort((a, b) => Number(b.observed) - Number(a.observed) || rank(a) - rank(b) || a.host.localeCompare(b.host) || a.port - b.port);
}

/**
 * A host the pull needs that did not answer from here. A mirror alone is not needed: Docker
 * falls back from it to the registry. Hosts only documented were not tried, so they are not judged.
 */
export function unreachableNeeded(list: readonly EgressEntry[]): EgressEntry[] {
  return list.filter((e) => e.observed && !e.reached && !(e.roles.length === 1 && e.roles[0] === "mirror"));
}

export function hostPort(e: Pick<EgressEntry, "host" | "port">): string {
  return `${isIPv6(e.host) ? `[${e.host}]` : e.host}:${e.port}`;
}

function note(e: EgressEntry): string {
  const parts: string[] = [];
  if (!e.observed) parts.push(`documented by ${e.documented?.registry ?? "the table"}, not observed`);
  else if (!e.reached) parts.push("NOT REACHED from here");
  if (e.via === "proxy") parts.push("via proxy");
  if (e.flag) parts.push("undocumented blob host");
  return parts.length ? `  (${parts.join("; ")})` : "";
}

/** One `host:port` per line with its roles, aligned; notes after. */
export function formatPlain(list: readonly EgressEntry[]): string {
  const width = Math.max(0, ...list.map((e) => hostPort(e).length));
  return list.map((e) => `${hostPort(e).padEnd(width)}  ${e.roles.join(",")}${note(e)}\n`).join("");
}

const CSV_COLUMNS = ["host", "port", "scheme", "roles", "via", "observed", "reached", "addresses", "documented", "source", "flag"] as const;

function csvCell(v: string): string {
  return /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v;
}

/** RFC 4180 CSV with a header row; lists inside a cell are separated by spaces. */
export function formatCsv(list: readonly EgressEntry[]): string {
  const rows = list.map((e) =>
    [
      e.host,
      String(e.port),
      e.scheme,
      e.roles.join(" "),
      e.via,
      String(e.observed),
      String(e.reached),
      e.addresses.join(" "),
      e.documented ? `${e.documented.registry} (checked ${e.documented.checked})` : "",
      e.documented?.sources.join(" ") ?? "",
      e.flag ?? "",
    ]
      .map(csvCell)
      .join(","),
  );
  return `${[CSV_COLUMNS.join(","), ...rows].join("\r\n")}\r\n`;
}
