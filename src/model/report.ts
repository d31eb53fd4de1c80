import os from "node:os";
import { VERSION } from "../version";
import type { FindingCode } from "./catalogue/index";
import { hostPlatform } from "./deps";
import type { EgressEntry } from "./egress";
import { capLongStrings } from "./evidence";
import type { ImageRef } from "./facts";
import type { Finding } from "./finding";
import type { Command } from "./options";
import { scrubDeep } from "./redact";
import type { StageResult } from "./stage";

export interface PullSummary {
  digest: string;
  mediaType: string;
  platform: string;
  layers: number;
  bytes: number;
  downloadedBytes: number;
  reusedBytes: number;
  durationMs: number;
  output: string;
  /**
   * The manifest the output holds, when pulldoctor wrote it: `digest` above is the registry's;
   * an oci: output of a Docker schema 2 image holds its OCI rewrite under a new digest
   * (`converted`). Absent for `docker`: the Engine stores the image its own way.
   */
  written?: { digest: string; mediaType: string; size: number; converted: boolean };
  /** The index (manifest list) the tag named, when the image was chosen from one. */
  index?: { digest: string; mediaType: string } | null;
}

export interface Verdict {
  ok: boolean;
  code: FindingCode | null;
  summary: string;
  /** The endpoint a real pull would use (first endpoint whose stages all pass), when known. */
  endpoint?: string | null;
}

/** Which client's pull was judged, and what the choice was based on (SPEC "Clients"). */
export interface ReportClient {
  name: string;
  store: string | null;
  basedOn: string;
}

/** --client all: one verdict per client. */
export interface ReportClientVerdict {
  name: string;
  store: string | null;
  verdict: { ok: boolean; code: FindingCode | null; summary: string };
  /** The endpoints this client's own plan tried, in its order. */
  endpoints: string[];
}

/** SPEC schemaVersion 1. Built once, scrubbed once, validated in tests. */
export interface Report {
  schemaVersion: 1;
  tool: { name: "pulldoctor"; version: string };
  createdAt: string;
  host: { os: string; arch: string; hostname: string };
  command: Command;
  input: { image: string | null; platform: string };
  image: Omit<ImageRef, "input"> | null;
  stages: StageResult[];
  findings: Finding[];
  verdict: Verdict;
  pull: PullSummary | null;
  /** Absent when the config stage did not run (e.g. an invalid reference). */
  client?: ReportClient;
  clients?: ReportClientVerdict[];
  /** Each host and port the pull touched, or is documented to need (SPEC "Egress"). */
  egress: EgressEntry[];
}

export interface ReportParts {
  command: Command;
  image: string | null;
  platform: string | null;
  ref: ImageRef | null;
  stages: StageResult[];
  findings: Finding[];
  verdict: Verdict;
  pull?: PullSummary | null;
  /** Derived from the run's trace at the report boundary (src/egress). */
  egress?: EgressEntry[];
  now?: Date;
  client?: ReportClient;
  clients?: ReportClientVerdict[];
}

export function buildReport(p: ReportParts): Report {
  const hp = hostPlatform();
  const platform = p.platform ?? [hp.os, hp.architecture, hp.variant].filter(Boolean).join("/");
  const image = p.ref
    ? {
        registry: p.ref.registry,
        repository: p.ref.repository,
        tag: p.ref.tag,
        digest: p.ref.digest,
        canonical: p.ref.canonical,
        familiar: p.ref.familiar,
      }
    : null;
  const report: Report = {
    schemaVersion: 1,
    tool: { name: "pulldoctor", version: VERSION },
    createdAt: (p.now ?? new Date()).toISOString(),
    host: { os: hp.os, arch: hp.architecture, hostname: os.hostname() },
    command: p.command,
    input: { image: p.image, platform },
    image,
    stages: p.stages,
    findings: p.findings,
    verdict: p.verdict,
    pull: p.pull ?? null,
    ...(p.client ? { client: p.client } : {}),
    ...(p.clients ? { clients: p.clients } : {}),
    egress: p.egress ?? [],
  };
  // The one final scrub: no password, token or Authorization value survives (SPEC). Long
  // strings are cut only after it, so no cut can leave part of a secret the scrub would miss.
  const clean = scrubDeep(report);
  return {
    ...clean,
    stages: clean.stages.map((s) => ({ ...s, evidence: capLongStrings(s.evidence) })),
    findings: clean.findings.map((f) => ({ ...f, evidence: capLongStrings(f.evidence) })),
  };
}

/** 1 when an error finding or a failed stage (a pull can fail on a write error with no code of its own). */
export function exitCodeFor(report: Report): number {
  return report.findings.some((f) => f.severity === "error") || report.stages.some((s) => s.status === "fail") ? 1 : 0;
}
