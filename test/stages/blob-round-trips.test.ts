import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage, buildIndex } from "../../src/lab/image";
import type { ResolvedManifest } from "../../src/model/facts";
import type { StageOutcome } from "../../src/model/stage";
import { blobStage } from "../../src/stages/blob";
import { manifestStage } from "../../src/stages/manifest";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { blobResponse, type Recorder, startRecorder } from "../peers/recorder";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { loopbackRef, resolvedManifest, stageCtx } from "./manifest-facts";

/**
 * Round trips the blob stage does not make, or does not make one after the other. Docker fetches
 * an image's config once: the manifest stage reads a single-platform image's config whole for its
 * platform, and the blob stage judges that exchange instead of a second GET (an index names its
 * platforms, so there the blob stage's own GET is the only one). The config and the layer are
 * asked for at once, and a redirect host is probed while the GET to it goes out.
 */

const single = buildImage({ label: "blob-reuse" });
const amd = buildImage({ label: "reuse-amd64" });
const arm = buildImage({ label: "reuse-arm64", platform: { os: "linux", architecture: "arm64" } });
let reg: RegistryPeer;
let rec: Recorder;
let ignoresRange: Recorder;
let waitsForLayer: Recorder;
let lostConfig: Recorder;
let ca: CA;
let cdn: ReturnType<typeof Bun.serve>;
let toCdn: Recorder;
/** Set when a blob GET reached the CDN while its probe's HEAD /v2/ was still waiting on its connection. */
let probeOverlapped: boolean | null = null;
const configPath = `/v2/team/app/blobs/${single.config.digest}`;
const layerPath = `/v2/team/app/blobs/${single.layers[0]!.digest}`;
/** Set when the config's answer was held until the layer was asked for (not by the fallback timer). */
let layerCameFirst = false;

beforeAll(async () => {
  reg = await startRegistry();
  await pushImage(reg.url, "team/multi", "1.0", buildIndex([amd, arm]));
  rec = startRecorder({ registry: { image: single, repo: "team/app", tag: "1.0" } });
  // A registry (or a proxy in front of it) that answers a ranged GET of the config with the whole blob.
  ignoresRange = startRecorder({
    registry: { image: single, repo: "team/app", tag: "1.0" },
    route: (req, url) => (req.method === "GET" && url.pathname === configPath ? new Response(single.config.bytes) : null),
  });
  // Holds the config's answer until the layer's GET arrives: a blob stage asking one after the
  // other would wait for the 2 s fallback.
  let layerAsked: () => void = () => {};
  const layerSeen = new Promise<void>((r) => (layerAsked = r));
  waitsForLayer = startRecorder({
    registry: { image: single, repo: "team/app", tag: "1.0" },
    route: async (_req, url) => {
      if (url.pathname === layerPath) layerAsked();
      if (url.pathname === configPath) layerCameFirst = await Promise.race([layerSeen.then(() => true), Bun.sleep(2000).then(() => false)]);
      return null;
    },
  });
  // A CDN on another address, over TLS 1.3: the probe's HEAD /v2/ (which waits out a late
  // client-certificate alert) is held until a blob GET arrives.
  ca = makeCA("Round Trips CDN Root");
  const leaf = issueServerCert(ca, { cn: "127.0.0.2", sans: ["IP:127.0.0.2"] });
  let getArrived: () => void = () => {};
  const gets = new Promise<void>((r) => (getArrived = r));
  cdn = Bun.serve({
    hostname: "127.0.0.2",
    port: 0,
    tls: { cert: leaf.cert, key: leaf.key },
    async fetch(req) {
      const path = new URL(req.url).pathname;
      if (path === "/v2/") {
        // The probe gives up on an answer after two handshake times and closes: a GET that comes
        // only after the probe is done finds this connection closed first.
        const closed = new Promise<string>((r) => req.signal.addEventListener("abort", () => r("closed")));
        const first = await Promise.race([gets.then(() => "get"), closed, Bun.sleep(2000).then(() => "timer")]);
        probeOverlapped = first === "get";
        return new Response(null, { status: 200 });
      }
      const blob = [single.config, ...single.layers].find((b) => path === `/blobs/${b.digest}`);
      if (!blob) return new Response("not found", { status: 404 });
      getArrived();
      return blobResponse(req, blob.bytes);
    },
  });
  toCdn = startRecorder({
    registry: { image: single, repo: "team/app", tag: "1.0" },
    route: (_req, url) => {
      const digest = /^\/v2\/team\/app\/blobs\/(sha256:[0-9a-f]+)$/.exec(url.pathname)?.[1];
      return digest ? new Response(null, { status: 307, headers: { location: `https://127.0.0.2:${cdn.port}/blobs/${digest}` } }) : null;
    },
  });
  lostConfig = startRecorder({
    registry: { image: single, repo: "team/app", tag: "1.0" },
    route: (_req, url) =>
      url.pathname === configPath
        ? Response.json({ errors: [{ code: "BLOB_UNKNOWN", message: "blob unknown to registry" }] }, { status: 404 })
        : null,
  });
});
afterAll(async () => {
  rec?.stop();
  ignoresRange?.stop();
  waitsForLayer?.stop();
  lostConfig?.stop();
  toCdn?.stop();
  cdn?.stop(true);
  ca?.cleanup();
  await reg?.stop();
});

/** The manifest stage, then the blob stage with the manifest it established, as the doctor runs them. */
async function manifestThenBlob(base: string, repo: string): Promise<{ manifest: ResolvedManifest; blob: StageOutcome }> {
  const ref = loopbackRef(new URL(base).host, repo, "1.0");
  const m = await manifestStage.run(stageCtx(base, ref));
  const manifest = m.provides?.manifest as ResolvedManifest;
  expect(manifest).toBeDefined();
  const blob = await blobStage.run(stageCtx(base, ref, { facts: { manifest } }));
  return { manifest, blob };
}

describe("the config is fetched once", () => {
  test("single-platform image: one GET of the config reaches the registry; the blob stage judges the manifest stage's", async () => {
    rec.seen.length = 0;
    const { manifest, blob } = await manifestThenBlob(rec.url, "team/app");
    expect(rec.seen.filter((s) => s.path === configPath).map((s) => s.method)).toEqual(["GET"]);
    expect(await manifest.configRead).toMatchObject({ digest: single.config.digest, status: 206, bytes: single.config.bytes.length });
    expect(blob.findings).toEqual([]);
    const c = blob.evidence.config as Record<string, unknown>;
    expect(c).toMatchObject({
      readBy: "manifest stage",
      range: `bytes=0-${single.config.bytes.length - 1}`,
      status: 206,
      contentRange: `bytes 0-${single.config.bytes.length - 1}/${single.config.bytes.length}`,
      bytesRead: single.config.bytes.length,
      verified: true,
    });
    expect((c.hops as unknown[]).length).toBe(1);
    expect(blob.summary).toContain("(read by the manifest stage)");
    // The layer is still asked for by the blob stage itself.
    expect(rec.seen.some((s) => s.path === `/v2/team/app/blobs/${single.layers[0]!.digest}`)).toBe(true);
  });

  test("the Range ignored on that config (a 200 with the whole blob): BLOB_RANGE_UNSUPPORTED still, from that exchange", async () => {
    ignoresRange.seen.length = 0;
    const { blob } = await manifestThenBlob(ignoresRange.url, "team/app");
    expect(ignoresRange.seen.filter((s) => s.path === configPath)).toHaveLength(1);
    expect(blob.findings.map((f) => `${f.code}:${f.severity}`)).toEqual(["BLOB_RANGE_UNSUPPORTED:warning"]);
    expect(blob.findings[0]!.evidence).toMatchObject({ config: { readBy: "manifest stage", status: 200, verified: true } });
  });

  test("an index: the manifest stage reads no config, the blob stage GETs it itself (a real docker-registry)", async () => {
    const { manifest, blob } = await manifestThenBlob(reg.url, "team/multi");
    expect(manifest.index).not.toBeNull();
    expect(manifest.configRead).toBeUndefined();
    expect(blob.findings).toEqual([]);
    const c = blob.evidence.config as Record<string, unknown>;
    expect(c.readBy).toBeUndefined();
    expect(c).toMatchObject({ status: 206, verified: true });
    expect(blob.summary).not.toContain("read by the manifest stage");
  });
});

describe("the config and the layer are asked for at once, as moby fetches the config beside the layers", () => {
  const blobOnly = (base: string) =>
    blobStage.run(stageCtx(base, loopbackRef(new URL(base).host, "team/app", "1.0"), { facts: { manifest: resolvedManifest(single) } }));

  test("the config's answer waits for the layer's request, and the stage still passes", async () => {
    const out = await blobOnly(waitsForLayer.url);
    expect(layerCameFirst).toBe(true);
    expect(out.findings).toEqual([]);
    expect(out.evidence.config).toMatchObject({ status: 206, verified: true });
    expect(out.evidence.layer).toMatchObject({ status: 206, verified: true });
    expect(out.summary.startsWith("config ")).toBe(true);
  });

  test("a lost config: its BLOB_UNKNOWN alone, and no layer evidence, as when the layer came after", async () => {
    const out = await blobOnly(lostConfig.url);
    expect(out.findings.map((f) => f.code)).toEqual(["BLOB_UNKNOWN"]);
    expect(out.evidence.config).toMatchObject({ status: 404 });
    expect(out.evidence.layer).toBeUndefined();
    expect(out.summary).not.toContain("layer");
  });
});

describe("a redirect host is probed while the GET to it goes out", () => {
  test("a blob GET reaches the CDN while the CDN's TLS probe still waits on its connection; the probe's evidence is kept", async () => {
    const ref = loopbackRef(toCdn.host, "team/app", "1.0");
    const out = await blobStage.run(stageCtx(toCdn.url, ref, { facts: { manifest: resolvedManifest(single) } }));
    expect(probeOverlapped).toBe(true);
    expect(out.findings).toEqual([]);
    const hops = (out.evidence.config as { hops: Record<string, any>[] }).hops;
    expect(hops.map((h) => [h.status, h.authorization])).toEqual([
      [307, false],
      [206, false],
    ]);
    expect(hops[1]!.tcp[0]).toMatchObject({ address: "127.0.0.2", ok: true });
    expect(hops[1]!.tls).toBeDefined();
    expect(out.evidence.layer).toMatchObject({ status: 206, verified: true, servedBy: `127.0.0.2:${cdn.port}` });
  });
});
