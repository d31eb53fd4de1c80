import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { SECTIONS } from "../../src/model/catalogue/index";
import type { Facts } from "../../src/model/facts";
import { authStage } from "../../src/stages/auth";
import { blobStage } from "../../src/stages/blob";
import { manifestStage } from "../../src/stages/manifest";
import { v2Stage } from "../../src/stages/v2";
import { loopbackRef, stageCtx } from "./manifest-facts";

/**
 * `pulldoctor demo`'s scenarios that name a manifest or blob finding: v2 → auth → manifest
 * → blob as a run does, against the lab registry (token auth, anonymous). Each scenario's
 * promised code must come out, and the healthy one must pass both stages.
 */
let lab: LabRegistry;
beforeAll(async () => {
  lab = await startLabRegistry({ scenarios: true });
});
afterAll(async () => {
  await lab?.stop();
});

const mine = new Set([...Object.keys(SECTIONS.manifest), ...Object.keys(SECTIONS.blob)]);

async function walk(image: string): Promise<string[]> {
  const m = /^([^/]+)\/(.+):([^:]+)$/.exec(image)!;
  const ref = loopbackRef(m[1]!, m[2]!, m[3]!);
  let facts: Facts = stageCtx(lab.url, ref).facts as Facts;
  const codes: string[] = [];
  for (const stage of [v2Stage, authStage, manifestStage, blobStage]) {
    if (stage.needs.some((k) => facts[k] === undefined)) break;
    const out = await stage.run(stageCtx(lab.url, ref, { facts, options: { timeoutMs: 1500 } }));
    codes.push(...out.findings.map((f) => f.code));
    facts = { ...facts, ...out.provides };
  }
  return codes;
}

describe("lab scenarios through the manifest and blob stages", () => {
  test("there are scenarios for this area", () => {
    expect(lab.scenarios.filter((s) => s.expect && mine.has(s.expect)).length).toBeGreaterThanOrEqual(6);
  });
  test("healthy: no manifest or blob finding", async () => {
    const s = lab.scenarios.find((x) => x.id === "healthy")!;
    const codes = await walk(s.image);
    expect(codes.filter((c) => mine.has(c))).toEqual([]);
  });
  test.each(["tag", "name", "rate-limit", "rate-low", "cdn", "platform", "slow", "digest"])("%s", async (id) => {
    const s = lab.scenarios.find((x) => x.id === id)!;
    expect(mine.has(s.expect!)).toBe(true);
    const codes = await walk(s.image);
    expect(codes).toContain(s.expect!);
  });
});
