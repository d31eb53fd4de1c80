import type { Severity } from "../model/finding";
import type { StageStatus } from "../model/stage";
import { mergeNode } from "./merge";

/**
 * The parts of a report (single or batch) the fleet reads. A report of a newer
 * schemaVersion is read for what it shares with version 1; nothing else is trusted to exist.
 */
export interface NodeReport {
  node: string;
  /** Where it came from: "logs.txt:12" or "pod/pulldoctor-a-x/check". */
  source: string;
  createdAt: string;
  schemaVersion: number;
  ok: boolean;
  code: string | null;
  summary: string;
  /** Stage ids and codes are strings: a newer report may name ones this version does not know. */
  stages: {
    id: string;
    endpoint: string | null;
    status: StageStatus;
    summary: string;
    image: string | null;
    evidence: unknown;
    durationMs: number | null;
  }[];
  findings: {
    code: string;
    severity: Severity;
    stage: string;
    endpoint: string | null;
    title: string;
    detail: string;
    fixes: string[];
    image: string | null;
    /** The host it is about: the evidence's host (a CDN, a token realm) or the endpoint's. */
    host: string | null;
  }[];
  egress: EgressEntry[] | null;
  /** Each image the report judged and its verdict (a single report: its input image; a batch: each entry's). */
  judged: { image: string; ok: boolean; code: string | null; summary: string }[];
  /** SPEC "Clients": the client whose pull was judged (`--client auto` says what it found), null in older reports. */
  client: { name: string; store: string | null; basedOn: string } | null;
  clients: { name: string; store: string | null; ok: boolean | null }[] | null;
}

/** SPEC "Egress": one host a pull touches. */
export interface EgressEntry {
  host: string;
  port: number;
  scheme: string;
  roles: string[];
  via: string;
  observed: boolean;
  reached: boolean;
}

export interface ReadResult {
  reports: NodeReport[];
  /** Lines (or files) that were not a report, named "FILE:LINE". */
  skipped: string[];
  /** Older results for an image on a node that a newer report of the same image on that node replaced. */
  replaced: number;
  newerSchema: number;
}

/** `[pod/NAME/CONTAINER] ` as `kubectl logs --prefix` writes it. */
const PREFIX = /^\[([^\]\s]+)\] ?/;

/** Reads every input (name → text); merges each node's reports, per image the newest by createdAt (src/fleet/merge.ts). */
export function readReports(inputs: { name: string; text: string }[]): ReadResult {
  const all: NodeReport[] = [];
  const skipped: string[] = [];
  for (const input of inputs) {
    const whole = input.text.trim();
    // A report file written with --report (pretty-printed over many lines).
    if (whole.startsWith("{") && whole.includes("\n")) {
      const one = tryReport(whole, null, input.name);
      if (one) {
        all.push(one);
        continue;
      }
    }
    // A pretty-printed report (a pod without PULLDOCTOR_JSON_LINES) spans lines from "{" to
    // "}" at the line start; with --prefix, each of its lines carries its pod's prefix.
    const open = new Map<string, { lines: string[]; where: string }>();
    for (const [i, raw] of input.text.split(/\r?\n/).entries()) {
      if (raw.trim() === "") continue;
      const m = PREFIX.exec(raw);
      const prefix = m ? m[1]! : "";
      const rest = m ? raw.slice(m[0].length) : raw;
      const where = `${input.name}:${i + 1}`;
      const pending = open.get(prefix);
      if (pending) {
        pending.lines.push(rest);
        if (rest.trimEnd() !== "}") continue;
        open.delete(prefix);
        const r = tryReport(pending.lines.join("\n"), m ? prefix : null, m ? prefix : pending.where);
        if (r) all.push(r);
        else skipped.push(pending.where);
        continue;
      }
      if (rest.trimEnd() === "{") {
        open.set(prefix, { lines: [rest], where });
        continue;
      }
      const body = rest.trim();
      const r = body.startsWith("{") ? tryReport(body, m ? prefix : null, m ? prefix : where) : null;
      if (r) all.push(r);
      else skipped.push(where);
    }
    for (const pending of open.values()) skipped.push(pending.where);
  }
  const byNode = new Map<string, NodeReport[]>();
  for (const r of all) byNode.set(r.node, [...(byNode.get(r.node) ?? []), r]);
  let replaced = 0;
  const reports = [...byNode.values()]
    .map((rs) => {
      const m = mergeNode(rs);
      replaced += m.replaced;
      return m.report;
    })
    .sort((a, b) => a.node.localeCompare(b.node, "en", { numeric: true }));
  return { reports, skipped, replaced, newerSchema: reports.filter((r) => r.schemaVersion > 1).length };
}

function tryReport(text: string, prefix: string | null, source: string): NodeReport | null {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return null;
  }
  if (!isRecord(doc) || typeof doc.schemaVersion !== "number" || doc.schemaVersion < 1) return null;
  const batch = doc.kind === "batch" && Array.isArray(doc.images);
  if (!batch && !Array.isArray(doc.stages)) return null;
  const host = isRecord(doc.host) ? doc.host : {};
  const node = str(host.hostname) || podName(prefix);
  if (!node) return null;
  const parts: { image: string | null; report: Record<string, unknown> }[] = batch
    ? (doc.images as unknown[]).filter(isRecord).map((e) => ({ image: str(e.image) || null, report: isRecord(e.report) ? e.report : {} }))
    : [{ image: null, report: doc }];
  const verdict = isRecord(doc.verdict) ? doc.verdict : {};
  const firstCode =
    parts.map((p) => (isRecord(p.report.verdict) ? p.report.verdict.code : null)).find((c) => typeof c === "string") ?? null;
  return {
    node,
    source,
    createdAt: str(doc.createdAt) || "1970-01-01T00:00:00.000Z",
    schemaVersion: doc.schemaVersion,
    ok: verdict.ok === true,
    code: typeof verdict.code === "string" ? verdict.code : firstCode,
    summary: str(verdict.summary) || (batch ? `${num(verdict.failed)} of ${num(verdict.total)} images failed` : ""),
    stages: parts.flatMap((p) =>
      (Array.isArray(p.report.stages) ? p.report.stages : []).filter(isRecord).map((s) => ({
        id: str(s.id),
        endpoint: typeof s.endpoint === "string" ? s.endpoint : null,
        status: (["pass", "warn", "fail", "skip"].includes(str(s.status)) ? s.status : "skip") as StageStatus,
        summary: str(s.summary),
        image: p.image,
        evidence: s.evidence,
        durationMs: typeof s.durationMs === "number" ? s.durationMs : null,
      })),
    ),
    findings: parts.flatMap((p) =>
      (Array.isArray(p.report.findings) ? p.report.findings : []).filter(isRecord).map((f) => ({
        code: str(f.code),
        severity: (["error", "warning", "info"].includes(str(f.severity)) ? f.severity : "info") as Severity,
        stage: str(f.stage),
        endpoint: typeof f.endpoint === "string" ? f.endpoint : null,
        title: str(f.title),
        detail: str(f.detail),
        fixes: Array.isArray(f.fixes) ? f.fixes.filter((x): x is string => typeof x === "string") : [],
        image: p.image,
        host: findingHost(f),
      })),
    ),
    egress: readEgress(doc.egress, parts),
    judged: parts.map((p) => {
      const v = isRecord(p.report.verdict) ? p.report.verdict : {};
      const input = isRecord(p.report.input) ? p.report.input : {};
      return {
        image: p.image ?? str(input.image),
        ok: v.ok === true,
        code: typeof v.code === "string" ? v.code : null,
        summary: str(v.summary),
      };
    }),
    client: readClient(doc.client, parts),
    clients: readClients(doc.clients ?? parts[0]?.report.clients),
  };
}

function readEgress(top: unknown, parts: { report: Record<string, unknown> }[]): EgressEntry[] | null {
  const lists = [top, ...parts.map((p) => p.report.egress)].filter(Array.isArray) as unknown[][];
  if (lists.length === 0) return null;
  const out = new Map<string, EgressEntry>();
  for (const e of lists.flat()) {
    if (!isRecord(e) || !str(e.host)) continue;
    const entry: EgressEntry = {
      host: str(e.host),
      port: typeof e.port === "number" ? e.port : 443,
      scheme: str(e.scheme) || "https",
      roles: Array.isArray(e.roles) ? e.roles.filter((r): r is string => typeof r === "string") : [],
      via: str(e.via) || "direct",
      observed: e.observed === true,
      reached: e.reached === true,
    };
    const key = `${entry.host}:${entry.port}`;
    const seen = out.get(key);
    // One host in several images' lists: reached if any pull reached it.
    out.set(key, seen ? { ...seen, reached: seen.reached || entry.reached, observed: seen.observed || entry.observed } : entry);
  }
  return [...out.values()];
}

/** A batch has one client per image's report: the same on one node, so the first that names one. */
function readClient(top: unknown, parts: { report: Record<string, unknown> }[]): NodeReport["client"] {
  const c = [top, ...parts.map((p) => p.report.client)].find((x) => isRecord(x) && str(x.name) !== "");
  if (!isRecord(c)) return null;
  return { name: str(c.name), store: typeof c.store === "string" ? c.store : null, basedOn: str(c.basedOn) };
}

function readClients(v: unknown): NodeReport["clients"] {
  if (!Array.isArray(v)) return null;
  return v.filter(isRecord).map((c) => ({
    name: str(c.name),
    store: typeof c.store === "string" ? c.store : null,
    ok: isRecord(c.verdict) && typeof c.verdict.ok === "boolean" ? c.verdict.ok : null,
  }));
}

function findingHost(f: Record<string, unknown>): string | null {
  const ev = isRecord(f.evidence) ? f.evidence : {};
  for (const k of ["host", "blobHost", "realmHost", "proxyHost"]) if (str(ev[k])) return str(ev[k]);
  if (typeof f.endpoint === "string") {
    try {
      return new URL(f.endpoint).host;
    } catch {}
  }
  return null;
}

/** pod/pulldoctor-node-a-x7k2/check → pulldoctor-node-a-x7k2 */
function podName(prefix: string | null): string {
  if (!prefix) return "";
  const parts = prefix.split("/");
  return parts.length >= 2 ? parts[1]! : prefix;
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function num(v: unknown): number {
  return typeof v === "number" ? v : 0;
}

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
