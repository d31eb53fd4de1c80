import type { Severity } from "./catalogue/entry";
import { catalogueEntry, type FindingCode, type ParamsOf } from "./catalogue/sections";
import type { Evidence } from "./evidence";
import type { StageId } from "./stage";

export type { Severity };

/** Exactly the SPEC's shape. */
export interface Finding {
  code: FindingCode;
  severity: Severity;
  stage: StageId;
  endpoint: string | null;
  title: string;
  detail: string;
  fixes: string[];
  evidence: Evidence;
}

export interface FindingOptions {
  /** Override the catalogue's severity (e.g. a TLS problem on an insecure registry is a warning). */
  severity?: Severity;
  /** Added to the catalogue's detail line (e.g. "Docker proceeds; containerd/kubelet will fail"). */
  note?: string;
}

/**
 * A stage writes `finding("DNS_NXDOMAIN", { host, servers }, evidence)`; the words come
 * from the catalogue. The runner fills in `endpoint`.
 */
export function finding<C extends FindingCode>(code: C, params: ParamsOf<C>, evidence: Evidence = {}, opts: FindingOptions = {}): Finding {
  const e = catalogueEntry(code);
  const detail = e.detail(params);
  return {
    code,
    severity: opts.severity ?? e.severity,
    stage: e.stage,
    endpoint: null,
    title: e.title,
    detail: opts.note ? `${detail} ${opts.note}` : detail,
    fixes: e.fixes(params),
    evidence,
  };
}

const RANK: Record<Severity, number> = { error: 2, warning: 1, info: 0 };
export function worst(findings: readonly Finding[]): Severity | null {
  let w: Severity | null = null;
  for (const f of findings) if (w === null || RANK[f.severity] > RANK[w]) w = f.severity;
  return w;
}
