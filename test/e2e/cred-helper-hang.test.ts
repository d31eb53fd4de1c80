import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * A credential helper that is a shell script whose child hangs (`pass` waiting for
 * pinentry, a wrapper) and holds the helper's stdout open. Killing only the script left the
 * pipe open and the doctor waiting for good; the whole process group is killed at
 * --timeout and CREDS_HELPER_FAILED is reported in bounded time. Each helper writes its
 * child's pid to a file, so the test can see that child is gone.
 */
let reg: RegistryPeer;
let home: { dir: string; cleanup: () => void };
const children: number[] = [];

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-helper-hang-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1", buildImage({ label: "helper hang" }));
});
afterAll(async () => {
  // Only the pids our own helpers recorded, should a failing run have left one behind.
  for (const pid of children) if (alive(pid)) process.kill(pid, "SIGKILL");
  await reg?.stop();
  home?.cleanup();
});

/** Running (a killed process not yet reaped by init is a zombie: dead). */
function alive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

test.each([
  ["a script waiting on a child that never ends", 'sleep 1000 &\necho $! > "$PIDFILE"\nwait'],
  [
    "a script that answers and exits, leaving a child holding stdout",
    `sleep 1000 &\necho $! > "$PIDFILE"\nprintf '{"Username":"u","Secret":"s3cret-helper-pw"}'\nexit 0`,
  ],
])(
  "%s: CREDS_HELPER_FAILED within --timeout, its child killed",
  async (name, body) => {
    const dir = path.join(home.dir, name.replace(/\W+/g, "-"));
    const bin = path.join(dir, "bin");
    mkdirSync(bin, { recursive: true });
    const pidFile = path.join(dir, "child.pid");
    const helper = path.join(bin, "docker-credential-x");
    writeFileSync(helper, `#!/bin/sh\nread url\n${body}\n`);
    chmodSync(helper, 0o755);
    writeFileSync(path.join(dir, "config.json"), JSON.stringify({ credHelpers: { [reg.host]: "x" } }));
    const t0 = performance.now();
    const r = await runCli(
      [
        "check",
        `${reg.host}/team/app:1`,
        "--docker-config",
        dir,
        "--daemon-config",
        path.join(dir, "none.json"),
        "--insecure-registry",
        reg.host,
        "--timeout",
        "2",
        "--json",
        "--client",
        "docker",
      ],
      { home: home.dir, env: { PATH: `${bin}:/usr/bin:/bin`, PIDFILE: pidFile }, timeoutMs: 30_000 },
    );
    const elapsed = performance.now() - t0;
    expect(existsSync(pidFile)).toBe(true);
    const child = Number(readFileSync(pidFile, "utf8").trim());
    children.push(child);
    const report = JSON.parse(r.stdout);
    const f = report.findings.find((x: { code: string }) => x.code === "CREDS_HELPER_FAILED");
    expect(f?.detail).toContain("timed out after 2000 ms");
    expect(report.verdict.code).toBe("CREDS_HELPER_FAILED");
    expect(r.code).toBe(1);
    expect(r.stdout).not.toContain("s3cret-helper-pw");
    // The helper's limit is --timeout (2 s); the rest of the check is quick on loopback.
    expect(elapsed).toBeLessThan(10_000);
    // SIGKILL is delivered at once; leave the kernel a moment to tear the process down.
    for (let i = 0; i < 20 && alive(child); i++) await Bun.sleep(50);
    expect(alive(child)).toBe(false);
  },
  40_000,
);
