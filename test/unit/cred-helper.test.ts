import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { helperGet } from "../../src/host/cred-helper";
import { tempDir } from "../helpers/context";

/**
 * A helper whose child hangs holding stdout, stopped by the run's AbortSignal (Ctrl-C) rather
 * than the timeout: the whole process group goes, and the answer comes at once.
 * (The timeout path is tested through the binary: test/e2e/cred-helper-hang.test.ts.)
 */
let dir: { dir: string; cleanup: () => void };
const pidFile = () => path.join(dir.dir, "child.pid");

beforeAll(() => {
  dir = tempDir("pd-cred-helper-");
  const helper = path.join(dir.dir, "docker-credential-hang");
  writeFileSync(helper, `#!/bin/sh\nread url\nsleep 1000 &\necho $! > "${pidFile()}"\nwait\n`);
  chmodSync(helper, 0o755);
});
afterAll(() => {
  // Only the pid our own helper recorded, should a failing run have left it behind.
  const pid = existsSync(pidFile()) ? Number(readFileSync(pidFile(), "utf8").trim()) : 0;
  if (pid && running(pid)) process.kill(pid, "SIGKILL");
  dir?.cleanup();
});

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2)[0] !== "Z";
  } catch {
    return false;
  }
}

test("abort: the helper's process group is killed and the answer is 'failed' without waiting on the pipe", async () => {
  const ac = new AbortController();
  const env = { PATH: `${dir.dir}:/usr/bin:/bin` };
  setTimeout(() => ac.abort(), 300);
  const t0 = performance.now();
  const answer = await helperGet("hang", "registry.example", { env, timeoutMs: 60_000, signal: ac.signal });
  expect(performance.now() - t0).toBeLessThan(5_000);
  expect(answer.kind).toBe("failed");
  if (answer.kind === "failed") expect(answer.error).toBe("error getting credentials - err: signal: killed, out: ``");
  expect(answer.run.timedOut).toBe(false);
  const childPid = Number(readFileSync(pidFile(), "utf8").trim());
  for (let i = 0; i < 20 && running(childPid); i++) await Bun.sleep(50);
  expect(running(childPid)).toBe(false);
});
