import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { requireBinaryBuilt } from "../helpers/binary";
import { tempDir } from "../helpers/context";

// `--version`, `--help`, `ref` and `explain` write through Bun's stdout writer instead of
// process.stdout (ui/io.ts, start-up). A redirect to a file must get every byte where it
// belongs (Bun.write, tried first, truncated the file to each write: `>>` left NULs), and a
// reader that goes away must end the command with 141 and nothing on stderr.
let home: { dir: string; cleanup: () => void };
beforeAll(() => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-direct-");
});
afterAll(() => home?.cleanup());

const sh = async (script: string) => {
  const p = Bun.spawn(["bash", "-c", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home.dir, NO_COLOR: "1", BIN: requireBinaryBuilt() },
    cwd: home.dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  return { stdout, stderr };
};

test("appended to a file: each command's output follows the last, byte for byte", async () => {
  const out = path.join(home.dir, "log");
  const piped = await sh(`"$BIN" --version; "$BIN" --help; "$BIN" explain MANIFEST_UNKNOWN; "$BIN" ref nginx --json`);
  await sh(
    `echo prefix > "${out}"; "$BIN" --version >> "${out}"; "$BIN" --help >> "${out}"; "$BIN" explain MANIFEST_UNKNOWN >> "${out}"; "$BIN" ref nginx --json >> "${out}"`,
  );
  const text = readFileSync(out, "utf8");
  expect(text).not.toContain("\0");
  expect(text).toBe(`prefix\n${piped.stdout}`);
  expect(piped.stdout).toContain("Usage: pulldoctor");
  expect(piped.stdout).toContain('"repository": "library/nginx"');
});

test("into a reader that has gone: exit 141, nothing on stderr", async () => {
  const r = await sh(`"$BIN" explain MANIFEST_UNKNOWN | (exec 0<&-; true); echo "status=\${PIPESTATUS[0]}" >&2`);
  expect(r.stderr.trim()).toBe("status=141");
});

test("check writes through the same writer: appended, piped to a late reader and to a gone one", async () => {
  // An invalid reference: the whole report without a registry (exit 1).
  const out = path.join(home.dir, "check.log");
  const piped = await sh(`"$BIN" check 'Bad!!' --json; "$BIN" check 'Bad!!' --verbose`);
  await sh(`echo prefix > "${out}"; "$BIN" check 'Bad!!' --json >> "${out}"; "$BIN" check 'Bad!!' --verbose >> "${out}"`);
  // Two runs differ only in their times.
  const untimed = (s: string) => s.replace(/"createdAt": "[^"]*"|"\w*[mM]s": \d+|\d+ ms\b/g, "T");
  expect(untimed(readFileSync(out, "utf8"))).toBe(untimed(`prefix\n${piped.stdout}`));
  expect(piped.stdout).toContain('"code": "REF_UPPERCASE"');
  const late = await sh(`"$BIN" check 'Bad!!' --json | (sleep 0.3; cat)`);
  expect(JSON.parse(late.stdout).findings[0].code).toBe("REF_UPPERCASE");
  const gone = await sh(`"$BIN" check 'Bad!!' --verbose | (exec 0<&-; true); echo "status=\${PIPESTATUS[0]}" >&2`);
  expect(gone.stderr.trim()).toBe("status=141");
});
