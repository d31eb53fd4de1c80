import { shareEndpointProbes } from "../../doctor/shared-probes";
import type { Deps } from "../../model/deps";
import type { Options } from "../../model/options";
import { escapeControls } from "../../registry/http-util";
import { STAGES } from "../../stages/index";
import { unicodeSupported } from "../../ui/glyphs";
import { EXIT_CANCELLED } from "../../ui/interactive";
import type { Io } from "../../ui/io";
import { confirmYes, type PromptLook, type PromptStreams, selectOne, typeText } from "../../ui/prompts";
import { makeStyle } from "../../ui/style";
import { buildBatchReport, renderBatch } from "./batch";
import { bounded, CONCURRENCY, collectImages, diagnoseRun, planSecrets, withSecrets } from "./many";
import { allPullable, defaultManyOutput, pullDiagnosed } from "./pull-many";

/**
 * `pulldoctor -f FILE` on a terminal: the batch table of `check -f` (with a progress line while
 * it runs), then, when every image can be pulled, an offer to pull them all into one output,
 * done by `pull -f`'s second half with the diagnoses already made. A prompt answers a symbol
 * when cancelled (clack's; only src/ui imports clack).
 */
export async function interactiveManyCommand(options: Options, io: Io, deps: Deps, streams?: PromptStreams): Promise<number> {
  const look: PromptLook = { st: makeStyle(io.color), unicode: unicodeSupported(deps.env), streams };
  const { inputs, wanted } = await collectImages(options, deps);
  const stages = shareEndpointProbes(STAGES);
  // As `check -f`: each image with only the Secrets its pod names.
  const secrets = planSecrets(options, wanted);
  let done = 0;
  const diagnosed = await bounded(wanted, CONCURRENCY, async (w, i) => {
    io.stdout(`\r\x1b[2K checking ${done + 1}/${wanted.length}: ${escapeControls(w.image)}`);
    const d = await diagnoseRun(withSecrets(options, secrets.perImage[i]), w.image, w.platform, deps, stages);
    done++;
    return d;
  });
  io.stdout("\r\x1b[2K");
  const batch = buildBatchReport(
    "check",
    inputs,
    wanted,
    diagnosed.map((d) => d.report),
    new Date(),
    secrets,
  );
  io.stdout(renderBatch(batch, wanted, options));
  if (!allPullable(inputs, diagnosed)) {
    io.stdout("Nothing to pull: every image must be pullable for one output to be written (fix the failures above first).\n");
    return 1;
  }
  const go = await confirmYes(look, `Pull these ${wanted.length} images now?`);
  if (typeof go === "symbol") return EXIT_CANCELLED;
  if (!go) return 0;
  const suggested = await defaultManyOutput(deps, "images");
  const choices = [
    ...(options.output ? [{ value: options.output, label: options.output, hint: "from --output" }] : []),
    ...(suggested === "docker" ? [{ value: "docker", label: "docker", hint: "load them into the local Docker Engine" }] : []),
    { value: "oci:./images", label: "one OCI image layout", hint: "./images, one entry per image" },
    { value: "docker-archive:./images.tar", label: "one docker-archive", hint: "./images.tar, for docker load" },
    { value: "\u0000other", label: "Another destination", hint: "oci:DIR, docker-archive:FILE or docker" },
  ];
  let output = await selectOne<string>(look, "Where to?", choices, choices[0]!.value);
  if (typeof output === "symbol") return EXIT_CANCELLED;
  if (output === "\u0000other") {
    const typed = await typeText(look, "Destination", {
      placeholder: "oci:/srv/images",
      validate: (v) => (/^(oci:[^:]+|docker-archive:.+|docker)$/.test(v.trim()) ? undefined : "oci:DIR, docker-archive:FILE or docker"),
    });
    if (typeof typed === "symbol") return EXIT_CANCELLED;
    output = typed.trim();
  }
  return await pullDiagnosed({ ...options, command: "pull", output }, io, deps, inputs, wanted, diagnosed, { secrets, tableShown: true });
}
