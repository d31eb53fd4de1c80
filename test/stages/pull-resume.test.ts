import { afterAll, beforeAll, expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import path from "node:path";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { tempDir } from "../helpers/context";
import { factsFor, pull } from "./pull-fixture";

// The resume target: a pull killed (SIGKILL) at ~50% re-downloads under 5% of what
// it already had. The killed pull is a real child process running the engine.
let lab: LabRegistry;
let work: { dir: string; cleanup: () => void };
const SIZE = 4_000_000;
const img = buildImage({
  label: "resume",
  layers: [[{ name: "a.bin", content: noise(SIZE, 11) }], [{ name: "b.bin", content: noise(SIZE, 12) }]],
});
const total = img.config.bytes.length + img.layers.reduce((n, l) => n + l.bytes.length, 0);

beforeAll(async () => {
  work = tempDir("pd-pull-resume-");
  lab = await startLabRegistry();
  // ~1 s per layer, so the child can be killed half-way.
  lab.addImage("slow/app", "1.0", img, [{ kind: "slow-blob", bytesPerSecond: 4_000_000 }]);
});
afterAll(async () => {
  await lab?.stop();
  work?.cleanup();
});

function keptBytes(store: string): number {
  const ingest = path.join(store, "ingest");
  let n = 0;
  try {
    for (const f of readdirSync(ingest)) if (f.endsWith(".partial")) n += statSync(path.join(ingest, f)).size;
  } catch {}
  try {
    for (const f of readdirSync(path.join(store, "sha256"))) n += statSync(path.join(store, "sha256", f)).size;
  } catch {}
  return n;
}

test("a pull killed at ~50% resumes: the re-run downloads only what is missing (< 5% of the kept bytes again)", async () => {
  const store = path.join(work.dir, "store");
  const dir = path.join(work.dir, "out");
  const entry = path.join(import.meta.dir, "../../scripts/bench-pull-entry.ts");
  const child = Bun.spawn([process.execPath, entry, lab.url, "slow/app", "1.0", `oci:${dir}:1.0`], {
    env: { ...process.env, PULLDOCTOR_STORE: store },
    stdout: "pipe",
    stderr: "pipe",
  });
  const deadline = Date.now() + 15_000;
  while (keptBytes(store) < total / 2 && Date.now() < deadline && child.exitCode === null) await Bun.sleep(20);
  child.kill("SIGKILL");
  await child.exited;
  expect(child.signalCode).toBe("SIGKILL");
  const kept = keptBytes(store);
  expect(kept).toBeGreaterThan(total * 0.4);
  expect(kept).toBeLessThan(total);
  expect(readdirSync(work.dir)).toEqual(["store"]);

  lab.setFaults("slow/app", []);
  const r = await pull(factsFor(lab.url, "slow/app", "1.0", img), `oci:${dir}:1.0`, { storeDir: store });
  expect(r.findings).toEqual([]);
  const s = r.summary!;
  const refetched = s.downloadedBytes - (total - kept);
  expect(refetched).toBeLessThan(0.05 * kept);
  expect(s.reusedBytes).toBe(kept);
  expect(s.downloadedBytes + s.reusedBytes).toBe(total);
  expect(r.events.filter((e) => e.type === "done" && e.resumedFrom > 0).length).toBeGreaterThan(0);
}, 30_000);
