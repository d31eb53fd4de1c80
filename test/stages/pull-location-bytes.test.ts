import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { type BlobHost, startBlobHost } from "../../src/lab/blob-host";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { tempDir } from "../helpers/context";
import { factsFor, pull } from "./pull-fixture";

// A mangling proxy's Location: bytes that are not UTF-8 (and a C1 CSI) in the redirect path.
// The pull follows it as Go's client sends it (%XX), as the doctor's blob stage does — never
// the display escape "\xff" (which a URL parser reads as "/xff") — and ends in a finding.
let lab: LabRegistry;
let cdn: BlobHost;
let work: { dir: string; cleanup: () => void };
const img = buildImage({ label: "location-bytes", layers: [[{ name: "a.bin", content: noise(2000, 9) }]] });

beforeAll(async () => {
  work = tempDir("pd-pull-loc-");
  cdn = await startBlobHost([img.config, ...img.layers]);
  lab = await startLabRegistry();
  lab.addImage("team/app", "1.0", img, [{ kind: "blob-redirect", to: cdn.url, invalidBytes: true }]);
});
afterAll(async () => {
  await lab?.stop();
  await cdn?.stop();
  work?.cleanup();
});

test("a Location with invalid UTF-8 is followed percent-encoded (as Go sends it); the CDN's 404 ends in BLOB_UNKNOWN (Docker's 'unknown blob'), nothing written", async () => {
  const dest = path.join(work.dir, "out");
  const r = await pull(factsFor(lab.url, "team/app", "1.0", img), `oci:${dest}`, {
    storeDir: path.join(work.dir, "store"),
    tuning: { retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 } },
  });
  expect(r.result.status).toBe("fail");
  expect(new Set(r.findings.map((f) => f.code))).toEqual(new Set(["BLOB_UNKNOWN"]));
  const paths = cdn.requests.map((q) => q.path);
  expect(paths.length).toBeGreaterThan(0);
  for (const p of paths) {
    expect(p).toEndWith("%FF%FE%C3(%9B");
    expect(p).not.toContain("/xff");
  }
  expect(JSON.stringify(r.findings)).not.toMatch(/[\u0080-\u009f\u00ff]/);
  expect(existsSync(dest)).toBe(false);
});
