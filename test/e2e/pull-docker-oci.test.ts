import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type BuiltImage, buildImage, buildIndex, MT, sha256 } from "../../src/lab/image";
import { tarBytes } from "../../src/pull/outputs/tar-header";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

// Most images on Docker Hub are Docker schema 2. Pulled into oci: they must be a layout that
// containers/image (skopeo) and umoci read: OCI media types, a new manifest digest, the
// registry's digest kept beside it. docker-archive: keeps Docker's manifest byte for byte.
let reg: RegistryPeer;
let work: { dir: string; cleanup: () => void };
const dec = new TextDecoder();

/** A Docker schema 2 image with one gzip'd layer and one uncompressed layer (…rootfs.diff.tar). */
function dockerTwoLayerTypes(): BuiltImage {
  const base = buildImage({ format: "docker", label: "docker-v2s2", layers: [[{ name: "etc/gz.txt", content: "gzip layer\n" }]] });
  const plain = tarBytes([{ name: "etc/plain.txt", content: "uncompressed layer\n" }]);
  const layer = { digest: sha256(plain), bytes: plain, mediaType: "application/vnd.docker.image.rootfs.diff.tar" };
  const cfg = JSON.parse(dec.decode(base.config.bytes));
  cfg.rootfs.diff_ids.push(layer.digest);
  cfg.history.push({ created: "2026-01-01T00:00:00Z", created_by: "uncompressed" });
  const cfgBytes = new TextEncoder().encode(JSON.stringify(cfg));
  const config = { digest: sha256(cfgBytes), bytes: cfgBytes, mediaType: MT.dockerConfig };
  const layers = [...base.layers, layer];
  // Indented as the Docker CLI and distribution write manifests: the rewrite must not depend on the layout of the bytes.
  const manifest = new TextEncoder().encode(
    JSON.stringify(
      {
        schemaVersion: 2,
        mediaType: MT.dockerManifest,
        config: { mediaType: config.mediaType, size: cfgBytes.length, digest: config.digest },
        layers: layers.map((l) => ({ mediaType: l.mediaType, size: l.bytes.length, digest: l.digest })),
      },
      null,
      3,
    ),
  );
  return { digest: sha256(manifest), mediaType: MT.dockerManifest, manifest, config, layers, platform: base.platform };
}

const single = dockerTwoLayerTypes();
const amd = buildImage({ format: "docker", label: "list-amd64", layers: [[{ name: "etc/arch", content: "amd64\n" }]] });
const arm = buildImage({
  format: "docker",
  label: "list-arm64",
  platform: { os: "linux", architecture: "arm64", variant: "v8" },
  layers: [[{ name: "etc/arch", content: "arm64\n" }]],
});
const list = buildIndex([amd, arm], "docker");

beforeAll(async () => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-docker-oci-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/docker", "v2s2", single);
  await pushImage(reg.url, "team/docker", "list", list);
});
afterAll(async () => {
  await reg?.stop();
  work?.cleanup();
});

function pull(image: string, output: string, platform = "linux/amd64") {
  return runCli(
    [
      "pull",
      `${reg.host}/${image}`,
      "--insecure-registry",
      reg.host,
      "--platform",
      platform,
      "--output",
      output,
      "--json",
      "--daemon-config",
      "/nonexistent/daemon.json",
    ],
    { home: work.dir, env: { PULLDOCTOR_STORE: path.join(work.dir, "store") }, timeoutMs: 90_000 },
  );
}

const run = (argv: string[]) => {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: dec.decode(p.stdout), err: dec.decode(p.stderr) };
};

/** skopeo inspect and copy, umoci stat and unpack: every consumer the SPEC names accepts the layout. */
function expectConsumersRead(dir: string, tag: string, files: Record<string, string>) {
  const skopeo = requireBinary("skopeo", "skopeo");
  const insp = run([skopeo, "inspect", `oci:${dir}:${tag}`]);
  expect(insp.err).toBe("");
  expect(insp.code).toBe(0);
  const copy = run([skopeo, "copy", "--quiet", `oci:${dir}:${tag}`, `oci:${path.join(work.dir, `copy-${tag}`)}:${tag}`]);
  expect(copy.err).toBe("");
  expect(copy.code).toBe(0);
  const umoci = requireBinary("umoci", "umoci");
  const stat = run([umoci, "stat", "--image", `${dir}:${tag}`]);
  expect(stat.err).toBe("");
  expect(stat.code).toBe(0);
  const bundle = path.join(work.dir, `bundle-${tag}`);
  const un = run([umoci, "unpack", "--rootless", "--image", `${dir}:${tag}`, bundle]);
  expect(un.code).toBe(0);
  for (const [f, content] of Object.entries(files)) expect(readFileSync(path.join(bundle, "rootfs", f), "utf8")).toBe(content);
  return JSON.parse(insp.out);
}

test("a Docker schema 2 image (gzip and uncompressed layers) pulled into oci: is OCI that skopeo and umoci read", async () => {
  const dir = path.join(work.dir, "single");
  const r = await pull("team/docker:v2s2", `oci:${dir}:v2s2`);
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(r.code).toBe(0);
  // The registry's digest, and the digest of the manifest the layout holds.
  expect(report.pull.digest).toBe(single.digest);
  expect(report.pull.mediaType).toBe(MT.dockerManifest);
  expect(report.pull.written).toMatchObject({ mediaType: "application/vnd.oci.image.manifest.v1+json", converted: true });
  expect(report.pull.written.digest).not.toBe(single.digest);
  expect(report.pull.index).toBeNull();
  expect(report.stages.at(-1).summary).toEndWith(`(Docker manifest ${single.digest} written as OCI ${report.pull.written.digest})`);

  const index = JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8"));
  expect(index.manifests).toHaveLength(1);
  const entry = index.manifests[0];
  expect(entry).toMatchObject({ mediaType: "application/vnd.oci.image.manifest.v1+json", digest: report.pull.written.digest });
  expect(entry.annotations).toEqual({
    "org.opencontainers.image.ref.name": "v2s2",
    "org.pulldoctor.source.digest": single.digest,
    "org.pulldoctor.source.mediaType": MT.dockerManifest,
  });
  const raw = readFileSync(path.join(dir, "blobs/sha256", entry.digest.slice(7)));
  expect(sha256(raw)).toBe(entry.digest);
  expect(entry.size).toBe(raw.length);
  const m = JSON.parse(dec.decode(raw));
  expect(m.mediaType).toBe("application/vnd.oci.image.manifest.v1+json");
  // The config's bytes (and so its digest, the image ID) are kept; only media types change.
  expect(m.config).toEqual({
    mediaType: "application/vnd.oci.image.config.v1+json",
    size: single.config.bytes.length,
    digest: single.config.digest,
  });
  expect(m.layers.map((l: { mediaType: string }) => l.mediaType)).toEqual([
    "application/vnd.oci.image.layer.v1.tar+gzip",
    "application/vnd.oci.image.layer.v1.tar",
  ]);
  expect(m.layers.map((l: { digest: string }) => l.digest)).toEqual(single.layers.map((l) => l.digest));

  const insp = expectConsumersRead(dir, "v2s2", { "etc/gz.txt": "gzip layer\n", "etc/plain.txt": "uncompressed layer\n" });
  expect(insp.Digest).toBe(entry.digest);
  const skopeo = requireBinary("skopeo", "skopeo");
  expect(JSON.parse(run([skopeo, "inspect", "--raw", `oci:${dir}:v2s2`]).out)).toEqual(m);
});

test("a Docker manifest list: the chosen platform's image is written as OCI, the list's digest recorded", async () => {
  const dir = path.join(work.dir, "list");
  const r = await pull("team/docker:list", `oci:${dir}:list`, "linux/arm64/v8");
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(r.code).toBe(0);
  expect(report.pull).toMatchObject({ digest: arm.digest, mediaType: MT.dockerManifest, platform: "linux/arm64/v8" });
  expect(report.pull.index).toEqual({ digest: list.digest, mediaType: MT.dockerList });
  expect(report.pull.written.converted).toBe(true);
  const entry = JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8")).manifests[0];
  expect(entry).toMatchObject({
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    digest: report.pull.written.digest,
    platform: { os: "linux", architecture: "arm64", variant: "v8" },
  });
  expect(entry.annotations["org.pulldoctor.source.digest"]).toBe(arm.digest);
  expect(entry.annotations["org.pulldoctor.source.index.digest"]).toBe(list.digest);
  const insp = expectConsumersRead(dir, "list", { "etc/arch": "arm64\n" });
  expect(insp.Architecture).toBe("arm64");
});

test("docker-archive: keeps the Docker manifest byte for byte (no rewrite, same digest)", async () => {
  const file = path.join(work.dir, "single.tar");
  const r = await pull("team/docker:v2s2", `docker-archive:${file}`);
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.pull.written).toEqual({
    digest: single.digest,
    mediaType: MT.dockerManifest,
    size: single.manifest.length,
    converted: false,
  });
  const tar = (name: string) => Bun.spawnSync(["tar", "-xOf", file, name]).stdout;
  expect(JSON.parse(dec.decode(tar("index.json"))).manifests[0]).toMatchObject({ mediaType: MT.dockerManifest, digest: single.digest });
  expect(dec.decode(tar(`blobs/sha256/${single.digest.slice(7)}`))).toBe(dec.decode(single.manifest));
});
