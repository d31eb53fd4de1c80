import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildImage } from "../../src/lab/image";
import { manifestStage } from "../../src/stages/manifest";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { loopbackRef, stageCtx } from "./manifest-facts";

/** MANIFEST_UNKNOWN names the repository's tags, as a real docker-registry lists them (issue 12 item 15). */
let reg: RegistryPeer;
const img = buildImage({ label: "tags" });
const MANY = [...Array.from({ length: 12 }, (_, i) => `1.${i}`), "edge"];

beforeAll(async () => {
  reg = await startRegistry();
  for (const tag of ["1.0", "1.1", "1.2"]) await pushImage(reg.url, "few/app", tag, img);
  for (const tag of MANY) await pushImage(reg.url, "many/app", tag, img);
});
afterAll(async () => {
  await reg?.stop();
});

const latest = (repo: string) => manifestStage.run(stageCtx(reg.url, loopbackRef(new URL(reg.url).host, repo, "latest"), {}));

test("latest missing while three versions exist: the detail names all three, newest first", async () => {
  const out = await latest("few/app");
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNKNOWN"]);
  const f = out.findings[0]!;
  expect(f.detail).toBe(
    `127.0.0.1:${reg.port}/few/app:latest: the registry has no manifest latest in few/app (it has 3 tags: 1.2, 1.1, 1.0)`,
  );
  expect(f.evidence.tags).toEqual(["1.2", "1.1", "1.0"]);
});

test("more than 10 tags: the newest 10 by version order (1.11 above 1.9, names after versions), with the count", async () => {
  const out = await latest("many/app");
  const f = out.findings[0]!;
  expect(f.code).toBe("MANIFEST_UNKNOWN");
  const newest = ["1.11", "1.10", "1.9", "1.8", "1.7", "1.6", "1.5", "1.4", "1.3", "1.2"];
  expect(f.detail).toContain(`(it has 13 tags; the newest 10: ${newest.join(", ")})`);
  expect(f.evidence.tags).toEqual(newest);
  expect((f.evidence.tagsList as { tagCount: number }).tagCount).toBe(13);
});
