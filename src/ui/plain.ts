import type { FlowEvent } from "../doctor/flow";
import { stageTiming } from "../doctor/timing";
import { escapeControls } from "../model/escape";
import type { Finding } from "../model/finding";
import type { Report } from "../model/report";
import type { Endpoint, StageResult, StageStatus } from "../model/stage";
import type { TraceEvent } from "../model/trace";
import { plural } from "../model/units";
import { endpointLabel, evidenceLines, formatBytes, formatDuration } from "./format";
import { type Glyphs, glyphs as glyphSet, unicodeSupported } from "./glyphs";
import { makeStyle, type Style } from "./style";

export interface PlainOptions {
  write(s: string): void;
  color: boolean;
  verbose: boolean;
  /** Default: detected from the environment (ASCII on the Linux console, C locale, old Windows). */
  unicode?: boolean;
}

export interface Renderer {
  onEvent(e: FlowEvent): void;
  onTrace?(e: TraceEvent): void;
  finish(report: Report): void;
}

const NAME_WIDTH = 9;

/**
 * Line-oriented output for pipes, CI logs and `--yes`: one line per stage result, each
 * finding with its evidence and fixes right under it, then a summary and the verdict.
 * Prints nothing on "start" events, so the log reads the same with or without a TTY.
 */
export function plainRenderer(opts: PlainOptions): Renderer {
  const st = makeStyle(opts.color);
  const g = glyphSet(opts.unicode ?? unicodeSupported(process.env));
  const w = opts.write;
  let several = false;
  return {
    onEvent(e) {
      if (e.type === "plan") {
        several = e.endpoints.length > 1;
        if (several) {
          const order = e.endpoints.map((x: Endpoint) => `${x.url} (${x.role})`).join(", ");
          w(`${st.dim(`Endpoints, in the order ${e.client ?? "Docker"} tries them: ${order}`)}\n`);
        }
        return;
      }
      if (e.type !== "result") return;
      w(`${stageLine(e.result, several, st, g)}\n`);
      // --verbose: where the stage's time went, one line per request (the report keeps the same in evidence.timing).
      if (opts.verbose)
        for (const t of stageTiming(e.result.evidence))
          w(`      ${st.dim(`${formatDuration(t.ms).padStart(7)}  ${t.request} ${g.arrow} ${t.result}`)}\n`);
      // Info findings (anonymous pull, implied :latest, proxy in use) are context, not the
      // problem: title and detail only, unless --verbose; the JSON report has them whole.
      for (const f of e.findings) w(findingBlock(f, opts.verbose, st, g, true));
    },
    onTrace(e) {
      if (!opts.verbose) return;
      w(
        traceLines(e, st, g)
          .map((l) => `      ${st.dim(l)}\n`)
          .join(""),
      );
    },
    finish(report) {
      w(`\n${summaryBlock(report, st, g)}`);
    },
  };
}

export function stageLine(r: StageResult, showEndpoint: boolean, st: Style, g: Glyphs): string {
  const glyph = st.status(r.status, g.status[r.status]);
  const name = st.bold(r.id.padEnd(NAME_WIDTH));
  const where = showEndpoint && r.endpoint ? st.dim(`@${endpointLabel(r.endpoint)} `) : "";
  const took = r.status === "skip" ? "" : ` ${st.dim(`(${formatDuration(r.durationMs)})`)}`;
  return `${glyph} ${name} ${where}${r.summary}${took}`;
}

/** `brief`: an info finding as its title and detail only (the interactive doctor's choice). */
export function findingBlock(f: Finding, verbose: boolean, st: Style, g: Glyphs, brief = false): string {
  const lines: string[] = [];
  lines.push(`    ${st.severity(f.severity, `${g.severity[f.severity]} ${f.code}`)}  ${st.bold(f.title)}`);
  lines.push(`      ${f.detail}`);
  if (brief && f.severity === "info" && !verbose) return `${lines.map((l) => st.dim(l)).join("\n")}\n`;
  const ev = evidenceLines(f.evidence, verbose);
  if (ev.length > 0) {
    lines.push(`      ${st.dim("evidence:")}`);
    for (const l of ev) lines.push(`        ${st.dim(l)}`);
  }
  if (f.fixes.length > 0) {
    lines.push(`      ${st.dim("fix:")}`);
    for (const fix of f.fixes) {
      const [first, ...rest] = fix.split("\n");
      lines.push(`        ${g.bullet} ${st.cyan(first!)}`);
      for (const r of rest) lines.push(`          ${st.cyan(r)}`);
    }
  }
  return `${lines.join("\n")}\n`;
}

export function traceLines(e: TraceEvent, st: Style, g: Glyphs): string[] {
  if (e.kind === "note") return [e.text];
  if (e.kind === "dns") {
    // An empty answer printed "NOERROR  (4 ms)": say so instead.
    const got = e.answers.length ? ` ${e.answers.join(" ")}` : e.rcode === "NOERROR" ? " (no answer)" : "";
    const res = e.error ? `error ${e.error}` : `${e.rcode ?? "?"}${got}`;
    return [`dns ${e.type} ${e.name} @${e.server} ${g.arrow} ${res} (${formatDuration(e.durationMs)})`];
  }
  const out = [`${g.arrow} ${e.method} ${e.url}`];
  for (const [k, v] of Object.entries(e.requestHeaders)) out.push(`  ${k}: ${Array.isArray(v) ? v.join(", ") : v}`);
  out.push(`${e.error ? `error ${e.error}` : `${e.status}`} (${formatDuration(e.durationMs)})`);
  for (const [k, v] of Object.entries(e.responseHeaders)) out.push(`  ${k}: ${Array.isArray(v) ? v.join(", ") : v}`);
  if (e.bodyPreview) out.push(`  ${e.bodyPreview.replace(/\s+/g, " ").slice(0, 200)}`);
  void st;
  return out;
}

export function summaryBlock(report: Report, st: Style, g: Glyphs): string {
  const count = (s: StageStatus) => report.stages.filter((x) => x.status === s).length;
  const parts = [`${count("pass")} passed`, `${count("warn")} warned`, `${count("fail")} failed`, `${count("skip")} skipped`];
  const errors = report.findings.filter((f) => f.severity === "error").length;
  const warnings = report.findings.filter((f) => f.severity === "warning").length;
  const infos = report.findings.filter((f) => f.severity === "info").length;
  const lines: string[] = [];
  // The input is what the user typed, control characters included: never echo them raw.
  const image = escapeControls(report.image?.canonical ?? report.input.image ?? "(no image)");
  lines.push(`${st.bold("Summary")}  ${image} (${report.input.platform})`);
  lines.push(`  ${plural(report.stages.length, "stage")}: ${parts.join(", ")}`);
  lines.push(`  ${plural(errors, "error")}, ${plural(warnings, "warning")}${infos ? `, ${infos} info` : ""}`);
  if (report.pull) {
    const p = report.pull;
    lines.push(
      `  pulled ${p.digest} (${p.platform}, ${plural(p.layers, "layer")}, ${formatBytes(p.bytes)}) to ${p.output} in ${formatDuration(p.durationMs)}`,
    );
  }
  const v = report.verdict;
  if (v.ok) lines.push(`${st.green(g.status.pass)} ${st.bold(v.summary)}`);
  else lines.push(`${st.red(g.status.fail)} ${st.bold(v.code ? `${v.code}: ${v.summary}` : v.summary)}`);
  // --client all: one line per client, will its pull succeed and which code decides (SPEC "Clients");
  // the interactive doctor's result note is this block too.
  for (const c of report.clients ?? []) {
    const who = `${c.name}${c.store ? ` (${c.store} store)` : ""}`.padEnd(26);
    const mark = c.verdict.ok ? st.status("pass", g.status.pass) : st.status("fail", g.status.fail);
    lines.push(`  ${mark} ${who} ${c.verdict.ok ? "should succeed" : `fails: ${c.verdict.code ?? c.verdict.summary}`}`);
  }
  return `${lines.join("\n")}\n`;
}
