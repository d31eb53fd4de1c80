import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { EXIT_CANCELLED, runInteractive } from "../../src/ui/interactive";
import { memoryIo } from "../../src/ui/io";
import { tempDir, testDeps, testOptions } from "../helpers/context";
import { promptStreams, waitForScreen } from "../helpers/prompt-streams";

/**
 * The whole interactive doctor in-process against the lab registry, its prompts driven
 * through injected input and output streams (its output and the prompts share one screen).
 * test/tty drives the compiled binary in tmux for the same flows.
 */
let lab: LabRegistry;
const tmp = tempDir("pd-interactive-");
beforeAll(async () => {
  lab = await startLabRegistry({ scenarios: true });
});
afterAll(async () => {
  await lab?.stop();
  tmp.cleanup();
});

function doctor(image: string | null) {
  const s = promptStreams();
  const io = memoryIo({ stdout: (text) => void s.output.write(text), isTTY: true });
  const options = testOptions({ command: "interactive", image, insecureRegistries: [lab.host] });
  const exit = runInteractive(options, io, testDeps({ dir: tmp.dir }), { input: s.input, output: s.output });
  return { ...s, exit };
}
const image = (id: string) => lab.scenarios.find((s) => s.id === id)!.image;

test("a missing tag: the repository's tag is offered, the re-check passes, the image is pulled where typed", async () => {
  const d = doctor(image("tag"));
  await waitForScreen(d.screen, "No, leave it", 30_000);
  expect(d.screen()).toContain("MANIFEST_UNKNOWN");
  expect(d.screen()).toMatch(/it has \d+ tags?: /);
  d.enter(); // the closest tag is first
  await waitForScreen(d.screen, "Save the report", 30_000);
  expect(d.screen()).toContain(`Checking again ${lab.host}/demo/app:1.0`);
  expect(d.screen()).toContain("Result");
  d.enter(); // the diagnosis passed, so "No" is the default
  await waitForScreen(d.screen, "Pull the image now?");
  d.enter();
  await waitForScreen(d.screen, "Another destination");
  d.press("up"); // the last choice: another destination
  d.enter();
  await waitForScreen(d.screen, "Destination");
  const out = path.join(tmp.dir, "app-layout");
  d.enter(`oci:${out}:1.0`);
  expect(await d.exit).toBe(0);
  expect(d.screen()).toMatch(/pulled sha256:[0-9a-f]{64} to /);
  expect(d.screen()).toContain("Done.");
  expect(JSON.parse(readFileSync(path.join(out, "index.json"), "utf8")).manifests).toHaveLength(1);
}, 60_000);

test("no image given: it is asked for, normalised as typed; Escape at a prompt cancels with 130 and writes nothing", async () => {
  const d = doctor(null);
  await waitForScreen(d.screen, "Which image should be pulled?");
  d.type(image("healthy").replace(":latest", ""));
  await waitForScreen(d.screen, `→ ${image("healthy")}`);
  d.enter();
  await waitForScreen(d.screen, "Save the report", 30_000);
  d.press("escape");
  expect(await d.exit).toBe(EXIT_CANCELLED);
  expect(d.screen()).toContain("Cancelled: nothing half-written was left behind.");
  expect(existsSync(path.join(tmp.dir, "healthy"))).toBe(false);
}, 60_000);
