import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, rmSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * People run pulldoctor inside cloned repositories. A standalone Bun executable autoloads
 * bunfig.toml (whose `preload` runs code) and .env (which sets the environment) from the
 * working directory unless it is built with --no-compile-autoload-bunfig and
 * --no-compile-autoload-dotenv (scripts/build.ts). Nothing there may run or change what
 * the doctor sees.
 */
let reg: RegistryPeer;
let home: { dir: string; cleanup: () => void };
let repo: { dir: string; cleanup: () => void };
const marker = () => path.join(repo.dir, "preload-ran");

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-wd-home-");
  repo = tempDir("pd-wd-repo-");
  writeFileSync(path.join(repo.dir, "bunfig.toml"), 'preload = ["./x.ts"]\n');
  writeFileSync(
    path.join(repo.dir, "x.ts"),
    `require("node:fs").writeFileSync(${JSON.stringify(marker())}, "preloaded from the working directory\\n");\n`,
  );
  writeFileSync(
    path.join(repo.dir, ".env"),
    "HTTPS_PROXY=http://127.0.0.1:1\nHTTP_PROXY=http://127.0.0.1:1\nPULLDOCTOR_DOTENV_PROBE=loaded\n",
  );
  reg = await startRegistry();
  await pushImage(reg.url, "wd/repo", "tag", buildImage({ label: "working-directory" }));
});
afterAll(async () => {
  await reg?.stop();
  home?.cleanup();
  repo?.cleanup();
});

describe("the binary run inside a directory holding bunfig.toml and .env", () => {
  test("--version: the bunfig preload never runs", async () => {
    rmSync(marker(), { force: true });
    const r = await runCli(["--version"], { home: home.dir, cwd: repo.dir });
    expect(r.stdout).toMatch(/^pulldoctor \d/);
    expect(r.code).toBe(0);
    expect(existsSync(marker())).toBe(false);
  });

  test("check: no preload, and the .env proxy is neither used nor reported", async () => {
    rmSync(marker(), { force: true });
    const args = ["check", `${reg.host}/wd/repo:tag`, "--insecure-registry", reg.host, "--timeout", "5", "--json"];
    const r = await runCli([...args, "--daemon-config", path.join(home.dir, "none.json")], { home: home.dir, cwd: repo.dir });
    const report = JSON.parse(r.stdout);
    expect(report.verdict.ok).toBe(true);
    expect(r.code).toBe(0);
    const proxy = report.stages.find((s: { id: string }) => s.id === "proxy");
    expect(proxy.status).toBe("pass");
    // The report quotes the proxy variables it saw (the shell evidence): none were set.
    expect(proxy.evidence.shell.variables).toEqual({});
    expect(proxy.evidence.shell.proxy).toBeNull();
    expect(r.stdout.includes("HTTPS_PROXY")).toBe(false);
    expect(report.findings.map((f: { code: string }) => f.code)).not.toContain("PROXY_BYPASSED");
    expect(existsSync(marker())).toBe(false);
  });
});
