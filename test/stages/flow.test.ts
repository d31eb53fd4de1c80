import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import path from "node:path";
import { type FlowEvent, MAX_REMEDY_ROUNDS, runFlow } from "../../src/doctor/flow";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import type { Options } from "../../src/model/options";
import { MemoryTrace } from "../../src/model/trace";
import { tempDir, testDeps, testOptions } from "../helpers/context";

/** doctor/flow.ts on its own, against the lab registry: what check, pull and the interactive doctor share. */
let lab: LabRegistry;
const tmp = tempDir("pd-flow-");
beforeAll(async () => {
  lab = await startLabRegistry({ scenarios: true });
});
afterAll(async () => {
  await lab?.stop();
  tmp.cleanup();
});

const image = (id: string) => lab.scenarios.find((s) => s.id === id)!.image;
const opts = (id: string, over: Partial<Options> = {}) => testOptions({ image: image(id), insecureRegistries: [lab.host], ...over });
const deps = () => testDeps({ dir: tmp.dir, env: { PULLDOCTOR_STORE: path.join(tmp.dir, "store") } });

function flow(options: Options, hooks: Pick<Parameters<typeof runFlow>[0], "remedy" | "pullTo"> = {}) {
  const events: FlowEvent[] = [];
  const done = runFlow({ options, deps: deps(), trace: new MemoryTrace(), onEvent: (e) => void events.push(e), ...hooks });
  return { events, done };
}

test("check: the stages' events, no pull, the report of the diagnosis", async () => {
  const f = flow(opts("healthy"));
  const out = await f.done;
  if (out.cancelled) throw new Error("cancelled without a hook");
  expect(out.report.verdict.ok).toBe(true);
  expect(out.report.command).toBe("check");
  expect(out.pull).toBeNull();
  expect(f.events.filter((e) => e.type === "result").map((e) => e.type === "result" && e.result.id)).toEqual(
    out.report.stages.map((s) => s.id),
  );
  expect(f.events.some((e) => e.type === "pull-start" || e.type === "pull-progress")).toBe(false);
});

test("pull: after the diagnosis the pull starts, reports progress, and ends in its own stage result and the pull summary", async () => {
  const dest = path.join(tmp.dir, "healthy-layout");
  const f = flow(opts("healthy", { command: "pull", output: `oci:${dest}` }));
  const out = await f.done;
  if (out.cancelled) throw new Error("cancelled without a hook");
  const types = f.events.map((e) => e.type);
  expect(types.indexOf("pull-start")).toBeGreaterThan(types.lastIndexOf("start"));
  expect(types).toContain("pull-progress");
  const last = f.events.at(-1)!;
  expect(last.type === "result" && last.result.id).toBe("pull");
  expect(out.report.command).toBe("pull");
  expect(out.report.pull).toMatchObject({ output: expect.stringContaining(dest) });
  expect(existsSync(path.join(dest, "index.json"))).toBe(true);
});

test("pull with nothing to fetch: the pull stage is reported skipped, naming the diagnosis's error", async () => {
  const f = flow(opts("tag", { command: "pull", output: `oci:${path.join(tmp.dir, "never")}` }));
  const out = await f.done;
  if (out.cancelled) throw new Error("cancelled without a hook");
  const pull = out.report.stages.find((s) => s.id === "pull")!;
  expect(pull).toMatchObject({ status: "skip", evidence: { skippedBecause: "MANIFEST_UNKNOWN" } });
  expect(out.pull).toBeNull();
  expect(existsSync(path.join(tmp.dir, "never"))).toBe(false);
});

test("remedies: asked after each diagnosis with the current options, at most MAX_REMEDY_ROUNDS re-runs, then pullTo once", async () => {
  const asked: string[] = [];
  let pullTo = 0;
  const f = flow(opts("tag"), {
    remedy: async (run, options) => {
      asked.push(options.image!);
      expect(run.verdict.code).toBe("MANIFEST_UNKNOWN");
      return { options: { ...options, image: image("tag") }, from: "manifest" };
    },
    pullTo: async (run, report) => {
      pullTo++;
      expect(report.verdict.code).toBe(run.verdict.code);
      return null;
    },
  });
  const out = await f.done;
  expect(asked).toHaveLength(MAX_REMEDY_ROUNDS);
  expect(pullTo).toBe(1);
  // A re-run from the manifest stage reuses the earlier stages: only manifest and blob run again.
  const starts = f.events.filter((e) => e.type === "start").map((e) => e.type === "start" && e.stage);
  expect(starts.filter((s) => s === "reference")).toHaveLength(1);
  expect(starts.filter((s) => s === "manifest")).toHaveLength(MAX_REMEDY_ROUNDS + 1);
  expect(out.cancelled).toBe(false);
});

test("a remedy that fixes the image ends the questions; a hook's cancel cancels the flow", async () => {
  let rounds = 0;
  const fixed = flow(opts("tag"), {
    remedy: async (run, options) => {
      if (run.verdict.ok) return null;
      rounds++;
      return { options: { ...options, image: image("healthy") }, from: null };
    },
  });
  const out = await fixed.done;
  expect(rounds).toBe(1);
  if (out.cancelled) throw new Error("not cancelled");
  expect(out.options.image).toBe(image("healthy"));
  expect(out.report.verdict.ok).toBe(true);
  expect(await flow(opts("healthy"), { pullTo: async () => "cancel" }).done).toEqual({ cancelled: true });
  expect(await flow(opts("tag"), { remedy: async () => "cancel" }).done).toEqual({ cancelled: true });
});
