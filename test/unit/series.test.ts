import { expect, test } from "bun:test";
import { runDoctor, type StageEvent } from "../../src/doctor/run";
import type { Facts, ImageRef, ResolvedManifest } from "../../src/model/facts";
import type { Stage, StageContext, StageOutcome } from "../../src/model/stage";
import { MemoryTrace, type TraceEvent } from "../../src/model/trace";
import { testDeps, testOptions } from "../helpers/context";

/**
 * A stage that hands facts on before it ends (StageContext.handOn) has the next stage started
 * beside it: the manifest stage hands on the manifest while it still reads the config, so the
 * blob requests go out beside that read. Renderers and the trace still see the stages in order.
 */

const ref: ImageRef = {
  input: "r.example/app:1",
  registry: "r.example",
  repository: "app",
  tag: "1",
  digest: null,
  canonical: "r.example/app:1",
  familiar: "r.example/app:1",
};
const manifest = { digest: "sha256:m" } as ResolvedManifest;
const ok = (provides?: Partial<Facts>): StageOutcome => ({ summary: "ok", evidence: {}, findings: [], ...(provides ? { provides } : {}) });
const note = (ctx: StageContext, text: string) => ctx.trace.record({ kind: "note", text });

/** reference → manifest (its `body` after it has had the chance to hand on) → blob (which records what it saw). */
function stages(body: (ctx: StageContext) => Promise<StageOutcome>, blob: (ctx: StageContext) => Promise<StageOutcome>): Stage[] {
  return [
    { id: "reference", title: "reference", scope: "local", needs: [], run: async () => ok({ ref }) },
    { id: "manifest", title: "manifest", scope: "endpoint", needs: ["ref"], run: body },
    { id: "blob", title: "blob", scope: "endpoint", needs: ["manifest"], run: blob },
  ];
}

async function run(s: Stage[]) {
  const events: StageEvent[] = [];
  const trace = new MemoryTrace();
  const r = await runDoctor({ stages: s, options: testOptions(), deps: testDeps(), trace, onEvent: (e) => events.push(e) });
  const order = events.map((e) => (e.type === "plan" ? "plan" : `${e.type} ${e.type === "start" ? e.stage : e.result.id}`));
  const notes = trace.events.filter((e): e is Extract<TraceEvent, { kind: "note" }> => e.kind === "note").map((e) => e.text);
  return { r, order, notes };
}

test("the next stage starts with what was handed on, beside the rest of the stage; events and trace stay in stage order", async () => {
  let blobStarted: () => void = () => {};
  const started = new Promise<void>((resolve) => (blobStarted = resolve));
  const s = stages(
    async (ctx) => {
      ctx.handOn?.({ manifest });
      // Ends only once the blob stage has begun: run one after the other, this would never end.
      await started;
      note(ctx, "manifest: after the hand-on");
      return ok({ manifest: { ...manifest, platform: "linux/amd64" } });
    },
    async (ctx) => {
      note(ctx, "blob: started");
      blobStarted();
      return { ...ok(), summary: `saw ${ctx.facts.manifest?.digest}` };
    },
  );
  const { r, order, notes } = await Promise.race([run(s), Bun.sleep(2000).then(() => Promise.reject(new Error("serial: never ended")))]);
  expect(order).toEqual(["start reference", "result reference", "plan", "start manifest", "result manifest", "start blob", "result blob"]);
  expect(notes).toEqual(["manifest: after the hand-on", "blob: started"]);
  expect(r.stages.map((x) => `${x.id} ${x.status}`)).toEqual(["reference pass", "manifest pass", "blob pass"]);
  expect(r.stages[2]!.summary).toBe("saw sha256:m");
  // The endpoint's facts are the stages' final ones: the manifest as the manifest stage ended with it.
  expect(r.endpoints[0]!.facts.manifest?.platform).toBe("linux/amd64");
});

test("a stage that crashes after handing on: the early stage is not reported, and the next stage is skipped as before", async () => {
  let blobRuns = 0;
  const s = stages(
    async (ctx) => {
      ctx.handOn?.({ manifest });
      await Bun.sleep(5);
      throw new Error("boom");
    },
    async (ctx) => {
      blobRuns++;
      note(ctx, "blob: asked the registry");
      return ok();
    },
  );
  const { r, order, notes } = await run(s);
  expect(blobRuns).toBe(1);
  expect(r.crashed).toBe(true);
  expect(r.stages.map((x) => `${x.id} ${x.status}`)).toEqual(["reference pass", "manifest fail", "blob skip"]);
  expect(r.stages[2]!.summary).toContain("did not establish manifest");
  expect(order.filter((e) => e.endsWith("blob"))).toEqual(["start blob", "result blob"]);
  expect(notes).toEqual([]);
});

test("a hand-on the next stage cannot start from is ignored: it runs after, as usual", async () => {
  const seen: string[] = [];
  const s = stages(
    async (ctx) => {
      // The blob stage needs the manifest: a session alone does not start it.
      ctx.handOn?.({ session: { scheme: "none", authorize: async () => null, invalidate() {} } });
      seen.push("manifest ends");
      return ok({ manifest });
    },
    async () => {
      seen.push("blob runs");
      return ok();
    },
  );
  const { r } = await run(s);
  expect(seen).toEqual(["manifest ends", "blob runs"]);
  expect(r.stages.map((x) => x.status)).toEqual(["pass", "pass", "pass"]);
});
