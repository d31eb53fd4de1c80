import { afterAll, expect, test } from "bun:test";
import { demoCommand } from "../../src/cli/commands/demo";
import { runDoctor } from "../../src/doctor/run";
import { startLabRegistry } from "../../src/lab/server";
import { MemoryTrace } from "../../src/model/trace";
import { STAGES } from "../../src/stages/index";
import { memoryIo } from "../../src/ui/io";
import { tempDir, testDeps, testOptions } from "../helpers/context";
import { expectFindingsMatchEvidence } from "../helpers/finding-claims";
import { freePort } from "../peers/require";

const tmp = tempDir("pd-tour-");
afterAll(() => tmp.cleanup());

test("every demo scenario is diagnosed with the finding it was built for", async () => {
  const lab = await startLabRegistry({ scenarios: true });
  try {
    const deps = testDeps({ dir: tmp.dir });
    for (const s of lab.scenarios) {
      const host = s.image.split("/")[0]!;
      const trace = new MemoryTrace();
      const run = await runDoctor({ stages: STAGES, options: testOptions({ image: s.image, insecureRegistries: [host] }), deps, trace });
      const codes = run.findings.filter((f) => f.severity !== "info").map((f) => f.code as string);
      // No scenario's finding claims credentials its evidence shows were not sent.
      expectFindingsMatchEvidence(run.findings, trace);
      const crashed = run.stages.filter((r) => r.evidence.crash !== undefined).map((r) => `${r.id}: ${r.summary}`);
      expect({ scenario: s.id, crashed }).toEqual({ scenario: s.id, crashed: [] });
      if (s.expect === null) expect({ scenario: s.id, ok: run.verdict.ok, codes }).toMatchObject({ scenario: s.id, ok: true });
      else expect({ scenario: s.id, found: codes.includes(s.expect), codes }).toEqual({ scenario: s.id, found: true, codes });
    }
  } finally {
    await lab.stop();
  }
}, 60_000);

test("demo --tour runs every scenario offline and says each was diagnosed as expected", async () => {
  const io = memoryIo();
  const exit = await demoCommand(testOptions({ command: "demo", tour: true }), io, undefined, testDeps({ dir: tmp.dir }));
  const out = io.out.join("");
  expect(out).toContain("Tour done: 11/11 scenarios diagnosed as expected");
  expect(out).not.toContain("\u001b[");
  expect(exit).toBe(0);
}, 60_000);

test("demo lists every scenario with the command to try on --port, then stops cleanly", async () => {
  const io = memoryIo();
  let release!: () => void;
  const until = new Promise<void>((r) => (release = r));
  const port = await freePort();
  const done = demoCommand(testOptions({ command: "demo", port }), io, until);
  for (let i = 0; i < 50 && !io.out.join("").includes("--tour"); i++) await Bun.sleep(20);
  const out = io.out.join("");
  const url = /lab registry on (http:\/\/127\.0\.0\.1:\d+)/.exec(out)![1]!;
  expect(url).toBe(`http://127.0.0.1:${port}`);
  expect((await fetch(`${url}/v2/demo/app/tags/list`)).status).toBe(200);
  for (const id of ["healthy", "credentials", "tag", "rate-limit", "cdn", "platform", "not-registry"]) expect(out).toContain(id);
  expect(out).toMatch(/pulldoctor check 127\.0\.0\.1:\d+\/demo\/app:1\.O --insecure-registry 127\.0\.0\.1:\d+/);
  release();
  expect(await done).toBe(0);
  await expect(fetch(`${url}/v2/`)).rejects.toThrow();
});
