import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type DockerdPeer, startDockerd } from "../peers/dockerd";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * `pull -f FILE` and `pull --all-tags` through the compiled binary against a real
 * docker-registry: several images into one oci:DIR (read back by skopeo and umoci) or one
 * docker-archive:FILE; each blob once; nothing written when one image cannot be pulled.
 */
let reg: RegistryPeer;
let lab: LabRegistry;
let work: { dir: string; cleanup: () => void };
const dec = new TextDecoder();
// Two images that share their layer (same files), one that does not.
const shared = [[{ name: "etc/base.txt", content: "shared base layer\n" }]];
const a = buildImage({ label: "many-a", layers: shared });
const b = buildImage({ label: "many-b", layers: shared });
const c = buildImage({ label: "many-c", layers: [[{ name: "etc/c.txt", content: "image c\n" }]] });

beforeAll(async () => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-pull-many-");
  reg = await startRegistry();
  // Debian's docker-registry 2.8 ignores ?n= and answers every tag in one page; the lab registry
  // pages tags/list as the distribution spec (and distribution v3) do, with Link headers.
  lab = await startLabRegistry();
  await pushImage(reg.url, "team/app", "1.0", a);
  await pushImage(reg.url, "team/app", "1.1", b);
  await pushImage(reg.url, "team/other", "2.0", c);
  // A repository with five tags, two of them the same image, for --all-tags.
  for (const [tag, img] of [
    ["1", a],
    ["2", b],
    ["3", c],
    ["latest", c],
    ["rc", a],
  ] as const) {
    await pushImage(reg.url, "team/tags", tag, img);
    lab.addImage("team/tags", tag, img);
  }
});
afterAll(async () => {
  await reg?.stop();
  await lab?.stop();
  work?.cleanup();
});

const common = () => [
  "--daemon-config",
  path.join(work.dir, "none.json"),
  "--certs-dir",
  path.join(work.dir, "certs.d"),
  "--timeout",
  "10",
];
const env = () => ({ PULLDOCTOR_STORE: path.join(work.dir, "store") });
const run = (argv: string[]) => {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  return { code: p.exitCode, out: dec.decode(p.stdout), err: dec.decode(p.stderr) };
};
function compose(name: string, images: string[]): string {
  const file = path.join(work.dir, name);
  writeFileSync(file, `services:\n${images.map((img, i) => `  s${i}:\n    image: ${img}\n`).join("")}`);
  return file;
}

test("pull -f: a compose file's images into one oci:DIR, one entry per image, shared blobs once; skopeo and umoci read each", async () => {
  const images = [`${reg.host}/team/app:1.0`, `${reg.host}/team/app:1.1`, `${reg.host}/team/other:2.0`];
  const dir = path.join(work.dir, "layout");
  const r = await runCli(["pull", "-f", compose("c1.yaml", images), "--output", `oci:${dir}`, "--json", ...common()], {
    home: work.dir,
    env: env(),
    timeoutMs: 90_000,
  });
  const batch = JSON.parse(r.stdout);
  expectValidReport(batch);
  expect(r.code).toBe(0);
  expect(batch.pull).toMatchObject({ output: `oci:${dir}`, written: true });
  expect(batch.pull.images.map((i: { name: string }) => i.name)).toEqual(images);
  const index = JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8"));
  expect(index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"])).toEqual(
    images,
  );
  // 3 manifests + 3 configs + 2 distinct layers: the shared layer is in blobs/ once.
  expect(readdirSync(path.join(dir, "blobs/sha256")).sort()).toEqual(
    [...new Set([a, b, c].flatMap((i) => [i.digest, i.config.digest, ...i.layers.map((l) => l.digest)]))].map((d) => d.slice(7)).sort(),
  );
  const skopeo = requireBinary("skopeo", "skopeo");
  const umoci = requireBinary("umoci", "umoci");
  for (const [img, built] of [
    [images[0]!, a],
    [images[2]!, c],
  ] as const) {
    const insp = run([skopeo, "inspect", `oci:${dir}:${img}`]);
    expect(insp.err).toBe("");
    expect(JSON.parse(insp.out).Labels["org.pulldoctor.label"]).toBe(
      JSON.parse(dec.decode(built.config.bytes)).config.Labels["org.pulldoctor.label"],
    );
    const bundle = path.join(work.dir, `bundle-${built.config.digest.slice(7, 15)}`);
    const un = run([umoci, "unpack", "--rootless", "--image", `${dir}:${img}`, bundle]);
    expect(un.err).not.toContain("error");
    expect(un.code).toBe(0);
  }
});

test("pull -f: one image that cannot be pulled leaves no output at all (atomic), and the table says which", async () => {
  const dir = path.join(work.dir, "never");
  const images = [`${reg.host}/team/app:1.0`, `${reg.host}/team/app:9.9`];
  const r = await runCli(["pull", "-f", compose("c2.yaml", images), "--output", `oci:${dir}`, ...common()], {
    home: work.dir,
    env: env(),
    timeoutMs: 90_000,
  });
  expect(r.code).toBe(1);
  expect(existsSync(dir)).toBe(false);
  expect(r.stdout).toContain("Not pulling: every image must be pullable for the output to be written.");
  expect(r.stdout).toMatch(/FAIL\s+MANIFEST_UNKNOWN\s+\S+team\/app:9\.9/);
});

test("pull --all-tags follows tags/list's Link pages (?n=2 from the lab registry: three pages) and gets what skopeo list-tags lists", async () => {
  const skopeo = requireBinary("skopeo", "skopeo");
  // Asynchronously: the lab registry answers from this very process.
  const p = Bun.spawn([skopeo, "list-tags", "--tls-verify=false", `docker://${lab.host}/team/tags`], { stdout: "pipe", stderr: "pipe" });
  const listed = { out: await new Response(p.stdout).text(), err: await new Response(p.stderr).text(), code: await p.exited };
  expect(listed.err).toBe("");
  expect(listed.code).toBe(0);
  const dir = path.join(work.dir, "paged");
  const report = path.join(work.dir, "paged.json");
  const r = await runCli(["pull", "-a", `${lab.host}/team/tags`, "--output", `oci:${dir}`, "--report", report, ...common()], {
    home: work.dir,
    // A store of its own: the five tags are three images with two layers between them, each downloaded once.
    env: { PULLDOCTOR_STORE: path.join(work.dir, "store-paged"), PULLDOCTOR_TAGS_PAGE: "2" },
    timeoutMs: 90_000,
  });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain("5 tags of team/tags (3 pages of tags/list)");
  const pages = lab.log.filter((l) => l.path === "/v2/team/tags/tags/list").length;
  expect(pages).toBeGreaterThanOrEqual(3);
  const index = JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8"));
  const names = index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"]);
  expect(names.sort()).toEqual(JSON.parse(listed.out).Tags.sort());
  const batch = JSON.parse(readFileSync(report, "utf8"));
  expectValidReport(batch);
  const distinct = new Map([a, b, c].flatMap((i) => [i.config, ...i.layers]).map((x) => [x.digest, x.bytes.length]));
  const downloaded = batch.images.reduce(
    (n: number, i: { report: { pull: { downloadedBytes: number } } }) => n + i.report.pull.downloadedBytes,
    0,
  );
  expect(downloaded).toBe([...distinct.values()].reduce((n, x) => n + x, 0));
  // The diagnosis probes each image's blob with a small Range; the pull's full GETs are one per blob.
  const blobGets = lab.log.filter((l) => l.method === "GET" && l.path.includes("/blobs/") && !l.range).map((l) => l.path);
  expect(blobGets.length).toBe(distinct.size);
  expect(new Set(blobGets).size).toBe(blobGets.length);
});

test("pull --all-tags: every tag of docker-registry's tags/list, compared with skopeo list-tags; -q prints each reference@digest", async () => {
  const skopeo = requireBinary("skopeo", "skopeo");
  const listed = run([skopeo, "list-tags", "--tls-verify=false", `docker://${reg.host}/team/tags`]);
  expect(listed.code).toBe(0);
  const tags: string[] = JSON.parse(listed.out).Tags;
  expect(tags.sort()).toEqual(["1", "2", "3", "latest", "rc"]);
  const dir = path.join(work.dir, "all-tags");
  const r = await runCli(["pull", "-a", `${reg.host}/team/tags`, "-q", "--output", `oci:${dir}`, ...common()], {
    home: work.dir,
    env: { ...env(), PULLDOCTOR_TAGS_PAGE: "2" },
    timeoutMs: 90_000,
  });
  expect(r.stderr).toBe("");
  expect(r.code).toBe(0);
  const byTag: Record<string, string> = { "1": a.digest, "2": b.digest, "3": c.digest, latest: c.digest, rc: a.digest };
  expect(r.stdout.trim().split("\n").sort()).toEqual(tags.map((t) => `${reg.host}/team/tags:${t}@${byTag[t]}`).sort());
  const index = JSON.parse(readFileSync(path.join(dir, "index.json"), "utf8"));
  expect(
    index.manifests.map((m: { annotations: Record<string, string> }) => m.annotations["org.opencontainers.image.ref.name"]).sort(),
  ).toEqual(tags);
  for (const t of tags) expect(run([skopeo, "inspect", `oci:${dir}:${t}`]).code).toBe(0);
  // A tag with --all-tags is misuse, in docker's words.
  const bad = await runCli(["pull", "-a", `${reg.host}/team/tags:1`, ...common()], { home: work.dir, env: env() });
  expect(bad.code).toBe(2);
  expect(bad.stderr).toContain("tag can't be used with --all-tags/-a");
});

test("pull -f into one docker-archive:FILE that a real dockerd's `docker load` reads (every image, its tag); --all-tags into docker, as docker pull -a", async () => {
  const images = [`${reg.host}/team/app:1.0`, `${reg.host}/team/app:1.1`, `${reg.host}/team/other:2.0`];
  const file = path.join(work.dir, "images.tar");
  const r = await runCli(["pull", "-f", compose("c3.yaml", images), "--output", `docker-archive:${file}`, ...common()], {
    home: work.dir,
    env: env(),
    timeoutMs: 90_000,
  });
  expect(r.code).toBe(0);
  expect(r.stdout).toContain(`✔ 3 images written to docker-archive:${file}`);
  let dockerd: DockerdPeer | null = null;
  try {
    dockerd = await startDockerd();
    const load = dockerd.docker(["load", "-i", file]);
    expect(load.stderr).toBe("");
    expect(load.code).toBe(0);
    for (const img of images) expect(load.stdout).toContain(`Loaded image: ${img}`);
    const ls = (repo: string) =>
      dockerd!
        .docker(["image", "ls", "--format", "{{.Tag}}", repo])
        .stdout.trim()
        .split("\n")
        .filter((t) => t !== "")
        .sort();
    expect(ls(`${reg.host}/team/app`)).toEqual(["1.0", "1.1"]);

    // docker pull -a is the reference for --all-tags: the same tags end up in the Engine.
    const dockerPull = dockerd.docker(["pull", "-a", `${reg.host}/team/tags`]);
    expect(dockerPull.code).toBe(0);
    const byDocker = ls(`${reg.host}/team/tags`);
    expect(byDocker).toEqual(["1", "2", "3", "latest", "rc"]);
    expect(dockerd.docker(["image", "rm", ...byDocker.map((t) => `${reg.host}/team/tags:${t}`)]).code).toBe(0);
    expect(ls(`${reg.host}/team/tags`)).toEqual([]);
    const ours = await runCli(["pull", "--all-tags", `${reg.host}/team/tags`, "--output", "docker", ...common()], {
      home: work.dir,
      env: { ...env(), DOCKER_HOST: dockerd.host, PULLDOCTOR_TAGS_PAGE: "2" },
      timeoutMs: 90_000,
    });
    expect(ours.stdout).toContain("5 tags of team/tags (1 page of tags/list)");
    expect(ours.code).toBe(0);
    expect(ls(`${reg.host}/team/tags`)).toEqual(byDocker);
  } finally {
    await dockerd?.stop();
  }
}, 180_000);

test("pull -q of one image: only the reference with its digest on stdout; a failure says why on stderr", async () => {
  const ok = await runCli(["pull", `${reg.host}/team/app:1.0`, "-q", "--output", `oci:${path.join(work.dir, "quiet")}`, ...common()], {
    home: work.dir,
    env: env(),
    timeoutMs: 90_000,
  });
  expect(ok.stderr).toBe("");
  expect(ok.stdout).toBe(`${reg.host}/team/app:1.0@${a.digest}\n`);
  expect(ok.code).toBe(0);
  const bad = await runCli(["pull", `${reg.host}/team/app:9.9`, "-q", "--output", `oci:${path.join(work.dir, "quiet2")}`, ...common()], {
    home: work.dir,
    env: env(),
    timeoutMs: 90_000,
  });
  expect(bad.stdout).toBe("");
  expect(bad.stderr).toContain("9.9");
  expect(bad.code).toBe(1);
});

test("pull -f: a multi-document Kubernetes file and a kubectl capture on stdin, into one docker-archive (manifest.json: an entry per image)", async () => {
  const k8s = path.join(work.dir, "k8s.yaml");
  writeFileSync(
    k8s,
    `apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  template:
    spec:
      initContainers: [{name: init, image: "${reg.host}/team/app:1.1"}]
      containers: [{name: web, image: "${reg.host}/team/app:1.0"}]
---
apiVersion: v1
kind: Pod
metadata: {name: solo}
spec:
  containers: [{name: c, image: "${reg.host}/team/app:1.0"}]
`,
  );
  // The node could not pull it (its pull secret was wrong, say); from here it pulls.
  const other = `${reg.host}/team/other:2.0`;
  const pods = JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: { containers: [{ name: "c", image: other }] },
        status: {
          containerStatuses: [
            { name: "c", image: other, state: { waiting: { reason: "ImagePullBackOff", message: `Back-off pulling image "${other}"` } } },
          ],
        },
      },
    ],
  });
  const file = path.join(work.dir, "k8s.tar");
  const r = await runCli(["pull", "-f", k8s, "-f", "-", "--output", `docker-archive:${file}`, "--json", ...common()], {
    home: work.dir,
    env: env(),
    stdin: pods,
    timeoutMs: 90_000,
  });
  const batch = JSON.parse(r.stdout);
  expectValidReport(batch);
  expect(r.code).toBe(0);
  expect(batch.images.map((i: { image: string }) => i.image)).toEqual([`${reg.host}/team/app:1.0`, `${reg.host}/team/app:1.1`, other]);
  const tar = run(["tar", "-xOf", file, "manifest.json"]);
  expect(tar.code).toBe(0);
  expect(JSON.parse(tar.out).map((e: { RepoTags: string[] }) => e.RepoTags)).toEqual([
    [`${reg.host}/team/app:1.0`],
    [`${reg.host}/team/app:1.1`],
    [other],
  ]);
});
