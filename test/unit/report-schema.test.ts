import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { CATALOGUE } from "../../src/model/catalogue/index";
import { finding } from "../../src/model/finding";
import { buildReport } from "../../src/model/report";
import { Secret } from "../../src/model/secret";
import { STAGE_IDS } from "../../src/model/stage";
import { expectValidReport } from "../helpers/schema";

const schema = JSON.parse(readFileSync(path.join(import.meta.dir, "../../docs/report.schema.json"), "utf8"));

test("the published schema lists exactly the catalogue's codes and the stage ids", () => {
  expect([...schema.$defs.code.enum].sort()).toEqual(Object.keys(CATALOGUE).sort());
  expect(schema.$defs.stageId.enum).toEqual([...STAGE_IDS]);
});

test("a built report validates, and a secret inside evidence does not survive", () => {
  const secret = new Secret("pw-in-evidence-42");
  const f = finding(
    "MANIFEST_UNKNOWN" as never,
    { repository: "a/b", reference: "1", registry: "r.example", closestTags: [], tags: [] } as never,
    { leaked: `Basic ${secret.reveal()}` },
  );
  const report = buildReport({
    command: "check",
    image: "r.example/a/b:1",
    platform: "linux/amd64",
    ref: {
      input: "r.example/a/b:1",
      registry: "r.example",
      repository: "a/b",
      tag: "1",
      digest: null,
      canonical: "r.example/a/b:1",
      familiar: "r.example/a/b:1",
    },
    stages: [
      {
        id: "manifest",
        endpoint: "https://r.example",
        status: "fail",
        durationMs: 3,
        summary: "x",
        evidence: { token: "abc", password: secret } as never,
      },
    ],
    findings: [{ ...f, endpoint: "https://r.example" }],
    verdict: { ok: false, code: "MANIFEST_UNKNOWN" as never, summary: "x" },
  });
  expectValidReport(report);
  const text = JSON.stringify(report);
  expect(text).not.toContain("pw-in-evidence-42");
  expect(text).not.toContain('"abc"');
});
