import { afterAll, beforeAll, expect, test } from "bun:test";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { defaultOutput } from "../../src/pull/engine";
import { tempDir, testDeps } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type DockerdPeer, startDockerd } from "../peers/dockerd";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { factsFor, pull } from "./pull-fixture";

// `--output docker` against a real Docker Engine: the archive is streamed into POST
// /images/load and `docker image inspect` through the same socket shows the image.
let reg: RegistryPeer;
let dockerd: DockerdPeer;
let work: { dir: string; cleanup: () => void };
const img = buildImage({
  label: "engine",
  format: "docker",
  layers: [[{ name: "etc/one.txt", content: "one\n" }], [{ name: "etc/two.txt", content: "two\n" }]],
});

beforeAll(async () => {
  work = tempDir("pd-pull-docker-");
  [reg, dockerd] = await Promise.all([startRegistry(), startDockerd()]);
  await pushImage(reg.url, "team/engine", "2.0", img);
}, 60_000);
afterAll(async () => {
  await dockerd?.stop();
  await reg?.stop();
  work?.cleanup();
}, 30_000);

test("docker: the Engine loads the image; docker image inspect shows its id (config digest), tag and layers", async () => {
  const r = await pull(factsFor(reg.url, "team/engine", "2.0", img), "docker", {
    storeDir: path.join(work.dir, "store"),
    deps: { env: { DOCKER_HOST: dockerd.host } },
  });
  expect(r.findings).toEqual([]);
  expect(r.result.status).toBe("pass");
  expect(r.result.evidence.written).toMatchObject({ kind: "docker", loaded: [`${reg.host}/team/engine:2.0`] });
  const insp = dockerd.docker(["image", "inspect", `${reg.host}/team/engine:2.0`]);
  expect(insp.stderr).toBe("");
  const info = JSON.parse(insp.stdout)[0];
  expect(info.Id).toBe(img.config.digest);
  expect(info.RepoTags).toEqual([`${reg.host}/team/engine:2.0`]);
  const config = JSON.parse(new TextDecoder().decode(img.config.bytes));
  expect(info.RootFS.Layers).toEqual(config.rootfs.diff_ids);
  expect(info.Architecture).toBe("amd64");
}, 60_000);

test("docker-archive: `docker load -i FILE` on the real Engine accepts it (an OCI image, gzip'd layers as served)", async () => {
  const oci = buildImage({ label: "engine-oci", layers: [[{ name: "etc/three.txt", content: "three\n" }]] });
  await pushImage(reg.url, "team/oci", "3.0", oci);
  const file = path.join(work.dir, "oci.tar");
  const r = await pull(factsFor(reg.url, "team/oci", "3.0", oci), `docker-archive:${file}`, { storeDir: path.join(work.dir, "store") });
  expect(r.findings).toEqual([]);
  const load = dockerd.docker(["load", "-i", file]);
  expect(load.stderr).toBe("");
  expect(load.stdout.trim()).toBe(`Loaded image: ${reg.host}/team/oci:3.0`);
  const info = JSON.parse(dockerd.docker(["image", "inspect", `${reg.host}/team/oci:3.0`]).stdout)[0];
  expect(info.Id).toBe(oci.config.digest);
  expect(info.RootFS.Layers).toEqual(JSON.parse(new TextDecoder().decode(oci.config.bytes)).rootfs.diff_ids);
}, 60_000);

test("defaultOutput: the Engine when it answers, else an OCI layout under the cwd, said plainly", async () => {
  const ref = factsFor(reg.url, "team/engine", "2.0", img).facts.ref!;
  const up = await defaultOutput(testDeps({ env: { DOCKER_HOST: dockerd.host } }), ref);
  expect(up).toEqual({ output: "docker", reason: `the Docker Engine at ${dockerd.host} answered; loading the image into it` });
  const down = await defaultOutput(testDeps(), ref);
  expect(down.output).toBe(`oci:${path.join(process.cwd(), "engine")}:2.0`);
  expect(down.reason).toContain("no Docker Engine answered at unix://");
  expect(down.reason).toContain(`writing an OCI image layout to ${path.join(process.cwd(), "engine")}`);
});
