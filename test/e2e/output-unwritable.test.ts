import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { BINARY, pinClient, requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { requireBinary } from "../peers/require";

/**
 * `pull --output` onto a place nothing can be created in (/proc, a path through a file, a
 * read-only mount): refused through the compiled binary as misuse, exit 2, before any network
 * (a listener counts the connections: none), never as PULL_NO_SPACE ("0.0 MiB free").
 */
let work: { dir: string; cleanup: () => void };
let listener: Bun.TCPSocketListener<undefined>;
let connections = 0;
let image: string;

beforeAll(() => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-output-unwritable-");
  listener = Bun.listen({
    hostname: "127.0.0.1",
    port: 0,
    socket: {
      open(s) {
        connections++;
        s.end();
      },
      data() {},
    },
  });
  image = `127.0.0.1:${listener.port}/team/app:1.0`;
});
afterAll(() => {
  listener?.stop(true);
  work?.cleanup();
});

const flags = () => ["--daemon-config", path.join(work.dir, "none.json"), "--certs-dir", path.join(work.dir, "certs.d"), "--timeout", "5"];

test("oci:/proc/x, docker-archive:/proc/x.tar and a layout under a file: exit 2, said before any network, for one image and for -f", async () => {
  const file = path.join(work.dir, "plain-file");
  writeFileSync(file, "x");
  const compose = path.join(work.dir, "compose.yaml");
  writeFileSync(compose, `services:\n  a:\n    image: ${image}\n`);
  const cases: [string, string][] = [
    ["oci:/proc/x", "nothing can be created in /proc (ENOENT"],
    ["docker-archive:/proc/x.tar", "nothing can be created in /proc (ENOENT"],
    [`oci:${file}/layout`, `nothing can be created in ${file} (ENOTDIR: not a directory)`],
  ];
  for (const [output, says] of cases)
    for (const args of [
      ["pull", image],
      ["pull", "-f", compose],
    ]) {
      const r = await runCli([...args, "--output", output, ...flags()], { home: work.dir });
      expect([args[1], output, r.code]).toEqual([args[1]!, output, 2]);
      expect(r.stderr).toStartWith(`pulldoctor: --output ${output}: ${says}`);
      expect(r.stderr).toContain("choose a writable place");
      expect(r.stdout + r.stderr).not.toContain("PULL_NO_SPACE");
      expect(r.stdout).toBe("");
    }
  expect(connections).toBe(0);
}, 60_000);

test("a read-only mount (EROFS): refused before any network, and the probe leaves nothing behind in a writable place", async () => {
  const unshare = requireBinary("unshare", "util-linux");
  const ro = path.join(work.dir, "ro");
  mkdirSync(ro);
  // A private mount namespace: the read-only tmpfs is seen by this one process only.
  const args = pinClient(["pull", image, "--output", `oci:${ro}/images/app`, ...flags()]);
  const sh = `mount -t tmpfs -o ro pd-ro "$0" && exec "$@"`;
  const p = Bun.spawn([unshare, "-m", "sh", "-c", sh, ro, BINARY, ...args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work.dir, NO_COLOR: "1" },
    stdout: "pipe",
    stderr: "pipe",
  });
  const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  expect(err).toBe(
    `pulldoctor: --output oci:${ro}/images/app: nothing can be created in ${ro} (EROFS: a read-only file system); choose a writable place\n`,
  );
  expect(code).toBe(2);
  expect(out).toBe("");
  expect(connections).toBe(0);

  // Writable: the check passes on to the network (the listener hangs up), and its probe is gone.
  const ok = path.join(work.dir, "writable");
  mkdirSync(ok);
  const r = await runCli(["pull", image, "--output", `oci:${ok}/app`, ...flags()], { home: work.dir });
  expect(r.code).toBe(1);
  expect(connections).toBeGreaterThan(0);
  expect(readdirSync(ok)).toEqual([]);
}, 60_000);
