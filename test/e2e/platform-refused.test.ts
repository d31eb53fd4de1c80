import { afterAll, beforeAll, expect, test } from "bun:test";
import { createServer, type Server } from "node:net";
import { runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";

/**
 * A --platform that containerd's Parse refuses is misuse (exit 2) before any network, as
 * `docker pull --platform garbage` is: the registry is never contacted. A listener counts
 * every connection made to the would-be registry.
 */
let server: Server;
let port = 0;
let connections = 0;
let home: { dir: string; cleanup: () => void };

beforeAll(async () => {
  home = tempDir("pd-platform-");
  server = createServer((sock) => {
    connections++;
    sock.destroy();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  port = (server.address() as { port: number }).port;
});
afterAll(async () => {
  await new Promise<void>((resolve) => server.close(() => resolve()));
  home?.cleanup();
});

test.each([
  ["check", "garbage", `"garbage": unknown operating system or architecture`],
  ["pull", "garbage", `"garbage": unknown operating system or architecture`],
  ["check", "linux//x", `"" is an invalid component of "linux//x"`],
  ["check", "linux/*", `"linux/*": wildcards not yet supported`],
])("%s --platform %s: exit 2, no connection", async (command, platform, words) => {
  const before = connections;
  const args = [command, `127.0.0.1:${port}/some/repo:tag`, "--platform", platform, "--insecure-registry", `127.0.0.1:${port}`];
  const r = await runCli([...args, "--json", "--timeout", "3"], { home: home.dir });
  expect(r.stderr).toContain(`--platform takes OS/ARCH[/VARIANT]: ${words}`);
  expect(r.stdout).toBe("");
  expect(r.code).toBe(2);
  expect(connections).toBe(before);
});
