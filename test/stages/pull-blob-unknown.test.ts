import { afterAll, beforeAll, expect, test } from "bun:test";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { factsFor, pull } from "./pull-fixture";

/**
 * Issue 12 item 5 against a real distribution registry: a layer deleted while the manifest
 * still lists it (what garbage collection does to a blob still referenced) answers 404
 * BLOB_UNKNOWN. That is a missing blob, not a transfer that kept failing.
 */
let reg: RegistryPeer;
const work = tempDir("pd-blob-unknown-");
const img = buildImage({
  label: "gc",
  layers: [[{ name: "a.txt", content: "first layer\n" }], [{ name: "b.txt", content: "second layer, garbage-collected\n" }]],
});
const gone = img.layers[1]!;

beforeAll(async () => {
  reg = await startRegistry();
  await pushImage(reg.url, "gc/app", "1.0", img);
  const del = await fetch(`${reg.url}/v2/gc/app/blobs/${gone.digest}`, { method: "DELETE" });
  expect(del.status).toBe(202);
  const head = await fetch(`${reg.url}/v2/gc/app/blobs/${gone.digest}`);
  expect(head.status).toBe(404);
  expect(await head.text()).toContain("BLOB_UNKNOWN");
});
afterAll(async () => {
  await reg?.stop();
  work.cleanup();
});

test("a layer answering 404 BLOB_UNKNOWN during the pull ⇒ BLOB_UNKNOWN (Docker: unknown blob), no retry or proxy fixes", async () => {
  const r = await pull(factsFor(reg.url, "gc/app", "1.0", img), `oci:${path.join(work.dir, "out")}`, {
    storeDir: path.join(work.dir, "store"),
  });
  expect(r.result.status).toBe("fail");
  expect(r.findings.map((f) => f.code)).toEqual(["BLOB_UNKNOWN"]);
  const f = r.findings[0]!;
  expect(f.severity).toBe("error");
  expect(f.detail).toBe(`${reg.host}/gc/app: the layer blob ${gone.digest} is missing`);
  const fixes = f.fixes.join("\n");
  expect(fixes).toContain("Push the image again");
  expect(fixes).not.toMatch(/again: it resumes|run the (same )?pull again|proxy/i);
  expect(f.evidence).toMatchObject({ digest: gone.digest, status: 404 });
  // Not retried: a missing blob does not come back (one attempt per source).
  expect((f.evidence as { attempts: number }).attempts).toBe(1);
});
