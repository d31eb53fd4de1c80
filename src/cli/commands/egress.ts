import { shareEndpointProbes } from "../../doctor/shared-probes";
import { formatCsv, formatPlain, hostPort, unionEgress, unreachableNeeded } from "../../egress/allow-list";
import { TABLE_CHECKED } from "../../egress/table";
import { type Deps, realDeps } from "../../model/deps";
import type { Options } from "../../model/options";
import type { Report } from "../../model/report";
import { escapeControls } from "../../registry/http-util";
import { STAGES } from "../../stages/index";
import type { Io } from "../../ui/io";
import { EXIT_INTERNAL } from "../../ui/io";
import { bounded, CONCURRENCY, collectImages, diagnoseImage, planSecrets, withSecrets } from "./many";

/**
 * `pulldoctor egress IMAGE... | -f FILE`: diagnose each distinct image once, then print the
 * union of the hosts their pulls touched (and, for public registries, are documented to need).
 * Exit 1 when a needed host did not answer from here (or an input could not be read).
 */
export async function egressCommand(options: Options, io: Io, deps: Deps = realDeps()): Promise<number> {
  const { inputs, wanted: images } = await collectImages(options, deps);
  for (const f of inputs.findings) io.stderr(`pulldoctor: ${escapeControls(f.title)}: ${escapeControls(f.detail)}\n`);
  for (const b of inputs.builtLocally)
    io.stderr(`pulldoctor: ${b.image} (${b.source.file}, ${b.source.object}) is built locally, not pulled\n`);

  let reports: Report[];
  try {
    const stages = shareEndpointProbes(STAGES);
    // As `check -f`: each image's pull uses only the Secrets its pod names, so its hosts are the ones it reaches.
    const secrets = planSecrets(options, images);
    reports = await bounded(images, CONCURRENCY, (w, i) =>
      diagnoseImage(withSecrets(options, secrets.perImage[i]), w.image, w.platform, deps, stages),
    );
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
