import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { buildImage, buildIndex } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

// `pulldoctor pull` as a user runs it: diagnosis, then the pull into each output, read back by
// a real consumer (skopeo).
let reg: RegistryPeer;
let work: { dir: string; cleanup: () => void };
const amd = buildImage({
  label: "pull-e2e",
  layers: [[{ name: "a.txt", content: "layer one\n" }], [{ name: "b.txt", content: "layer two\n" }]],
});
const arm = buildImage({ label: "pull-e2e-arm", platform: { os: "linux", architecture: "arm64" } });

beforeAll(async () => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-pull-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildIndex([amd, arm]));
});
afterAll(async () => {
  await reg?.stop();
  work?.cleanup();
});

function run(args: string[]) {
  return runCli(args, { home: work.dir, env: { PULLDOCTOR_STORE: path.join(work.dir, "store") }, timeoutMs: 90_000 });
}

test("pull into an OCI layout: exit 0, report.pull filled, skopeo reads it back", async () => {
  const dir = path.join(work.dir, "oci-out");
  const r = await run([
    "pull",
    `${reg.host}/team/app:1.0`,
    "--insecure-registry",
    reg.host,
    "--platform",
    "linux/amd64",
    "--output",
    `oci:${dir}:1.0`,
    "--json",
    "--daemon-config",
    "/nonexistent/daemon.json",
  ]);
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.verdict.ok).toBe(true);
  // After a pull the verdict says what happened, not the doctor's forecast.
  expect(report.verdict.summary).toBe(`Pulled and verified oci:${dir}:1.0 from http://${reg.host} (1 warning).`);
  expect(report.stages.at(-1)).toMatchObject({ id: "pull", status: "pass" });
  expect(report.pull).toMatchObject({ layers: 2, platform: "linux/amd64" });
  expect(r.code).toBe(0);
  const skopeo = requireBinary("skopeo", "skopeo");
  const p = Bun.spawnSync([skopeo, "inspect", "--raw", `oci:${dir}:1.0`]);
  expect(p.exitCode).toBe(0);
  expect(new TextDecoder().decode(p.stdout)).toBe(new TextDecoder().decode(amd.manifest));
});

test("pull into a docker-archive: skopeo accepts it; a second pull reuses every blob", async () => {
  const file = path.join(work.dir, "app.tar");
  const r = await run([
    "pull",
    `${reg.host}/team/app:1.0`,
    "--insecure-registry",
    reg.host,
    "--platform",
    "linux/arm64",
    "--output",
    `docker-archive:${file}`,
    "--json",
    "--daemon-config",
    "/nonexistent/daemon.json",
  ]);
  expect(r.code).toBe(0);
  expect(existsSync(file)).toBe(true);
  const skopeo = requireBinary("skopeo", "skopeo");
  const p = Bun.spawnSync([skopeo, "inspect", `docker-archive:${file}`]);
  expect(p.exitCode).toBe(0);
  expect(JSON.parse(new TextDecoder().decode(p.stdout)).Architecture).toBe("arm64");
  const again = await run([
    "pull",
    `${reg.host}/team/app:1.0`,
    "--insecure-registry",
    reg.host,
    "--platform",
    "linux/arm64",
    "--output",
    `docker-archive:${path.join(work.dir, "again.tar")}`,
    "--json",
    "--daemon-config",
    "/nonexistent/daemon.json",
  ]);
  const report = JSON.parse(again.stdout);
  expect(report.pull.downloadedBytes).toBe(0);
  expect(report.pull.reusedBytes).toBe(report.pull.bytes);
});

test("a pull that cannot succeed leaves no output and exits 1", async () => {
  const dir = path.join(work.dir, "never");
  const r = await run([
    "pull",
    `${reg.host}/team/app:nope`,
    "--insecure-registry",
    reg.host,
    "--output",
    `oci:${dir}`,
    "--json",
    "--daemon-config",
    "/nonexistent/daemon.json",
  ]);
  expect(r.code).toBe(1);
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.stages.at(-1)).toMatchObject({ id: "pull", status: "skip" });
  expect(existsSync(dir)).toBe(false);
});

test('plain output: blobs already in the store are "reused", not "pulled 0.0 MiB from store"', async () => {
  const args = (d: string) => [
    "pull",
    `${reg.host}/team/app:1.0`,
    "--insecure-registry",
    reg.host,
    "--platform",
    "linux/amd64",
    "--output",
    `oci:${path.join(work.dir, d)}`,
    "--daemon-config",
    "/nonexistent/daemon.json",
  ];
  const first = await run(args("plain-1"));
  expect(first.code).toBe(0);
  const again = await run(args("plain-2"));
  expect(again.code).toBe(0);
  expect(again.stdout).toContain("  reused sha256:");
  expect(again.stdout).toContain("(already in the local store)");
  expect(first.stdout + again.stdout).not.toContain("0.0 MiB");
});

test("a pull stage that fails without a finding (oci: onto a directory that is not a layout) is not a ✔ verdict", async () => {
  const busy = path.join(work.dir, "not-a-layout");
  await Bun.write(path.join(busy, "notes.txt"), "someone else's files");
  const args = [
    "pull",
    `${reg.host}/team/app:1.0`,
    "--insecure-registry",
    reg.host,
    "--platform",
    "linux/amd64",
    "--output",
    `oci:${busy}`,
    "--daemon-config",
    "/nonexistent/daemon.json",
  ];
  const r = await run([...args, "--json"]);
  expect(r.code).toBe(1);
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.stages.at(-1)).toMatchObject({ id: "pull", status: "fail" });
  expect(report.verdict).toMatchObject({ ok: false, code: null });
  expect(report.verdict.summary).toStartWith("Every stage of the diagnosis passed, but the pull failed: ");
  const plain = await run(args);
  expect(plain.code).toBe(1);
  expect(plain.stdout).not.toContain("should succeed");
});

test("an unwritable --report is misuse (exit 2) before any network step, not an internal error after the run", async () => {
  for (const [file, says] of [
    [path.join(work.dir, "no-such-dir", "r.json"), "does not exist"],
    [work.dir, "is a directory"],
  ] as const) {
    const r = await run([
      "check",
      `${reg.host}/team/app:1.0`,
      "--insecure-registry",
      reg.host,
      "--report",
      file,
      "--daemon-config",
      "/nonexistent/daemon.json",
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`--report ${file}: `);
    expect(r.stderr).toContain(says);
    expect(r.stderr).not.toContain("internal error");
    expect(r.stdout).toBe("");
  }
});

test("a malformed --output is misuse (exit 2) before any network step", async () => {
  const r = await run(["pull", `${reg.host}/team/app:1.0`, "--output", "tarball:/tmp/x.tar", "--json"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("--output tarball:/tmp/x.tar");
  expect(r.stdout).toBe("");
  // The flag is named once, for one image and for several (pull -f).
  for (const args of [
    ["pull", `${reg.host}/team/app:1.0`],
    ["pull", "-f", "/nonexistent.yaml"],
  ]) {
    const e = await run([...args, "--output", "docker-archive:"]);
    expect(e.code).toBe(2);
    expect(e.stderr).toBe("pulldoctor: --output docker-archive:: docker-archive: needs a file, e.g. docker-archive:./image.tar\n");
  }
});

test("an archive onto a directory, or a layout onto a file, is misuse before any network step", async () => {
  const r = await run(["pull", `${reg.host}/team/app:1.0`, "--output", `docker-archive:${work.dir}`, "--json"]);
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("is a directory; docker-archive: needs a file path");
  const file = path.join(work.dir, "plain-file");
  await Bun.write(file, "x");
  const r2 = await run(["pull", `${reg.host}/team/app:1.0`, "--output", `oci:${file}`, "--json"]);
  expect(r2.code).toBe(2);
  expect(r2.stderr).toContain("is a file; oci: needs a directory");
});
