import { readFile } from "node:fs/promises";
import { runDoctor } from "../../doctor/run";
import { formatCsv, formatPlain, hostPort, unionEgress, unreachableNeeded } from "../../egress/allow-list";
import { TABLE_CHECKED } from "../../egress/table";
import { readInputs } from "../../inputs/read";
import type { InputImage } from "../../inputs/types";
import { type Deps, realDeps } from "../../model/deps";
import type { Options } from "../../model/options";
import type { Report } from "../../model/report";
import { MemoryTrace } from "../../model/trace";
import { escapeControls } from "../../registry/http-util";
import { STAGES } from "../../stages/index";
import type { Io } from "../io";
import { EXIT_INTERNAL, finalReport } from "./check";

/** Images diagnosed at once: each waits mostly on the network, and the machine may be small. */
const CONCURRENCY = 4;

/**
 * The one call into the diagnosis, kept thin on purpose: `check`'s diagnose-then-report path
 * (moving to src/doctor/flow.ts) can replace its body without touching the rest.
 */
export async function diagnoseImage(options: Options, image: string, platform: string | null, deps: Deps): Promise<Report> {
  const opts: Options = { ...options, command: "check", image, platform: platform ?? options.platform, json: true, yes: true };
  const trace = new MemoryTrace();
  const run = await runDoctor({ stages: STAGES, options: opts, deps, trace });
  const report = finalReport(opts, run, [], [], null, trace.events);
  if (run.crashed) throw new Error(`the diagnosis of ${image} crashed: ${report.verdict.summary}`);
  return report;
}

/** Run `fn` over `items` with at most `limit` at a time, keeping their order. */
async function bounded<T, R>(items: readonly T[], limit: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return out;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
}

/**
 * `pulldoctor egress IMAGE... | -f FILE`: diagnose each distinct image once, then print the
 * union of the hosts their pulls touched (and, for public registries, are documented to need).
 * Exit 1 when a needed host did not answer from here (or an input could not be read).
 */
export async function egressCommand(options: Options, io: Io, deps: Deps = realDeps()): Promise<number> {
  const inputs = await readInputs(options.files ?? [], {
    all: options.all === true,
    env: deps.env,
    cwd: process.cwd(),
    readFile: (p) => readFile(p, "utf8"),
    readStdin,
  });
  const images: Pick<InputImage, "image" | "platform">[] = [
    ...(options.images ?? []).map((image) => ({ image, platform: null })),
    ...inputs.images,
  ].filter((x, i, all) => all.findIndex((y) => y.image === x.image && y.platform === x.platform) === i);
  for (const f of inputs.findings) io.stderr(`pulldoctor: ${escapeControls(f.title)}: ${escapeControls(f.detail)}\n`);
  for (const b of inputs.builtLocally)
    io.stderr(`pulldoctor: ${b.image} (${b.source.file}, ${b.source.object}) is built locally, not pulled\n`);

  let reports: Report[];
  try {
    reports = await bounded(images, CONCURRENCY, (i) => diagnoseImage(options, i.image, i.platform, deps));
  } catch (e) {
    io.stderr(`pulldoctor hit an internal error (a bug): ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_INTERNAL;
  }
  const egress = unionEgress(reports.map((r) => r.egress));
  const unreachable = unreachableNeeded(egress);
  const format = options.format ?? (options.json ? "json" : "plain");
  if (format === "json") {
    const out = {
      schemaVersion: 1,
      kind: "egress",
      table: { checked: TABLE_CHECKED },
      images: reports.map((r) => ({ image: r.input.image, platform: r.input.platform, verdict: r.verdict })),
      inputFindings: inputs.findings,
      builtLocally: inputs.builtLocally,
      egress,
      unreachable: unreachable.map(hostPort),
    };
    io.stdout(`${JSON.stringify(out, null, 2)}\n`);
  } else io.stdout(format === "csv" ? formatCsv(egress) : formatPlain(egress));

  if (format !== "json") {
    for (const r of reports) {
      const mark = r.verdict.ok ? "ok" : (r.verdict.code ?? "error");
      io.stderr(`${r.input.image}: ${mark}${r.verdict.ok ? "" : ` — ${escapeControls(r.verdict.summary)}`}\n`);
    }
    for (const e of unreachable) io.stderr(`pulldoctor: ${hostPort(e)} (${e.roles.join(", ")}) is needed and did not answer from here\n`);
    if (egress.some((e) => !e.observed))
      io.stderr(
        `Hosts marked "not observed" are documented by their registry (table checked ${TABLE_CHECKED}) but were not used by this run.\n`,
      );
  }
  return unreachable.length > 0 || inputs.findings.some((f) => f.severity === "error") ? 1 : 0;
}
