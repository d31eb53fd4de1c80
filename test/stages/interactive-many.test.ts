import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { interactiveManyCommand } from "../../src/cli/commands/interactive-many";
import { buildImage } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { memoryIo } from "../../src/ui/io";
import { tempDir, testDeps, testOptions } from "../helpers/context";
import { promptStreams, waitForScreen } from "../helpers/prompt-streams";

/**
 * `pulldoctor -f FILE` on a terminal, in-process against the lab registry with its prompts
 * driven through injected streams: the batch table, then "Pull these N images now?" and where.
 */
let lab: LabRegistry;
const tmp = tempDir("pd-interactive-many-");
beforeAll(async () => {
  lab = await startLabRegistry();
  lab.addImage("team/a", "1.0", buildImage({ label: "ia" }));
  lab.addImage("team/b", "2.0", buildImage({ label: "ib" }));
});
afterAll(async () => {
  await lab?.stop();
  tmp.cleanup();
});

function doctor(images: string[], output: string | null) {
  const file = path.join(tmp.dir, `compose-${images.length}-${output ? "o" : "n"}.yaml`);
  writeFileSync(file, `services:\n${images.map((img, i) => `  s${i}:\n    image: ${img}\n`).join("")}`);
  const s = promptStreams();
  const io = memoryIo({ stdout: (text) => void s.output.write(text), isTTY: true });
  const options = testOptions({ command: "interactive", image: null, files: [file], output, insecureRegistries: [lab.host] });
  const deps = testDeps({ dir: tmp.dir });
  deps.env = { PULLDOCTOR_STORE: path.join(tmp.dir, "store") };
  const exit = interactiveManyCommand(options, io, deps, { input: s.input, output: s.output });
  return { ...s, exit };
}

test("the table, then the offer to pull them all: into one OCI layout with an entry per image", async () => {
  const out = path.join(tmp.dir, "layout");
  const images = [`${lab.host}/team/a:1.0`, `${lab.host}/team/b:2.0`];
  const d = doctor(images, `oci:${out}`);
  await waitForScreen(d.screen, "Pull these 2 images now?", 30_000);
  expect(d.screen()).toMatch(/ok\s+-\s+\S+team\/a:1\.0/);
  expect(d.screen()).toContain("2 of 2 images should pull.");
  d.enter(); // yes
  await waitForScreen(d.screen, "Where to?");
  d.enter(); // --output is the first choice
  expect(await d.exit).toBe(0);
  expect(d.screen()).toContain(`✔ 2 images written to oci:${out}`);
  const index = JSON.parse(readFileSync(path.join(out, "index.json"), "utf8"));
  expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"])).toEqual(
    images,
  );
}, 60_000);

test("an image that cannot be pulled: the table and its failure, no offer, exit 1", async () => {
  const d = doctor([`${lab.host}/team/a:1.0`, `${lab.host}/team/a:9.9`], null);
  expect(await d.exit).toBe(1);
  expect(d.screen()).toMatch(/FAIL\s+MANIFEST_UNKNOWN/);
  expect(d.screen()).toContain("Nothing to pull: every image must be pullable");
  expect(d.screen()).not.toContain("Pull these");
  expect(existsSync(path.join(tmp.dir, "images"))).toBe(false);
}, 60_000);
