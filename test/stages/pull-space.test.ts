import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync } from "node:fs";
import path from "node:path";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { tempDir } from "../helpers/context";
import { freePort } from "../peers/require";
import { factsFor, pull } from "./pull-fixture";

// PULL_NO_SPACE on a real 1 MiB tmpfs (we run as root; mount(2) is the real way to get a
// small filesystem), and PULL_DAEMON_UNAVAILABLE with no Engine on the socket or DOCKER_HOST.
let lab: LabRegistry;
let work: { dir: string; cleanup: () => void };
let small = "";
const img = buildImage({ label: "space", layers: [[{ name: "big.bin", content: noise(1_500_000, 3) }]] });

beforeAll(async () => {
  work = tempDir("pd-pull-space-");
  lab = await startLabRegistry();
  lab.addImage("space/app", "1.0", img);
  small = path.join(work.dir, "tiny");
  mkdirSync(small);
  const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", small], { stderr: "pipe" });
  if (m.exitCode !== 0)
    throw new Error(`this test needs a 1 MiB tmpfs: 'mount -t tmpfs -o size=1m tmpfs ${small}' failed (run as root): ${m.stderr}`);
});
afterAll(async () => {
  if (small) Bun.spawnSync(["umount", small]);
  await lab?.stop();
  work?.cleanup();
});

const blobRequests = (repo: string) => lab.log.filter((l) => l.path.startsWith(`/v2/${repo}/blobs/`)).length;

test("an output on a filesystem too small ⇒ PULL_NO_SPACE before any byte is downloaded", async () => {
  const dir = path.join(small, "out");
  const r = await pull(factsFor(lab.url, "space/app", "1.0", img), `oci:${dir}:1.0`, { storeDir: path.join(work.dir, "store") });
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_NO_SPACE"]);
  const f = r.findings[0];
  expect(f.evidence.statfs).toMatchObject({ path: small, ok: false });
  expect((f.evidence.statfs as { free: number }).free).toBeLessThanOrEqual(1 << 20);
  expect((f.evidence.statfs as { needed: number }).needed).toBeGreaterThan(1_500_000);
  expect(f.detail).toContain(small);
  expect(f.fixes.join("\n")).toContain(`df -h ${small}`);
  expect(blobRequests("space/app")).toBe(0);
  expect(existsSync(dir)).toBe(false);
  expect(r.result.status).toBe("fail");
});

test("a blob store on a filesystem too small ⇒ PULL_NO_SPACE naming the store", async () => {
  const r = await pull(factsFor(lab.url, "space/app", "1.0", img), `oci:${path.join(work.dir, "out2")}`, {
    storeDir: path.join(small, "store"),
  });
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_NO_SPACE"]);
  expect(r.findings[0].detail).toContain("blob store");
  expect(blobRequests("space/app")).toBe(0);
});

test("a filesystem out of inodes (bytes to spare) ⇒ PULL_NO_SPACE saying so", async () => {
  const few = path.join(work.dir, "few-inodes");
  mkdirSync(few);
  const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=64m,nr_inodes=4", "tmpfs", few], { stderr: "pipe" });
  if (m.exitCode !== 0) throw new Error(`mount tmpfs nr_inodes=4 failed: ${m.stderr}`);
  try {
    const r = await pull(factsFor(lab.url, "space/app", "1.0", img), `oci:${path.join(few, "out")}`, {
      storeDir: path.join(work.dir, "store-inodes"),
    });
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_NO_SPACE"]);
    expect(r.findings[0].detail).toMatch(new RegExp(`^${few} has \\d+ free inodes; \\d+ files still to create`));
    expect(r.findings[0].fixes[0]).toContain(`df -i ${few}`);
    expect(blobRequests("space/app")).toBe(0);
  } finally {
    Bun.spawnSync(["umount", few]);
  }
});

test("the disk fills up during the download (ENOSPC on write) ⇒ PULL_NO_SPACE, not a crash; nothing half-written kept as a blob", async () => {
  const mid = path.join(work.dir, "fills-up");
  mkdirSync(mid);
  const m = Bun.spawnSync(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", mid], { stderr: "pipe" });
  if (m.exitCode !== 0) throw new Error(`mount tmpfs size=2m failed: ${m.stderr}`);
  try {
    lab.addImage("slowspace/app", "1.0", img, [{ kind: "slow-blob", digest: img.layers[0].digest, bytesPerSecond: 3_000_000 }]);
    const store = path.join(mid, "store");
    // Another writer takes the rest of the filesystem after the space check passed.
    setTimeout(() => Bun.spawnSync(["dd", "if=/dev/zero", `of=${path.join(mid, "filler")}`, "bs=64k"], { stderr: "ignore" }), 150);
    const r = await pull(factsFor(lab.url, "slowspace/app", "1.0", img), `oci:${path.join(work.dir, "out-fills")}`, { storeDir: store });
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_NO_SPACE"]);
    expect(r.findings[0].evidence).toMatchObject({ kind: "no-space", digest: img.layers[0].digest });
    expect(r.findings[0].detail).toContain(mid);
    expect(existsSync(path.join(store, "sha256", img.layers[0].digest.slice(7)))).toBe(false);
    expect(existsSync(path.join(work.dir, "out-fills"))).toBe(false);
  } finally {
    Bun.spawnSync(["umount", mid]);
  }
});

test("output docker with no Engine on the default socket ⇒ PULL_DAEMON_UNAVAILABLE with the docker-archive fix, nothing downloaded", async () => {
  const sock = path.join(work.dir, "docker.sock");
  const r = await pull(factsFor(lab.url, "space/app", "1.0", img), "docker", {
    storeDir: path.join(work.dir, "store3"),
    deps: { paths: { resolvConf: "/dev/null", hosts: "/dev/null", systemdDropIns: [], dockerSocket: sock } },
  });
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_DAEMON_UNAVAILABLE"]);
  const f = r.findings[0];
  expect(f.detail).toContain(`unix://${sock}`);
  expect(f.detail).toContain("ENOENT");
  expect(f.fixes[0]).toContain("--output docker-archive:./app-1.0.tar");
  expect(f.fixes[0]).toContain("docker load -i ./app-1.0.tar");
  expect(blobRequests("space/app")).toBe(0);
});

test("an Engine that answers /_ping but refuses the load ⇒ PULL_DAEMON_UNAVAILABLE quoting its message; the blobs stay in the store", async () => {
  const sock = path.join(work.dir, "refusing.sock");
  let loadBytes = 0;
  const engine = Bun.serve({
    unix: sock,
    async fetch(req) {
      const u = new URL(req.url);
      if (u.pathname === "/_ping") return new Response("OK", { headers: { "Api-Version": "1.41" } });
      if (u.pathname === "/images/load") {
        loadBytes = (await req.arrayBuffer()).byteLength;
        return Response.json({ message: "write /var/lib/docker/tmp/docker-import-123/blobs: no space left on device" }, { status: 500 });
      }
      return new Response("?", { status: 404 });
    },
  });
  try {
    const store = path.join(work.dir, "store5");
    const r = await pull(factsFor(lab.url, "space/app", "1.0", img), "docker", {
      storeDir: store,
      deps: { env: { DOCKER_HOST: `unix://${sock}` } },
    });
    expect(r.findings.map((f) => f.code)).toEqual(["PULL_DAEMON_UNAVAILABLE"]);
    expect(r.findings[0].detail).toContain(
      "refused the image (POST /images/load): write /var/lib/docker/tmp/docker-import-123/blobs: no space left on device",
    );
    expect(r.findings[0].evidence).toMatchObject({ status: 500 });
    expect(loadBytes).toBeGreaterThan(1_500_000);
    const again = await pull(factsFor(lab.url, "space/app", "1.0", img), `docker-archive:${path.join(work.dir, "instead.tar")}`, {
      storeDir: store,
    });
    expect(again.findings).toEqual([]);
    expect(again.summary!.downloadedBytes).toBe(0);
  } finally {
    engine.stop(true);
  }
});

test("DOCKER_HOST=tcp://… where nothing listens ⇒ PULL_DAEMON_UNAVAILABLE (connection refused)", async () => {
  const port = await freePort();
  const r = await pull(factsFor(lab.url, "space/app", "1.0", img), "docker", {
    storeDir: path.join(work.dir, "store4"),
    deps: { env: { DOCKER_HOST: `tcp://127.0.0.1:${port}` } },
  });
  expect(r.findings.map((f) => f.code)).toEqual(["PULL_DAEMON_UNAVAILABLE"]);
  expect(r.findings[0].detail).toContain(`tcp://127.0.0.1:${port} (DOCKER_HOST=tcp://127.0.0.1:${port})`);
  expect(r.findings[0].evidence).toMatchObject({ ping: { ok: false, code: "ECONNREFUSED" } });
});
