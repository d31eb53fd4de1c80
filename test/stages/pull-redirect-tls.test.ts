import { afterAll, beforeAll, expect, test } from "bun:test";
import path from "node:path";
import { type BlobHost, startBlobHost } from "../../src/lab/blob-host";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { tempDir } from "../helpers/context";
import { factsFor, pull } from "./pull-fixture";

// An in-house registry whose CA is in certs.d redirects blobs to an in-house object store
// signed by the same CA. Docker's one Transport trusts that CA for the redirect target too
// (the doctor's blob stage does the same); the pull must not fail where docker pull works.
let lab: LabRegistry;
let cdn: BlobHost;
let work: { dir: string; cleanup: () => void };
const img = buildImage({ label: "tls-cdn", layers: [[{ name: "a.bin", content: noise(200_000, 3) }]] });

beforeAll(async () => {
  work = tempDir("pd-pull-tls-cdn-");
  lab = await startLabRegistry({ tls: true });
  cdn = await startBlobHost([img.config, ...img.layers], { tls: true });
  lab.addImage("team/app", "1.0", img, [{ kind: "blob-redirect", to: cdn.url }]);
});
afterAll(async () => {
  await lab?.stop();
  await cdn?.stop();
  work?.cleanup();
});

function tlsFacts(verify: boolean, ca: string[]) {
  const src = factsFor(lab.url, "team/app", "1.0", img);
  src.facts.link = { scheme: "https", baseUrl: lab.url, tls: { ca, verify }, insecure: false };
  return src;
}

test("blobs redirected to another https host signed by the registry's certs.d CA: trusted, as Docker's transport does", async () => {
  const r = await pull(tlsFacts(true, [lab.caPem!]), `oci:${path.join(work.dir, "ok")}`, { storeDir: path.join(work.dir, "s1") });
  expect(r.findings).toEqual([]);
  expect(r.result.status).toBe("pass");
  expect(cdn.requests.length).toBeGreaterThan(0);
});

test("without that CA verification is still on: nothing is fetched from an untrusted host, every blob ends in a finding", async () => {
  const before = cdn.requests.length;
  const r = await pull(tlsFacts(true, []), `oci:${path.join(work.dir, "no-ca")}`, {
    storeDir: path.join(work.dir, "s2"),
    tuning: { retry: { attempts: 1, backoffMs: 1, maxBackoffMs: 1 } },
  });
  expect(r.result.status).toBe("fail");
  expect(new Set(r.findings.map((f) => f.code))).toEqual(new Set(["PULL_INTERRUPTED"]));
  expect(cdn.requests.length).toBe(before);
});
