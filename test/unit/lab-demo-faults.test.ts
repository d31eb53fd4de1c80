import { expect, test } from "bun:test";
import { parseArgs } from "../../src/cli/args";
import { demoCommand } from "../../src/cli/commands/demo";
import { FAULTS } from "../../src/lab/fault-catalogue";
import { memoryIo } from "../../src/ui/io";
import { testOptions } from "../helpers/context";
import { freePort } from "../peers/require";

test("demo --faults: every named fault (both groups) is listed with its title and a command, and served at fault/<name> until Ctrl-C", async () => {
  const parsed = parseArgs(["demo", "--faults"]);
  expect(parsed.ok && parsed.options.faults).toBe(true);
  const io = memoryIo();
  let release!: () => void;
  const until = new Promise<void>((r) => (release = r));
  const port = await freePort();
  const done = demoCommand(testOptions({ command: "demo", port, faults: true }), io, until);
  for (let i = 0; i < 250 && !io.out.join("").includes(FAULTS.at(-1)?.name ?? "\u0000"); i++) await Bun.sleep(20);
  const out = io.out.join("");
  expect(out).toContain(`named faults`);
  expect(out).not.toContain("not served");
  for (const f of FAULTS) {
    expect(out).toContain(`  ${f.name}  `);
    expect(out).toContain(f.title);
  }
  // The transfer faults live on the lab itself (or point at listeners they started).
  for (const f of FAULTS.filter((x) => x.group === "transfer" && x.name !== "blob-https-to-http")) {
    const line = out.split("\n").find((l) => l.includes(`/fault/${f.name}:latest`));
    expect({ name: f.name, line: line !== undefined }).toEqual({ name: f.name, line: true });
    expect(line).toMatch(/pulldoctor (check|pull) 127\.0\.0\.1:\d+\/fault\/\S+ --insecure-registry 127\.0\.0\.1:\d+/);
    // The outcomes listed are classic Docker's: the command must judge as it on any host.
    expect(line).toMatch(/\S --client docker --docker-store classic --timeout 3/);
    const tags = await fetch(`http://127.0.0.1:${port}/v2/fault/${f.name}/tags/list`);
    expect([200, 401]).toContain(tags.status);
    await tags.arrayBuffer();
  }
  // A warning is said to be one: the run passes with it.
  expect(out).toContain("check: BLOB_FETCH_FAILED (warning; exit 0); pull: BLOB_FETCH_FAILED (warning; exit 0)");
  release();
  expect(await done).toBe(0);
  await expect(fetch(`http://127.0.0.1:${port}/v2/`)).rejects.toThrow();
}, 30_000);

test("plain demo serves the faults too and says how to list them", async () => {
  const io = memoryIo();
  let release!: () => void;
  const until = new Promise<void>((r) => (release = r));
  const done = demoCommand(testOptions({ command: "demo" }), io, until);
  for (let i = 0; i < 250 && !io.out.join("").includes("demo --faults"); i++) await Bun.sleep(20);
  expect(io.out.join("")).toContain(`${FAULTS.length} named faults are served too`);
  release();
  expect(await done).toBe(0);
}, 30_000);
