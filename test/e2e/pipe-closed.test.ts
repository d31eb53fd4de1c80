import { afterAll, beforeAll, expect, test } from "bun:test";
import { requireBinaryBuilt } from "../helpers/binary";
import { tempDir } from "../helpers/context";

// `pulldoctor … | head` (or quitting `less`): the reader goes away while the doctor still writes.
// That used to end in an EPIPE stack trace from Bun on stderr; now it stops quietly with
// 141, the status of a program stopped by SIGPIPE.
let home: { dir: string; cleanup: () => void };
beforeAll(() => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-pipe-");
});
afterAll(() => home?.cleanup());

test("demo --tour into a reader that closes after its first line: exit 141, no stack trace", async () => {
  // A shell pipeline, as users type it: head exits after one line, the tour keeps writing.
  const proc = Bun.spawn(
    ["bash", "-c", `set -o pipefail; "${requireBinaryBuilt()}" demo --tour | head -1 >/dev/null; echo "status=\${PIPESTATUS[0]}" >&2`],
    {
      env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home.dir, NO_COLOR: "1" },
      cwd: home.dir,
      stdin: "ignore",
      stdout: "pipe",
      stderr: "pipe",
    },
  );
  const timer = setTimeout(() => proc.kill("SIGKILL"), 60_000);
  const [stderr] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  expect(stderr).not.toContain("EPIPE");
  expect(stderr).not.toContain("internal error");
  expect(stderr.trim()).toBe("status=141");
}, 70_000);
