import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";
import { factsFor, pull } from "./pull-fixture";

// Each output against its real consumer: skopeo and umoci read the OCI layout, skopeo the
// docker-archive. The registry is a real docker-registry.
let reg: RegistryPeer;
let work: { dir: string; cleanup: () => void };
const img = buildImage({
  label: "pull-outputs",
  layers: [
    [{ name: "etc/hello.txt", content: "hello\n" }],
    [{ name: "usr/share/data.bin", content: new Uint8Array(300_000).map((_, i) => (i * 7919) % 251) }],
    [{ name: "etc/bye.txt", content: "bye\n" }],
  ],
});
const dec = new TextDecoder();
const run = (argv: string[]) => {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: dec.decode(p.stdout), err: dec.decode(p.stderr) };
};

beforeAll(async () => {
  work = tempDir("pd-pull-out-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", img);
});
afterAll(async () => {
  await reg?.stop();
  work?.cleanup();
});

test("oci: a layout that skopeo copies and umoci unpacks; the manifest is byte-identical", async () => {
  const store = path.join(work.dir, "store");
  const dir = path.join(work.dir, "layout");
  const r = await pull(factsFor(reg.url, "team/app", "1.0", img), `oci:${dir}:v1`, { storeDir: store });
  expect(r.findings).toEqual([]);
  expect(r.result).toMatchObject({ id: "pull", status: "pass" });
  const total = img.config.bytes.length + img.layers.reduce((n, l) => n + l.bytes.length, 0);
  expect(r.summary).toMatchObject({
    digest: img.digest,
    layers: 3,
    bytes: total,
    downloadedBytes: total,
    reusedBytes: 0,
    output: `oci:${dir}:v1`,
  });
  expect(JSON.parse(readFileSync(path.join(dir, "oci-layout"), "utf8"))).toEqual({ imageLayoutVersion: "1.0.0" });
  const index = JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8"));
  expect(index.manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe("v1");
  expect(readdirSync(work.dir).filter((n) => n.includes("pulldoctor"))).toEqual([]);

  const skopeo = requireBinary("skopeo", "skopeo");
  const raw = run([skopeo, "inspect", "--raw", `oci:${dir}:v1`]);
  expect(raw.code).toBe(0);
  expect(raw.out).toBe(dec.decode(img.manifest));
  const copy = run([skopeo, "copy", "--quiet", `oci:${dir}:v1`, `dir:${path.join(work.dir, "skopeo-dir")}`]);
  expect(copy.err).toBe("");
  expect(copy.code).toBe(0);

  const umoci = requireBinary("umoci", "umoci");
  const bundle = path.join(work.dir, "bundle");
  const un = run([umoci, "unpack", "--rootless", "--image", `${dir}:v1`, bundle]);
  expect(un.err).not.toContain("error");
  expect(un.code).toBe(0);
  expect(readFileSync(path.join(bundle, "rootfs/etc/hello.txt"), "utf8")).toBe("hello\n");
  expect(readFileSync(path.join(bundle, "rootfs/usr/share/data.bin")).length).toBe(300_000);
  const ls = run([umoci, "ls", "--layout", dir]);
  expect(ls.out.trim()).toBe("v1");

  // A second pull reuses every blob: nothing goes over the network.
  const again = await pull(factsFor(reg.url, "team/app", "1.0", img), `oci:${dir}:v2`, { storeDir: store });
  expect(again.summary).toMatchObject({ downloadedBytes: 0, reusedBytes: total });
  expect(again.trace.events.filter((e) => e.kind === "http")).toEqual([]);
  expect(again.events.find((e) => e.type === "plan")).toMatchObject({
    blobs: [{ reused: true }, { reused: true }, { reused: true }, { reused: true }],
  });
  // …and adds its tag to the same layout.
  expect(run([umoci, "ls", "--layout", dir]).out.trim().split("\n").sort()).toEqual(["v1", "v2"]);
});

test("docker-archive: skopeo copies it; manifest.json names the repo tag and the layers", async () => {
  const file = path.join(work.dir, "app.tar");
  const r = await pull(factsFor(reg.url, "team/app", "1.0", img), `docker-archive:${file}`, { storeDir: path.join(work.dir, "store2") });
  expect(r.findings).toEqual([]);
  expect(r.result.status).toBe("pass");
  const skopeo = requireBinary("skopeo", "skopeo");
  const insp = run([skopeo, "inspect", `docker-archive:${file}`]);
  expect(insp.code).toBe(0);
  const info = JSON.parse(insp.out);
  expect(info.Layers.length).toBe(3);
  const out = path.join(work.dir, "from-archive");
  const copy = run([skopeo, "copy", "--quiet", `docker-archive:${file}`, `oci:${out}:x`]);
  expect(copy.err).toBe("");
  expect(copy.code).toBe(0);
  const tar = run(["tar", "-xOf", file, "manifest.json"]);
  const manifest = JSON.parse(tar.out);
  expect(manifest[0].RepoTags).toEqual([`${reg.host}/team/app:1.0`]);
  expect(manifest[0].Layers).toEqual(img.layers.map((l) => `blobs/sha256/${l.digest.slice(7)}`));
});

test("an existing directory that is not an OCI layout is refused before any request, and left as it was", async () => {
  const dir = path.join(work.dir, "not-a-layout");
  mkdirSync(dir);
  writeFileSync(path.join(dir, "notes.txt"), "mine\n");
  const r = await pull(factsFor(reg.url, "team/app", "1.0", img), `oci:${dir}`, { storeDir: path.join(work.dir, "store4") });
  expect(r.result.status).toBe("fail");
  expect(r.result.summary).toBe(`${dir} exists and is not an OCI image layout (no oci-layout file); choose a new or empty directory`);
  expect(readdirSync(dir)).toEqual(["notes.txt"]);
  expect(existsSync(path.join(work.dir, "store4"))).toBe(false);
});

test("a blob store that cannot be created is a failed pull stage that says what to set, not a crash", async () => {
  const r = await pull(factsFor(reg.url, "team/app", "1.0", img), `oci:${path.join(work.dir, "nostore")}`, { storeDir: "/dev/null/store" });
  expect(r.result.status).toBe("fail");
  expect(r.result.summary).toContain("cannot create the blob store at /dev/null/store");
  expect(r.result.summary).toContain("set PULLDOCTOR_STORE to a writable directory");
});

test("an unknown output is refused before any request", async () => {
  const r = await pull(factsFor(reg.url, "team/app", "1.0", img), "tarball:/tmp/x", { storeDir: path.join(work.dir, "store3") });
  expect(r.result.status).toBe("fail");
  expect(r.result.summary).toContain("expected oci:DIR[:TAG], docker-archive:FILE or docker");
  expect(existsSync(path.join(work.dir, "store3"))).toBe(false);
});
