import os from "node:os";
import { recognisePastedError } from "../../clients/pasted-error";
import { shareEndpointProbes } from "../../doctor/shared-probes";
import { unionEgress } from "../../egress/allow-list";
import { normalJit } from "../../host/jit";
import type { BuiltImage, ImageSource, InputsResult } from "../../inputs/types";
import type { FindingCode } from "../../model/catalogue/index";
import { type Deps, hostPlatform, realDeps } from "../../model/deps";
import type { EgressEntry } from "../../model/egress";
import type { Evidence } from "../../model/evidence";
import type { Finding } from "../../model/finding";
import type { Command, Options } from "../../model/options";
import { scrubDeep } from "../../model/redact";
import type { Report } from "../../model/report";
import { rerunFlags, shellWord } from "../../model/rerun-flags";
import { escapeControls } from "../../registry/http-util";
import { STAGES } from "../../stages/index";
import type { Io } from "../../ui/io";
import { EXIT_INTERNAL } from "../../ui/io";
import { reportFileProblem, writeReportOrSay } from "../../ui/report-file";
import { VERSION } from "../../version";
import { bounded, CONCURRENCY, collectImages, diagnoseImage, planSecrets, type SecretPlan, type Wanted, withSecrets } from "./many";

/** SPEC "Many images": the JSON report of a run over several images. */
export interface BatchReport {
  schemaVersion: 1;
  kind: "batch";
  tool: { name: "pulldoctor"; version: string };
  createdAt: string;
  host: { os: string; arch: string; hostname: string };
  command: Command;
  /** Each -f input: what it was read as, and the findings about it (INPUT_*). */
  inputs: { file: string; formats: string[]; documents: number; findings: Finding[] }[];
  images: {
    image: string;
    platform: string | null;
    sources: ImageSource[];
    sourceCount: number;
    pullSecrets: string[];
    /** With --pull-secret: the files this image's diagnosis read as its pod's (kubelet's) pull secrets, in order. */
    pullSecretFiles?: string[];
    /** With --pull-secret: the imagePullSecrets names no given file holds a Secret of. */
    missingPullSecrets?: string[];
    waiting: Waiting | null;
    report: Report;
  }[];
  builtLocally: BuiltImage[];
  /** With --pull-secret: the given Secrets no image's pod spec names (kubelet reads them for no pull). */
  unusedPullSecrets?: { file: string; name: string }[];
  verdict: { ok: boolean; total: number; failed: number };
  egress: EgressEntry[];
  /** pull -f, pull --all-tags: the one output all the images went to (null: nothing was written). */
  pull?: {
    output: string;
    written: boolean;
    images: { name: string; reference: string; digest: string }[];
    summary: string;
    findings: Finding[];
    evidence: Evidence;
  } | null;
}

/** kubelet's waiting message, and what it says when read as a pasted error (src/clients/pasted-error.ts). */
export interface Waiting {
  reason: string | null;
  message: string;
  /** The client that printed it and the codes it implies, best first; null when no pattern matched. */
  reads: { client: string | null; runtime: string | null; codes: FindingCode[] } | null;
}

/** The waiting message beside the diagnosis: which client printed it and the codes it implies, offline. */
export function decodeWaiting(reason: string | null, message: string): Waiting {
  const p = recognisePastedError(message);
  if (!p.recognised) return { reason, message, reads: null };
  // The message is kubelet's by where it was found; the text inside is its runtime's (CRI).
  const c = p.client;
  const runtime = c?.runtime ?? (c?.name === "containerd" ? "containerd" : c?.name === "podman" ? "cri-o" : null);
  return { reason, message, reads: { client: "kubelet", runtime, codes: p.codes.map((x) => x.code) } };
}

export function buildBatchReport(
  command: Command,
  inputs: InputsResult,
  wanted: Wanted[],
  reports: Report[],
  now = new Date(),
  secrets?: SecretPlan,
): BatchReport {
  const hp = hostPlatform();
  const failed = reports.filter((r) => !r.verdict.ok).length;
  const inputErrors = inputs.findings.some((f) => f.severity === "error");
  const batch: BatchReport = {
    schemaVersion: 1,
    kind: "batch",
    tool: { name: "pulldoctor", version: VERSION },
    createdAt: now.toISOString(),
    host: { os: hp.os, arch: hp.architecture, hostname: os.hostname() },
    command,
    inputs: inputs.files.map((f) => ({ ...f, findings: inputs.findings.filter((x) => x.evidence.file === f.file) })),
    images: wanted.map((w, i) => ({
      image: w.image,
      platform: w.platform,
      sources: w.sources,
      sourceCount: w.sourceCount,
      pullSecrets: w.pullSecrets,
      ...(secrets?.given ? { pullSecretFiles: secrets.perImage[i]!.files, missingPullSecrets: secrets.perImage[i]!.missing } : {}),
      waiting: w.waitingMessage !== null ? decodeWaiting(w.waitingReason, w.waitingMessage) : null,
      report: reports[i]!,
    })),
    builtLocally: inputs.builtLocally,
    ...(secrets?.given ? { unusedPullSecrets: secrets.unused } : {}),
    verdict: { ok: failed === 0 && !inputErrors, total: wanted.length, failed },
    egress: unionEgress(reports.map((r) => r.egress)),
  };
  // Each report is already scrubbed; the waiting messages and input text are not.
  return scrubDeep(batch);
}

function where(w: Wanted): string {
  const s = w.sources[0];
  if (!s) return "(command line)";
  const more = w.sourceCount > 1 ? ` +${w.sourceCount - 1} more` : "";
  // -f - is standard input: "-:3" reads as a typo, "stdin:3" does not.
  return `${s.file === "-" ? "stdin" : s.file}:${s.line} ${s.object} (${s.container})${more}`;
}

/** The human output: one line per image, then the details of each failure. */
export function renderBatch(b: BatchReport, wanted: Wanted[], options?: Options): string {
  const rows = b.images.map((img, i) => [
    img.report.verdict.ok ? "ok" : "FAIL",
    img.report.verdict.code ?? (img.report.verdict.ok ? "-" : "error"),
    img.image + (img.platform ? ` [${img.platform}]` : ""),
    where(wanted[i]!),
  ]);
  const head = ["VERDICT", "CODE", "IMAGE", "FROM"];
  const widths = head.map((h, c) => Math.max(h.length, ...rows.map((r) => r[c]!.length)));
  const line = (r: string[]) => `${r.map((x, c) => (c === r.length - 1 ? x : x.padEnd(widths[c]!))).join("  ")}\n`;
  // No image at all (every input unreadable or empty): no empty table, and the last line says so.
  let out = rows.length ? line(head) + rows.map(line).join("") : "";
  for (const f of b.builtLocally) out += `built locally, not pulled: ${f.image} (${f.source.file}:${f.source.line} ${f.source.object})\n`;
  for (const input of b.inputs) for (const f of input.findings) out += `\n✖ ${f.code}: ${f.title}\n  ${f.detail}\n`;
  out += secretNotes(b, wanted);
  for (const img of b.images) {
    if (img.report.verdict.ok) continue;
    out += `\n✖ ${img.image}: ${img.report.verdict.summary}\n`;
    if (img.waiting) out += waitingLines(img.waiting, img.report.verdict.code);
    if (img.missingPullSecrets?.length) out += `  ${missingNote(img.missingPullSecrets)}\n`;
    // The Secrets themselves are not in the manifests: without --pull-secret the diagnosis used this host's credentials.
    if (img.pullSecrets.length && !img.pullSecretFiles)
      out += `  the pod spec names imagePullSecrets ${img.pullSecrets.join(", ")}; this check used this host's credentials\n`;
    const first = img.report.findings.find((f) => f.code === img.report.verdict.code);
    for (const fix of first?.fixes.slice(0, 3) ?? []) out += `  → ${fix}\n`;
    // The single check with this image's own pull secrets: the others would not be its pod's.
    const own = options && img.pullSecretFiles ? { ...options, pullSecrets: img.pullSecretFiles } : options;
    out += `  ${checkOne(img.image, img.platform, own)} shows every stage\n`;
  }
  out +=
    b.verdict.total === 0
      ? "\nNo image to pull was found in the inputs.\n"
      : `\n${b.verdict.total - b.verdict.failed} of ${b.verdict.total} images should pull${b.verdict.failed ? `; ${b.verdict.failed} will not` : ""}.\n`;
  return escapeControls(rows.length ? out : out.replace(/^\n/, ""));
}

function missingNote(names: string[]): string {
  return names.map((n) => `imagePullSecrets names ${n}, but no --pull-secret file holds a Secret named ${n}`).join("\n  ");
}

/** What an image that pulls still should know about its secrets, and the Secrets no pod names (said once). */
function secretNotes(b: BatchReport, wanted: Wanted[]): string {
  let out = "";
  b.images.forEach((img, i) => {
    if (img.report.verdict.ok && img.missingPullSecrets?.length)
      out += `\n! ${img.image} (${where(wanted[i]!)}):\n  ${missingNote(img.missingPullSecrets)}\n`;
  });
  for (const u of b.unusedPullSecrets ?? [])
    out += `\n! --pull-secret ${u.file}: no image's imagePullSecrets names the Secret ${u.name}; kubelet would read it for none of them\n`;
  return out;
}

/** The single-image check with this run's flags (an image's own platform first), so it sees the same path. */
function checkOne(image: string, platform: string | null, options?: Options): string {
  const flags = options ? rerunFlags({ ...options, platform: platform ?? options.platform }) : platform ? [`--platform ${platform}`] : [];
  return ["pulldoctor check", shellWord(image), ...flags].join(" ");
}

/** kubelet's message, what it reads as, and whether the diagnosis from here agrees with it. */
function waitingLines(w: Waiting, code: FindingCode | null): string {
  let out = `  kubelet said (${w.reason ?? "waiting"}): ${w.message}\n`;
  if (!w.reads) return `${out}  (no known client error in it)\n`;
  const by = `${w.reads.client ?? "a client"}${w.reads.runtime ? ` on ${w.reads.runtime}` : ""}`;
  out += `  read as ${by}'s error: ${w.reads.codes.join(", ") || "no code"}`;
  if (code && w.reads.codes.length > 0)
    out += w.reads.codes.includes(code) ? ` (the diagnosis agrees: ${code})` : ` (the diagnosis from here found ${code})`;
  return `${out}\n`;
}

/** `check -f FILE` (and several images): each distinct image diagnosed once, a bounded number at a time. */
export async function batchCommand(options: Options, io: Io, deps: Deps = realDeps()): Promise<number> {
  normalJit();
  if (options.reportFile) {
    const problem = reportFileProblem(options.reportFile);
    if (problem) {
      io.stderr(`pulldoctor: --report ${options.reportFile}: ${problem}\n`);
      return 2;
    }
  }
  const { inputs, wanted } = await collectImages(options, deps);
  const secrets = planSecrets(options, wanted);
  let done = 0;
  const progress = (image: string) => {
    if (io.isTTY && !options.json) io.stdout(`\r\x1b[2K checking ${done + 1}/${wanted.length}: ${escapeControls(image)}`);
  };
  let reports: Report[];
  try {
    // One registry's DNS, proxy, connect and /v2/ probes serve all its images.
    const stages = shareEndpointProbes(STAGES);
    reports = await bounded(wanted, CONCURRENCY, async (w, i) => {
      progress(w.image);
      const r = await diagnoseImage(withSecrets(options, secrets.perImage[i]), w.image, w.platform, deps, stages);
      done++;
      return r;
    });
  } catch (e) {
    io.stderr(`pulldoctor hit an internal error (a bug): ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_INTERNAL;
  }
  if (io.isTTY && !options.json) io.stdout("\r\x1b[2K");
  const batch = buildBatchReport(options.command, inputs, wanted, reports, new Date(), secrets);
  if (options.reportFile && !writeReportOrSay(io, options.reportFile, batch)) return 1;
  // Fleet pods set PULLDOCTOR_JSON_LINES=1 (as check.ts): a batch is one line too, for `kubectl logs --prefix`.
  const json = () => (deps.env.PULLDOCTOR_JSON_LINES === "1" ? JSON.stringify(batch) : JSON.stringify(batch, null, 2));
  io.stdout(options.json ? `${json()}\n` : renderBatch(batch, wanted, options));
  return batch.verdict.ok ? 0 : 1;
}
