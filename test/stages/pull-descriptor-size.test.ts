import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { BlobStore } from "../../src/pull/store";
import { tempDir } from "../helpers/context";
import { factsFor, pull } from "./pull-fixture";

// A blob longer than its descriptor says (a manifest that lies about a size, or a server that
// appends bytes): the pull stops reading at the descriptor's size + 1, keeps nothing, and says so.
let lab: LabRegistry;
let work: { dir: string; cleanup: () => void };
const img = buildImage({ label: "size-lie", layers: [[{ name: "a.bin", content: noise(300_000, 5) }]] });
const layer = img.layers[0]!;

beforeAll(async () => {
  work = tempDir("pd-pull-size-");
  lab = await startLabRegistry();
  lab.addImage("team/app", "1.0", img);
});
afterAll(async () => {
  await lab?.stop();
  work?.cleanup();
});

for (const workers of [2, 0]) {
  test(`a blob longer than its descriptor's size ⇒ PULL_DIGEST_MISMATCH naming the size; nothing kept (${workers ? "Workers" : "main thread"})`, async () => {
    const src = factsFor(lab.url, "team/app", "1.0", img);
    src.facts.manifest!.image.layers = [{ ...src.facts.manifest!.image.layers[0]!, size: layer.bytes.length - 1000 }];
    const store = path.join(work.dir, `store-${workers}`);
    const dest = path.join(work.dir, `out-${workers}`);
    const r = await pull(src, `oci:${dest}`, { storeDir: store, tuning: { workers } });
    expect(r.result.status).toBe("fail");
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_DIGEST_MISMATCH"]);
    expect(JSON.stringify(r.findings[0]!.evidence)).toContain(`more than the ${layer.bytes.length - 1000} bytes the descriptor says`);
    expect(existsSync(dest)).toBe(false);
    const st = new BlobStore(store);
    expect(existsSync(st.blobPath(layer.digest))).toBe(false);
    expect(existsSync(st.partialPath(layer.digest))).toBe(false);
  });
}
