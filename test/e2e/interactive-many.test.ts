import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { BINARY, requireBuiltBinary, Terminal } from "../peers/tmux";

/**
 * `pulldoctor -f FILE` in a real terminal (tmux) through the compiled binary against a
 * docker-registry: the table, the offer, the pull; the table is printed once, not again after the pull.
 */
let reg: RegistryPeer;
let work: { dir: string; cleanup: () => void };

beforeAll(async () => {
  requireBuiltBinary();
  work = tempDir("pd-e2e-interactive-many-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/a", "1.0", buildImage({ label: "tty-many-a" }));
  await pushImage(reg.url, "team/b", "2.0", buildImage({ label: "tty-many-b" }));
});
afterAll(async () => {
  await reg?.stop();
  work?.cleanup();
});

test("after pulling, the table is not printed a second time", async () => {
  const file = path.join(work.dir, "compose.yaml");
  writeFileSync(file, `services:\n  a:\n    image: ${reg.host}/team/a:1.0\n  b:\n    image: ${reg.host}/team/b:2.0\n`);
  const out = path.join(work.dir, "layout");
  const env = {
    PATH: process.env.PATH ?? "/usr/bin:/bin",
    HOME: work.dir,
    TERM: "xterm-256color",
    LANG: "C.UTF-8",
    PULLDOCTOR_STORE: path.join(work.dir, "store"),
  };
  const argv = [BINARY, "-f", file, "--output", `oci:${out}`, "--daemon-config", path.join(work.dir, "none.json")];
  const t = Terminal.start([...argv, "--certs-dir", path.join(work.dir, "certs.d"), "--timeout", "10"], { env, cwd: work.dir });
  try {
    await t.waitFor("Pull these 2 images now?", 30_000);
    t.keys("Enter");
    await t.waitFor("Where to?");
    t.keys("Enter");
    expect(await t.exitCode(30_000)).toBe(0);
    const screen = t.screen();
    expect(screen).toContain(`✔ 2 images written to oci:${out}`);
    expect(screen.match(/^VERDICT +CODE +IMAGE +FROM/gm)?.length).toBe(1);
    expect(screen.match(/2 of 2 images should pull\./g)?.length).toBe(1);
    expect(screen).toMatch(/pulled \S+team\/a:1\.0/);
  } finally {
    t.kill();
  }
  expect(existsSync(path.join(out, "index.json"))).toBe(true);
}, 60_000);
