import { isRecord, type NodeReport, type ReadResult } from "./reports";

/** What `fleet summarize` says, as data: the text, `--json` and `--html` all render this. */
export interface FleetSummary {
  nodes: number;
  failing: number;
  perNode: {
    node: string;
    ok: boolean;
    code: string | null;
    summary: string;
    /** The client whose pull was judged on the node ("kubelet on containerd"), and why `auto` chose it. */
    client: string | null;
    clientBasedOn: string | null;
    source: string;
    createdAt: string;
  }[];
  perCode: CodeGroup[];
  /** Egress hosts that some nodes reach and others do not. */
  egress: { host: string; port: number; roles: string[]; reached: string[]; unreached: string[] }[];
  /** Client configuration that differs between the failing and the healthy nodes. */
  configDiff: { trait: Trait; failing: Record<string, string[]>; healthy: Record<string, string[]> }[];
  input: { reports: number; skipped: string[]; replaced: number; newerSchema: number };
  /** Stage ids in the order the reports list them (columns of the grid). */
  stageOrder: string[];
}

export interface CodeGroup {
  code: string;
  severity: string;
  stage: string;
  title: string;
  host: string | null;
  nodes: string[];
  /** "3 of 40 nodes cannot reach cdn.example.com: a, b, c" */
  line: string;
}

export const TRAITS = ["client", "store", "mirrors", "proxy", "resolver"] as const;
export type Trait = (typeof TRAITS)[number];

/** Stages where an error means the host could not be reached at all. */
const REACH_STAGES = new Set(["dns", "proxy", "connect", "blob"]);
const SEVERITY_RANK: Record<string, number> = { error: 0, warning: 1, info: 2 };

export function summarize(read: ReadResult): FleetSummary {
  const reports = read.reports;
  const total = reports.length;
  const groups = new Map<string, Omit<CodeGroup, "line">>();
  for (const r of reports) {
    for (const f of r.findings) {
      if (f.severity === "info") continue;
      const key = `${f.code}\u0000${f.host ?? ""}`;
      let g = groups.get(key);
      if (!g) {
        g = { code: f.code, severity: f.severity, stage: f.stage, title: f.title, host: f.host, nodes: [] };
        groups.set(key, g);
      }
      if (g.nodes.at(-1) !== r.node) g.nodes.push(r.node);
      if (f.severity === "error") g.severity = "error";
    }
  }
  const perCode = [...groups.values()]
    .sort(
      (a, b) =>
        (SEVERITY_RANK[a.severity] ?? 3) - (SEVERITY_RANK[b.severity] ?? 3) ||
        b.nodes.length - a.nodes.length ||
        a.code.localeCompare(b.code),
    )
    .map((g) => ({ ...g, line: codeLine(g, total) }));
  return {
    nodes: total,
    failing: reports.filter((r) => !r.ok).length,
    perNode: reports.map((r) => ({
      node: r.node,
      ok: r.ok,
      code: r.code,
      summary: r.summary,
      client: clientOf(r),
      clientBasedOn: r.client?.basedOn || null,
      source: r.source,
      createdAt: r.createdAt,
    })),
    perCode,
    egress: partialEgress(reports),
    configDiff: configDiff(reports),
    input: { reports: total, skipped: read.skipped, replaced: read.replaced, newerSchema: read.newerSchema },
    stageOrder: stageOrder(reports),
  };
}

function codeLine(g: Omit<CodeGroup, "line">, total: number): string {
  const count = `${g.nodes.length} of ${total} node${total === 1 ? "" : "s"}`;
  const unreachable = g.severity === "error" && REACH_STAGES.has(g.stage) && g.host !== null;
  const what = unreachable
    ? `cannot reach ${g.host} (${g.code}: ${g.title})`
    : `${g.nodes.length === 1 ? "has" : "have"} ${g.code}${g.host ? ` at ${g.host}` : ""} (${g.title})`;
  return `${count} ${what}: ${g.nodes.join(", ")}`;
}

function partialEgress(reports: NodeReport[]): FleetSummary["egress"] {
  const hosts = new Map<string, FleetSummary["egress"][number]>();
  for (const r of reports) {
    for (const e of r.egress ?? []) {
      const key = `${e.host}:${e.port}`;
      let h = hosts.get(key);
      if (!h) {
        h = { host: e.host, port: e.port, roles: [], reached: [], unreached: [] };
        hosts.set(key, h);
      }
      for (const role of e.roles) if (!h.roles.includes(role)) h.roles.push(role);
      (e.reached ? h.reached : h.unreached).push(r.node);
    }
  }
  return [...hosts.values()].filter((h) => h.reached.length > 0 && h.unreached.length > 0);
}

function configDiff(reports: NodeReport[]): FleetSummary["configDiff"] {
  const failing = reports.filter((r) => !r.ok);
  const healthy = reports.filter((r) => r.ok);
  if (failing.length === 0 || healthy.length === 0) return [];
  const traitsOf = new Map(reports.map((r) => [r.node, traits(r)]));
  const out: FleetSummary["configDiff"] = [];
  for (const trait of TRAITS) {
    const byValue = (rs: NodeReport[]) => {
      const m: Record<string, string[]> = {};
      for (const r of rs) {
        const v = traitsOf.get(r.node)![trait];
        if (v === undefined) continue;
        m[v] ??= [];
        m[v].push(r.node);
      }
      return m;
    };
    const f = byValue(failing);
    const h = byValue(healthy);
    const fv = Object.keys(f);
    const hv = Object.keys(h);
    if (fv.length === 0 || hv.length === 0) continue;
    // Worth saying when a value is found only among the failing nodes or only among the healthy.
    if (fv.some((v) => !(v in h)) || hv.some((v) => !(v in f))) out.push({ trait, failing: f, healthy: h });
  }
  return out;
}

/** "kubelet", "docker (containerd store)", or every client's name under --client all. */
function clientOf(r: NodeReport): string | null {
  if (r.clients && r.clients.length > 0) return r.clients.map((c) => c.name).join(", ");
  if (!r.client) return null;
  return r.client.store ? `${r.client.name} (${r.client.store} store)` : r.client.name;
}

/**
 * A node's client configuration as its report shows it: the judged client (`client`, or
 * `clients` under --client all), the config stage's evidence (the judged client's mirrors: its
 * hosts.toml or registries.conf hosts, or for Docker's classic store daemon.json's), the proxy
 * stage's (the proxy the judged client's service uses) and the dns stage's (the resolver's
 * servers and any hosts-file answer).
 */
export function traits(r: NodeReport): Partial<Record<Trait, string>> {
  const t: Partial<Record<Trait, string>> = {};
  const ev = (id: string) => r.stages.find((s) => s.id === id && isRecord(s.evidence))?.evidence as Record<string, unknown> | undefined;
  if (r.clients && r.clients.length > 0) {
    t.client = r.clients.map((c) => c.name).join(", ");
    const stores = r.clients.map((c) => c.store).filter((s): s is string => s !== null);
    if (stores.length > 0) t.store = stores.join(", ");
  } else if (r.client) {
    t.client = r.client.name;
    // Only Docker has a choice of image store: "none" for the others, so a Docker store still compares.
    t.store = r.client.store ?? "none";
  }
  const config = ev("config");
  if (config) {
    if (t.client === undefined && typeof config.client === "string") t.client = config.client;
    const store = config.dockerStore ?? config.store;
    if (t.store === undefined && typeof store === "string") t.store = store;
    const mirrors = mirrorsOf(config, t.store);
    if (mirrors) t.mirrors = mirrors.length > 0 ? mirrors.join(", ") : "none";
  }
  const proxy = ev("proxy");
  if (proxy) {
    const daemon = isRecord(proxy.daemon) ? proxy.daemon : {};
    const shell = isRecord(proxy.shell) ? proxy.shell : {};
    const used = daemon.dockerUses ?? daemon.proxy ?? shell.proxy;
    t.proxy = typeof used === "string" && used !== "" ? used : "direct";
  }
  for (const s of r.stages) {
    if (s.id !== "dns" || !isRecord(s.evidence) || !Array.isArray(s.evidence.servers)) continue;
    // The servers resolv.conf names (":53" is every resolver's port), and a hosts-file answer, which wins over them.
    const servers = s.evidence.servers.map((x) => String(x).replace(/^([^:]+):53$/, "$1"));
    const hosts = isRecord(s.evidence.hostsFile) && Array.isArray(s.evidence.hostsFile.addresses) ? s.evidence.hostsFile.addresses : [];
    const override = hosts.length > 0 ? ` + /etc/hosts: ${String(s.evidence.host)} → ${hosts.join(", ")}` : "";
    t.resolver = `${servers.length > 0 ? servers.join(", ") : "none"}${override}`;
    break;
  }
  return t;
}

/**
 * The judged client's mirrors: its profile's hosts of role "mirror" (hosts.toml, registries.conf,
 * daemon.json turned into hosts for Docker's containerd store), else, for Docker's classic store
 * and reports before client profiles, the registry settings in effect (daemon.json or the Engine's).
 */
function mirrorsOf(config: Record<string, unknown>, store: string | undefined): string[] | null {
  const client = isRecord(config.client) ? config.client : null;
  const profile = client && Array.isArray(client.profiles) ? client.profiles.find(isRecord) : undefined;
  if (profile && Array.isArray(profile.hosts) && store !== "classic")
    return profile.hosts.filter((h) => isRecord(h) && h.role === "mirror").map((h) => hostUrl(String((h as Record<string, unknown>).url)));
  const eff = isRecord(config.effective) ? config.effective : isRecord(config.daemonJson) ? config.daemonJson : null;
  return eff && Array.isArray(eff.mirrors) ? eff.mirrors.map(String) : null;
}

/** "http://mirror.local:5000/v2" → "http://mirror.local:5000": the path is containerd's API root, the same on every host. */
function hostUrl(url: string): string {
  return url.replace(/\/v2\/?$/, "");
}

function stageOrder(reports: NodeReport[]): string[] {
  const order: string[] = [];
  for (const r of reports) {
    let at = 0;
    for (const s of r.stages) {
      const i = order.indexOf(s.id);
      if (i === -1) order.splice(at++, 0, s.id);
      else at = i + 1;
    }
  }
  return order;
}
