import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildImage, buildIndex } from "../../src/lab/image";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "./registry";

let reg: RegistryPeer;
beforeAll(async () => {
  reg = await startRegistry();
});
afterAll(async () => {
  await reg?.stop();
});

test("the real registry accepts an image and an index made in code", async () => {
  const amd = buildImage({ label: "amd64" });
  const arm = buildImage({ label: "arm64", platform: { os: "linux", architecture: "arm64" } });
  await pushImage(reg.url, "team/app", "1.0", amd);
  await pushImage(reg.url, "multi/app", "1.0", buildIndex([amd, arm]));
  const res = await fetch(`${reg.url}/v2/team/app/manifests/1.0`, { method: "HEAD", headers: { Accept: amd.mediaType } });
  expect(res.status).toBe(200);
  expect(res.headers.get("docker-content-digest")).toBe(amd.digest);
  const tags = await (await fetch(`${reg.url}/v2/multi/app/tags/list`)).json();
  expect(tags).toEqual({ name: "multi/app", tags: ["1.0"] });
});
