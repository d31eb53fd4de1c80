import { afterAll, describe, expect, test } from "bun:test";
import { execFileSync } from "node:child_process";
import { mkdirSync, statSync, truncateSync, writeFileSync } from "node:fs";
import path from "node:path";
import { readDaemonJson, readDropIns } from "../../src/host/daemon-config";
import { loadDockerConfig } from "../../src/host/docker-config";
import { MAX_LOCAL_CONFIG_BYTES, readLocalFile } from "../../src/host/local-file";
import type { Facts } from "../../src/model/facts";
import { parseReference } from "../../src/registry/reference";
import { configStage } from "../../src/stages/config";
import { tempDir, testContext, testDeps } from "../helpers/context";

/**
 * Local config files that are not files: before, a named pipe at ~/.docker/config.json (or
 * daemon.json, or a systemd drop-in) hung the doctor in readFileSync, and --docker-config
 * /dev/zero read until memory ran out. Each case must end at once with a read problem.
 */
const t = tempDir("pd-localfile-");
afterAll(() => t.cleanup());
const fifo = (p: string) => {
  mkdirSync(path.dirname(p), { recursive: true });
  execFileSync("mkfifo", [p]);
  return p;
};

describe("readLocalFile", () => {
  test("a named pipe is refused without waiting for a writer", () => {
    const t0 = performance.now();
    const r = readLocalFile(fifo(path.join(t.dir, "pipe")));
    expect(r).toEqual({ ok: false, refused: "not a regular file (a named pipe): Docker would block reading it" });
    expect(performance.now() - t0).toBeLessThan(500);
  });

  test("/dev/null reads as empty (as Docker reads it); /dev/zero is refused after one byte", () => {
    expect(readLocalFile("/dev/null")).toEqual({ ok: true, bytes: new Uint8Array() });
    expect(readLocalFile("/dev/zero")).toMatchObject({
      ok: false,
      refused: "not a regular file (a device that keeps giving bytes): Docker would read it forever",
    });
  });

  test(`a regular file over ${MAX_LOCAL_CONFIG_BYTES} bytes is refused without reading it; at the limit it is read`, () => {
    const big = path.join(t.dir, "big.json");
    writeFileSync(big, "");
    truncateSync(big, MAX_LOCAL_CONFIG_BYTES + 1);
    expect(readLocalFile(big)).toEqual({
      ok: false,
      refused: `${MAX_LOCAL_CONFIG_BYTES + 1} bytes, over pulldoctor's 4 MiB limit for a config file (Docker reads it all)`,
    });
    truncateSync(big, MAX_LOCAL_CONFIG_BYTES);
    const r = readLocalFile(big);
    expect(r.ok && r.bytes.length).toBe(MAX_LOCAL_CONFIG_BYTES);
  });

  test("errors keep their errno: ENOENT, EISDIR", () => {
    expect(readLocalFile(path.join(t.dir, "absent"))).toMatchObject({ ok: false, error: { code: "ENOENT" } });
    expect(readLocalFile(t.dir)).toMatchObject({ ok: false, error: { code: "EISDIR" } });
  });
});

describe("the loaders and the config stage on a pipe", () => {
  test("config.json, daemon.json and a drop-in as named pipes: read problems and findings, no hang", async () => {
    const dir = path.join(t.dir, "home");
    const configPath = fifo(path.join(dir, ".docker", "config.json"));
    const daemonPath = fifo(path.join(dir, "daemon.json"));
    fifo(path.join(dir, "docker.service.d", "http-proxy.conf"));
    const deps = testDeps({ dir, env: { PATH: path.join(dir, "bin") } });
    const t0 = performance.now();
    expect(loadDockerConfig(null, deps).problem).toEqual({
      kind: "read",
      message: `read ${configPath}: not a regular file (a named pipe): Docker would block reading it`,
      refused: true,
    });
    expect(readDaemonJson(daemonPath).problem).toEqual({
      kind: "read",
      message: `read ${daemonPath}: not a regular file (a named pipe): Docker would block reading it`,
      refused: true,
    });
    expect(readDropIns([path.join(dir, "docker.service.d")]).proxies).toBeNull();
    const ctx = testContext({
      options: { daemonConfig: daemonPath, certsDir: path.join(dir, "certs.d") },
      facts: { ref: parseReference("registry.example.com/app:1") } as Facts,
    });
    const out = await configStage.run({ ...ctx, deps });
    const byCode = Object.fromEntries(out.findings.map((f) => [f.code, f]));
    // The note joins the detail line.
    expect(byCode.CONFIG_UNREADABLE?.detail).toContain("blocks on a pipe");
    expect(byCode.DAEMON_CONFIG_UNREADABLE?.severity).toBe("error");
    expect(byCode.DAEMON_CONFIG_UNREADABLE?.detail).toContain("blocks on a pipe");
    expect(performance.now() - t0).toBeLessThan(3000);
    expect(statSync(configPath).isFIFO()).toBe(true);
  });

  test("--docker-config /dev/zero is refused; /dev/null is an empty config", () => {
    const dir = path.join(t.dir, "dev");
    mkdirSync(dir);
    const deps = testDeps({ dir });
    expect(loadDockerConfig("/dev/zero", deps).problem?.refused).toBe(true);
    expect(loadDockerConfig("/dev/null", deps)).toMatchObject({ found: true, problem: null });
  });
});
