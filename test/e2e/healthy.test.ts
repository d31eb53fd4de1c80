import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { copyFileSync, mkdirSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";

const ALL = ["reference", "config", "dns", "proxy", "connect", "v2", "auth", "manifest", "blob"];

let reg: RegistryPeer;
let home: { dir: string; cleanup: () => void };
beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-home-");
  reg = await startRegistry();
  await pushImage(reg.url, "some/repo", "tag", buildImage({ label: "e2e" }));
});
afterAll(async () => {
  await reg?.stop();
  home?.cleanup();
});

const common = () => [
  "--insecure-registry",
  reg.host,
  "--daemon-config",
  path.join(home.dir, "no-daemon.json"),
  "--certs-dir",
  path.join(home.dir, "certs.d"),
  "--timeout",
  "5",
];

describe.each([
  ["the compiled binary", false],
  ["bun src/main.ts", true],
])("check through %s", (_name, viaSource) => {
  test("a healthy image: every stage passes, verdict ok, exit 0, schema-valid report", async () => {
    const r = await runCli(["check", `${reg.host}/some/repo:tag`, ...common(), "--json"], { home: home.dir, viaSource });
    expect(r.stderr).toBe("");
    const report = JSON.parse(r.stdout);
    expectValidReport(report);
    expect(report.stages.map((s: { id: string }) => s.id)).toEqual(ALL);
    for (const s of report.stages) expect([s.id, s.status]).toEqual([s.id, s.status === "warn" ? "warn" : "pass"]);
    expect(report.findings.filter((f: { severity: string }) => f.severity === "error")).toEqual([]);
    expect(report.verdict.ok).toBe(true);
    expect(report.image.canonical).toBe(`${reg.host}/some/repo:tag`);
    expect(r.code).toBe(0);
  });

  test("a missing tag: MANIFEST_UNKNOWN, exit 1", async () => {
    const r = await runCli(["check", `${reg.host}/some/repo:nope`, ...common(), "--json"], { home: home.dir, viaSource });
    const report = JSON.parse(r.stdout);
    expectValidReport(report);
    expect(report.verdict.ok).toBe(false);
    expect(report.verdict.code).toBe("MANIFEST_UNKNOWN");
    expect(r.code).toBe(1);
  });
});

test("the binary runs with no node_modules beside it: --version, --help, ref", async () => {
  const bin = requireBinaryBuilt();
  const lone = tempDir("pd-lone-");
  try {
    mkdirSync(path.join(lone.dir, "bin"));
    const copy = path.join(lone.dir, "bin/pulldoctor");
    copyFileSync(bin, copy);
    const run = async (args: string[]) => {
      const p = Bun.spawn([copy, ...args], {
        cwd: lone.dir,
        env: { PATH: "/usr/bin:/bin", HOME: lone.dir },
        stdout: "pipe",
        stderr: "pipe",
      });
      const [out, code] = await Promise.all([new Response(p.stdout).text(), p.exited]);
      return { out, code };
    };
    const v = await run(["--version"]);
    expect(v.code).toBe(0);
    expect(v.out).toMatch(/^pulldoctor \d+\.\d+\.\d+\n$/);
    const h = await run(["--help"]);
    expect(h.code).toBe(0);
    expect(h.out).toContain("pulldoctor check IMAGE");
    const ref = await run(["ref", "nginx", "--json"]);
    expect(ref.code).toBe(0);
    const j = JSON.parse(ref.out);
    expect(j.canonical).toBe("docker.io/library/nginx:latest");
    expect(j.familiar).toBe("nginx:latest");
  } finally {
    lone.cleanup();
  }
});

test("misuse exits 2 with the usage", async () => {
  const r = await runCli(["check", "--bogus"], { home: home.dir });
  expect(r.code).toBe(2);
  expect(r.stderr).toContain("unknown flag: --bogus");
  const r2 = await runCli(["check"], { home: home.dir });
  expect(r2.code).toBe(2);
});
