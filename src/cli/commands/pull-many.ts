import path from "node:path";
import { finalReport } from "../../doctor/final-report";
import { pullAfterDiagnosis } from "../../doctor/flow";
import { shareEndpointProbes } from "../../doctor/shared-probes";
import type { InputsResult } from "../../inputs/types";
import { type Deps, realDeps } from "../../model/deps";
import type { Options } from "../../model/options";
import type { Report } from "../../model/report";
import { repoTagOf } from "../../pull/engine";
import { parseOutput, placeProblem } from "../../pull/outputs/destination";
import { engineAddress, pingEngine } from "../../pull/outputs/docker-engine";
import { type ManyEntry, writeMany } from "../../pull/outputs/many";
import type { WriteContext, Written } from "../../pull/outputs/write";
import { escapeControls } from "../../registry/http-util";
import { STAGES } from "../../stages/index";
import { formatBytes } from "../../ui/format";
import { EXIT_INTERNAL, type Io } from "../../ui/io";
import { reportFileProblem, writeReportOrSay } from "../../ui/report-file";
import { allTagsWanted } from "./all-tags";
import { type BatchReport, buildBatchReport, renderBatch } from "./batch";
import { bounded, CONCURRENCY, collectImages, diagnoseRun, planSecrets, type SecretPlan, type Wanted, withSecrets } from "./many";

export type Diagnosed = Awaited<ReturnType<typeof diagnoseRun>>;
const NO_INPUTS: InputsResult = { images: [], builtLocally: [], findings: [], files: [] };

/**
 * `pull -f FILE [IMAGE...]` and `pull --all-tags IMAGE`: every image diagnosed (a bounded number
 * at a time, what a registry's images share probed once), then, only when all of them can be
 * pulled, each pulled into the store, and all written as one output: `docker`, one oci:DIR with
 * an entry per image, or one docker-archive:FILE. Atomic as one pull: an image that fails
 * leaves no output (its verified blobs stay in the store for the next run).
 */
export async function pullManyCommand(options: Options, io: Io, deps: Deps = realDeps()): Promise<number> {
  const misuse = (m: string) => {
    io.stderr(`pulldoctor: ${escapeControls(m)}\n`);
    return 2;
  };
  if (options.reportFile) {
    const problem = reportFileProblem(options.reportFile);
    if (problem) return misuse(`--report ${options.reportFile}: ${problem}`);
  }
  if (options.output) {
    const spec = parseOutput(options.output);
    if ("error" in spec) return misuse(`--output ${options.output}: ${spec.error}`);
    if (spec.kind === "oci" && spec.tag)
      return misuse(`--output ${options.output}: several images go into one layout, each under its own name: give oci:DIR without a tag`);
    const place = placeProblem(spec);
    if (place) return misuse(`--output ${options.output}: ${place}`);
  }
  const say = (s: string) => {
    if (!options.json && !options.quiet) io.stdout(s);
  };
  let inputs = NO_INPUTS;
  let wanted: Wanted[];
  let diagnosed: Diagnosed[];
  let secrets: SecretPlan | undefined;
  const stages = shareEndpointProbes(STAGES);
  try {
    if (options.allTags) {
      const r = await allTagsWanted(options, deps, stages);
      if ("misuse" in r) return misuse(r.misuse);
      if ("error" in r) {
        io.stderr(`pulldoctor: ${escapeControls(r.error)}\n`);
        return 1;
      }
      if ("failed" in r) return finish(options, io, NO_INPUTS, [r.failed.wanted], [r.failed.diagnosed.report], null);
      wanted = r.wanted;
      say(`${r.summary}\n`);
    } else ({ inputs, wanted } = await collectImages(options, deps));
    // As `check -f`: each image pulls with only the Secrets its pod names (kubelet's keyring per pod).
    const plan = planSecrets(options, wanted);
    secrets = plan;
    diagnosed = await bounded(wanted, CONCURRENCY, (w, i) =>
      diagnoseRun(withSecrets(options, plan.perImage[i]), w.image, w.platform, deps, stages),
    );
  } catch (e) {
    io.stderr(`pulldoctor hit an internal error (a bug): ${e instanceof Error ? e.message : String(e)}\n`);
    return EXIT_INTERNAL;
  }
  if (!allPullable(inputs, diagnosed)) {
    say("Not pulling: every image must be pullable for the output to be written.\n");
    return finish(
      options,
      io,
      inputs,
      wanted,
      diagnosed.map((d) => d.report),
      null,
      { secrets },
    );
  }
  const output =
    options.output ?? (await defaultManyOutput(deps, options.allTags ? diagnosed[0]!.run.localFacts.ref!.repository : "images"));
  return await pullDiagnosed({ ...options, output }, io, deps, inputs, wanted, diagnosed, { secrets });
}

/** Whether the output can be written: no input error, and a pullable manifest for every image. */
export function allPullable(inputs: InputsResult, diagnosed: Diagnosed[]): boolean {
  const inputErrors = inputs.findings.some((f) => f.severity === "error");
  return diagnosed.length > 0 && !inputErrors && diagnosed.every((d) => d.run.chosen?.facts.manifest);
}

/** How the batch report is finished: each image's pull secrets, and whether its table was already printed (the interactive `-f`). */
export interface FinishAs {
  secrets?: SecretPlan;
  tableShown?: boolean;
}

/** The second half, shared with the interactive doctor's `-f`: pull every diagnosed image into `options.output`, write it once, report. */
export async function pullDiagnosed(
  options: Options & { output: string },
  io: Io,
  deps: Deps,
  inputs: InputsResult,
  wanted: Wanted[],
  diagnosed: Diagnosed[],
  as: FinishAs = {},
): Promise<number> {
  const output = options.output;
  const say = (s: string) => {
    if (!options.json && !options.quiet) io.stdout(s);
  };
  say(`Pulling ${wanted.length} images into ${output}\n`);
  const gathered: { entry: ManyEntry; ctx: WriteContext }[] = [];
  const reports: Report[] = [];
  for (const [i, d] of diagnosed.entries()) {
    const ref = d.run.localFacts.ref!;
    const write = async (_spec: unknown, img: ManyEntry["img"], ctx: WriteContext): Promise<Written> => {
      const repoTag = repoTagOf(ref);
      const refName = options.allTags ? ref.tag! : (repoTag ?? `${ref.familiar.replace(/@.*$/, "")}@${img.manifest.digest}`);
      gathered.push({ entry: { repoTag, refName, img }, ctx });
      return { output, evidence: { kind: "gathered", name: refName, with: wanted.length } };
    };
    const pullOptions: Options = { ...d.options, command: "pull", output };
    const pulled = await pullAfterDiagnosis(d.run, pullOptions, deps, d.trace, output, () => {}, write);
    reports.push(finalReport(pullOptions, d.run, [pulled.result], pulled.findings, pulled.summary, d.trace.events));
    const s = pulled.summary;
    say(
      s
        ? `  pulled ${escapeControls(wanted[i]!.image)}  ${s.layers} layers, ${formatBytes(s.bytes)} (${formatBytes(s.downloadedBytes)} downloaded)\n`
        : `  ✖ ${escapeControls(wanted[i]!.image)}: ${escapeControls(pulled.result.summary)}\n`,
    );
  }
  if (gathered.length < diagnosed.length) return finish(options, io, inputs, wanted, reports, null, as);
  const first = gathered[0]!.ctx;
  const written = await writeMany(
    parseOutput(output) as Exclude<ReturnType<typeof parseOutput>, { error: string }>,
    gathered.map((g) => g.entry),
    { ...first, image: `${gathered.length} images`, archiveFile: "./images.tar" },
  );
  for (const r of reports) if (r.pull) r.pull.output = written.output;
  return finish(options, io, inputs, wanted, reports, { written, gathered: gathered.map((g) => g.entry), reports }, as);
}

/** The batch report (with the one output), printed as JSON, as the table, or with -q as one line per pulled reference. */
function finish(
  options: Options,
  io: Io,
  inputs: InputsResult,
  wanted: Wanted[],
  reports: Report[],
  pulled: { written: Written; gathered: ManyEntry[]; reports: Report[] } | null,
  as: FinishAs = {},
): number {
  const batch: BatchReport = buildBatchReport("pull", inputs, wanted, reports, new Date(), as.secrets);
  const w = pulled?.written;
  const ok = Boolean(w && !w.finding && !w.error);
  batch.pull = pulled
    ? {
        output: w!.output,
        written: ok,
        images: pulled.gathered.map((g, i) => ({
          name: g.refName,
          reference: pulled.reports[i]!.image?.canonical ?? g.refName,
          digest: pulled.reports[i]!.pull?.index?.digest ?? g.img.manifest.digest,
        })),
        summary: ok ? `${pulled.gathered.length} images written to ${w!.output}` : (w!.error ?? w!.finding?.detail ?? "not written"),
        findings: w!.finding ? [w!.finding] : [],
        evidence: w!.evidence,
      }
    : null;
  if (!ok) batch.verdict.ok = false;
  if (options.reportFile && !writeReportOrSay(io, options.reportFile, batch)) return 1;
  if (options.json) io.stdout(`${JSON.stringify(batch, null, 2)}\n`);
  else if (options.quiet) {
    // As `docker pull -q`: the references only, here pinned to the digest that was pulled.
    if (ok) for (const i of batch.pull!.images) io.stdout(`${i.reference.includes("@") ? i.reference : `${i.reference}@${i.digest}`}\n`);
    else io.stderr(escapeControls(renderBatch(batch, wanted, options) + (batch.pull ? `✖ ${batch.pull.summary}\n` : "")));
  } else {
    // The interactive `-f` printed the table before asking: once is enough.
    if (!as.tableShown) io.stdout(renderBatch(batch, wanted, options));
    if (batch.pull) io.stdout(escapeControls(`${ok ? "✔" : "✖"} ${batch.pull.summary}\n`));
  }
  return ok ? 0 : 1;
}

/** No --output: the Engine when it answers (what `docker pull` fills), else one OCI layout under the working directory. */
export async function defaultManyOutput(deps: Deps, name: string): Promise<string> {
  const addr = engineAddress(deps);
  if (!("error" in addr) && (await pingEngine(addr, 1500, deps.signal)).ok) return "docker";
  return `oci:${path.join(process.cwd(), path.basename(name))}`;
}
