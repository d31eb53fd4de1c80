import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage, MT } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { type Recorder, startRecorder } from "../peers/recorder";

/**
 * A client sends one HEAD of the tag per pull. The auth stage's HEAD (Docker's Accept list) is
 * judged by the manifest stage as its own when the registry answered it 200; otherwise the
 * manifest stage asks itself, with schema 1 added at q=0.5 so a tag that has only a schema 1
 * manifest shows it. Checked through the binary against recording registries.
 */

const img = buildImage({ label: "one-head" });
const enc = (s: string) => new TextEncoder().encode(s);
const schema1 = enc(
  JSON.stringify({ schemaVersion: 1, name: "old/app", tag: "1.0", architecture: "amd64", fsLayers: [], history: [], signatures: [] }),
);
let home: { dir: string; cleanup: () => void };
let healthy: Recorder;
let onlySchema1: Recorder;

beforeAll(() => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-one-head-");
  healthy = startRecorder({ registry: { image: img, repo: "team/app", tag: "1.0" } });
  // Has only a schema 1 manifest: a 404 unless the Accept list names schema 1 (as Docker Hub answered old images).
  onlySchema1 = startRecorder({
    route: (req, url) => {
      if (url.pathname === "/v2/") return Response.json({}, { headers: { "docker-distribution-api-version": "registry/2.0" } });
      if (url.pathname !== "/v2/old/app/manifests/1.0") return null;
      if (!(req.headers.get("accept") ?? "").includes(MT.schema1Signed))
        return Response.json({ errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }] }, { status: 404 });
      return new Response(req.method === "HEAD" ? null : schema1, {
        headers: { "content-type": MT.schema1Signed, "content-length": String(schema1.length) },
      });
    },
  });
});
afterAll(() => {
  healthy?.stop();
  onlySchema1?.stop();
  home?.cleanup();
});

const heads = (r: Recorder, path: string) => r.seen.filter((s) => s.method === "HEAD" && s.path === path);

describe("one HEAD of the tag per check", () => {
  test("a 200 to the auth stage's HEAD is the manifest stage's HEAD: the registry sees one, the check passes", async () => {
    healthy.seen.length = 0;
    const c = await checkCli(`${healthy.host}/team/app:1.0`, [], { home: home.dir });
    expect(c.r.code).toBe(0);
    expect(heads(healthy, "/v2/team/app/manifests/1.0")).toHaveLength(1);
    expect(c.stage("manifest").status).toBe("pass");
    expect(c.stage("manifest").evidence.head).toMatchObject({
      method: "HEAD",
      status: 200,
      sentBy: expect.stringContaining("the auth stage"),
    });
  });

  test("a 404 to it (Docker's Accept, a schema-1-only tag): the manifest stage asks with schema 1 and finds MANIFEST_SCHEMA1", async () => {
    onlySchema1.seen.length = 0;
    const c = await checkCli(`${onlySchema1.host}/old/app:1.0`, [], { home: home.dir });
    expect(c.codesOf("manifest")).toContain("MANIFEST_SCHEMA1:error");
    const sent = heads(onlySchema1, "/v2/old/app/manifests/1.0").map((s) => s.headers.accept ?? "");
    expect(sent).toHaveLength(2);
    expect(sent[0]).not.toContain(MT.schema1Signed);
    expect(sent[1]).toContain(`${MT.schema1Signed};q=0.5`);
    expect(c.stage("manifest").evidence.head.sentBy).toBeUndefined();
  });
});
