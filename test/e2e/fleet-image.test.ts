import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { ROOT, requireBinaryBuilt } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type DockerdPeer, startDockerd } from "../peers/dockerd";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * `npm run image` end to end: the OCI layout is built (twice: the same digests), pushed with
 * skopeo to a real registry, pulled by a real dockerd and run with `--network host` against
 * a healthy registry: the doctor in its own image reports the pull healthy, as one JSON line.
 */
const VERSION = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version as string;

let tmp: { dir: string; cleanup: () => void };
let reg: RegistryPeer;
let dockerd: DockerdPeer | undefined;

function buildLayout(out: string): string {
  const bin = requireBinaryBuilt();
  const p = Bun.spawnSync([process.execPath, path.join(ROOT, "scripts/image.ts"), "--binary", bin, "--out", out], {
    stdout: "pipe",
    stderr: "pipe",
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin" },
  });
  if (p.exitCode !== 0) throw new Error(`scripts/image.ts failed:\n${p.stdout}\n${p.stderr}`);
  return p.stdout.toString();
}

beforeAll(async () => {
  tmp = tempDir("pd-image-");
  reg = await startRegistry();
  await pushImage(reg.url, "some/repo", "tag", buildImage({ label: "fleet-image" }));
}, 60_000);

afterAll(async () => {
  // Each peer is stopped even when another one's stop fails.
  const stops = await Promise.allSettled([dockerd?.stop(), reg?.stop()]);
  tmp?.cleanup();
  for (const s of stops) if (s.status === "rejected") throw s.reason;
});

describe("the doctor's own image", () => {
  const a = () => path.join(tmp.dir, "a");
  const b = () => path.join(tmp.dir, "b");

  test("an OCI layout tagged with the version, the same bytes on every build", () => {
    expect(buildLayout(a())).toContain(`tag ${VERSION}`);
    buildLayout(b());
    const index = readFileSync(path.join(a(), "index.json"), "utf8");
    expect(readFileSync(path.join(b(), "index.json"), "utf8")).toBe(index);
    expect(readdirSync(path.join(a(), "blobs/sha256")).sort()).toEqual(readdirSync(path.join(b(), "blobs/sha256")).sort());
    expect(JSON.parse(index).manifests[0].annotations["org.opencontainers.image.ref.name"]).toBe(VERSION);
  }, 120_000);

  test("pushed with skopeo, pulled and run by dockerd with --network host: a healthy report", async () => {
    const skopeo = requireBinary("skopeo", "skopeo");
    const ref = `${reg.host}/pulldoctor:${VERSION}`;
    const push = Bun.spawnSync([skopeo, "copy", "--dest-tls-verify=false", `oci:${a()}:${VERSION}`, `docker://${ref}`], {
      stdout: "pipe",
      stderr: "pipe",
    });
    expect(push.stderr.toString()).toBe("");
    expect(push.exitCode).toBe(0);

    dockerd = await startDockerd();
    const pull = dockerd.docker(["pull", ref]);
    expect(pull.stderr).toBe("");
    expect(pull.code).toBe(0);
    const inspect = JSON.parse(dockerd.docker(["image", "inspect", ref]).stdout)[0];
    expect(inspect.Config.Entrypoint).toEqual(["/pulldoctor"]);

    const run = dockerd.docker([
      "run",
      "--rm",
      "--network",
      "host",
      "-e",
      "PULLDOCTOR_JSON_LINES=1",
      ref,
      "check",
      "--json",
      `${reg.host}/some/repo:tag`,
    ]);
    expect(run.code).toBe(0);
    const lines = run.stdout.trimEnd().split("\n");
    expect(lines).toHaveLength(1);
    const report = JSON.parse(lines[0]!);
    expect(report.verdict.ok).toBe(true);
    expect(report.stages.find((s: any) => s.id === "blob").status).toBe("pass");

    // The binary in the image is this build (its split chunks are inside it: `fleet` is one,
    // loaded on demand), and the manifest it writes defaults to the image's own version tag.
    const created = dockerd.docker(["create", ref]);
    expect(created.code).toBe(0);
    const copied = path.join(tmp.dir, "pulldoctor-from-image");
    expect(dockerd.docker(["cp", `${created.stdout.trim()}:/pulldoctor`, copied]).code).toBe(0);
    dockerd.docker(["rm", created.stdout.trim()]);
    expect(Bun.hash(readFileSync(copied))).toBe(Bun.hash(readFileSync(requireBinaryBuilt())));
    const manifest = dockerd.docker(["run", "--rm", ref, "--no-color", "fleet", "manifest", "--daemonset", "app:1"]);
    expect(manifest.code).toBe(0);
    expect(manifest.stdout).toContain(`image: pulldoctor:${VERSION}\n`);

    // No shell, no package manager: only the binary and what it loads.
    const sh = dockerd.docker(["run", "--rm", "--entrypoint", "/bin/sh", ref, "-c", "true"]);
    expect(sh.code).not.toBe(0);
  }, 240_000);
});
