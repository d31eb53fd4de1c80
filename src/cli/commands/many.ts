import { readFile } from "node:fs/promises";
import { givenSecrets, type PodSecrets, secretsForImage, unusedSecrets } from "../../clients/pod-secrets";
import { finalReport } from "../../doctor/final-report";
import { type RunResult, runDoctor } from "../../doctor/run";
import { readInputs } from "../../inputs/read";
import type { ImageSource, InputsResult } from "../../inputs/types";
import type { Deps } from "../../model/deps";
import type { Options } from "../../model/options";
import type { Report } from "../../model/report";
import type { Stage } from "../../model/stage";
import { MemoryTrace } from "../../model/trace";
import { STAGES } from "../../stages/index";

/** Images diagnosed at once: each waits mostly on the network, and the machine may be small. */
export const CONCURRENCY = 4;

/** One distinct image to diagnose, with where it came from (none for an image typed on the command line). */
export interface Wanted {
  image: string;
  platform: string | null;
  sources: ImageSource[];
  sourceCount: number;
  pullSecrets: string[];
  waitingMessage: string | null;
  waitingReason: string | null;
}

/** The one call into the diagnosis: the report, and the run and trace a pull after it continues from. */
export async function diagnoseRun(
  options: Options,
  image: string,
  platform: string | null,
  deps: Deps,
  stages: readonly Stage[] = STAGES,
): Promise<{ report: Report; run: RunResult; trace: MemoryTrace; options: Options }> {
  const opts: Options = { ...options, command: "check", image, platform: platform ?? options.platform, json: true, yes: true };
  const trace = new MemoryTrace();
  const run = await runDoctor({ stages, options: opts, deps, trace });
  const report = finalReport(opts, run, [], [], null, trace.events);
  if (run.crashed) throw new Error(`the diagnosis of ${image} crashed: ${report.verdict.summary}`);
  return { report, run, trace, options: opts };
}

export async function diagnoseImage(
  options: Options,
  image: string,
  platform: string | null,
  deps: Deps,
  stages: readonly Stage[] = STAGES,
): Promise<Report> {
  return (await diagnoseRun(options, image, platform, deps, stages)).report;
}

/** Each image's own pull secrets (kubelet's, from its pod spec's names), and the given Secrets no image names. */
export interface SecretPlan {
  perImage: PodSecrets[];
  unused: { file: string; name: string }[];
  /** Whether any --pull-secret was given: without one, the names are only shown. */
  given: boolean;
}

export function planSecrets(options: Options, wanted: readonly Wanted[]): SecretPlan {
  const given = givenSecrets(options.pullSecrets);
  // An image typed on the command line has no pod spec: it gets every file, as a single check does.
  const names = wanted.map((w) => (w.sources.length === 0 ? null : w.pullSecrets));
  return {
    perImage: names.map((n) => secretsForImage(given, n)),
    unused: unusedSecrets(given, names).map((g) => ({ file: g.file, name: g.name ?? "" })),
    given: given.length > 0,
  };
}

/** The options of one image's diagnosis: its own pull secrets in place of every --pull-secret. */
export function withSecrets(options: Options, secrets: PodSecrets | undefined): Options {
  return secrets ? { ...options, pullSecrets: secrets.files } : options;
}

/** Run `fn` over `items` with at most `limit` at a time, keeping their order. */
export async function bounded<T, R>(items: readonly T[], limit: number, fn: (t: T, i: number) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!, i);
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

/** The images of the command line and of every -f input, each distinct (image, platform) once. */
export async function collectImages(options: Options, deps: Deps): Promise<{ inputs: InputsResult; wanted: Wanted[] }> {
  const inputs = await readInputs(options.files ?? [], {
    all: options.all === true,
    env: deps.env,
    cwd: process.cwd(),
    readFile: (p) => readFile(p, "utf8"),
    readStdin,
  });
  const typed = options.images ?? (options.image ? [options.image] : []);
  const wanted: Wanted[] = [];
  for (const w of [
    ...typed.map((image) => ({
      image,
      platform: null,
      sources: [],
      sourceCount: 0,
      pullSecrets: [],
      waitingMessage: null,
      waitingReason: null,
    })),
    ...inputs.images,
  ]) {
    const same = (y: Wanted) =>
      y.image === w.image && y.platform === w.platform && y.pullSecrets.join("\u0000") === w.pullSecrets.join("\u0000");
    if (!wanted.some(same)) wanted.push(w);
  }
  return { inputs, wanted };
}
