import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildImage, buildIndex } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import type { Credential, Facts } from "../../src/model/facts";
import { Secret } from "../../src/model/secret";
import { authStage } from "../../src/stages/auth";
import { blobStage } from "../../src/stages/blob";
import { manifestStage } from "../../src/stages/manifest";
import { v2Stage } from "../../src/stages/v2";
import { loopbackRef, stageCtx } from "./manifest-facts";

/**
 * The manifest and blob stages with the session the real v2 and auth stages establish
 * against a token-auth registry (the lab's token server): Bearer tokens for
 * repository:NAME:pull, and a registry that refuses requests without them.
 */
const amd = buildImage({ label: "auth-amd64" });
const arm = buildImage({ label: "auth-arm64", platform: { os: "linux", architecture: "arm64" } });
let lab: LabRegistry;
beforeAll(async () => {
  lab = await startLabRegistry();
  lab.addImage("private/app", "1.0", buildIndex([amd, arm]), [{ kind: "auth-required", username: "alice", password: "s3cret-pw" }]);
});
afterAll(async () => {
  await lab?.stop();
});

const credential: Credential = { source: "--username", lookupKey: "", username: "alice", password: new Secret("s3cret-pw") };

async function factsThroughAuth(repo: string, tag: string): Promise<Facts> {
  const ref = loopbackRef(lab.host, repo, tag);
  let facts: Facts = stageCtx(lab.url, ref, { facts: { credential: { ...credential, lookupKey: lab.host } } }).facts as Facts;
  for (const stage of [v2Stage, authStage]) {
    const out = await stage.run(stageCtx(lab.url, ref, { facts }));
    // Warnings allowed (AUTH_BASIC_OVER_HTTP: the lab's token realm is plain http); no error.
    expect({ stage: stage.id, errors: out.findings.filter((f) => f.severity === "error").map((f) => f.code) }).toEqual({
      stage: stage.id,
      errors: [],
    });
    facts = { ...facts, ...out.provides };
  }
  return facts;
}

test("with the auth stage's Bearer session: the index resolves for linux/arm64 and the blobs answer", async () => {
  const facts = await factsThroughAuth("private/app", "1.0");
  expect(facts.session!.scheme).toBe("bearer");
  const ref = facts.ref!;
  const m = await manifestStage.run(stageCtx(lab.url, ref, { facts, options: { platform: "linux/arm64" } }));
  expect(m.findings).toEqual([]);
  expect(m.provides!.manifest!.image.digest).toBe(arm.digest);
  const b = await blobStage.run(stageCtx(lab.url, ref, { facts: { ...facts, ...m.provides } }));
  expect(b.findings).toEqual([]);
  expect((b.evidence.config as any).status).toBe(206);
  expect((b.evidence.config as any).hops[0].authorization).toBe(true);
  // The token itself is never in the evidence.
  const token = (await facts.session!.authorize())!.reveal();
  expect(JSON.stringify([m.evidence, b.evidence, m.summary, b.summary])).not.toContain(token.replace(/^Bearer /, ""));
});

test("a missing tag behind auth: MANIFEST_UNKNOWN with closest tags (tags/list with the same token)", async () => {
  const facts = await factsThroughAuth("private/app", "1.1");
  const out = await manifestStage.run(stageCtx(lab.url, facts.ref!, { facts }));
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNKNOWN"]);
  expect(out.findings[0]!.evidence.closestTags).toEqual(["1.0"]);
});
