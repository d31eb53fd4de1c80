import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { type Recorder, startRecorder } from "../peers/recorder";

/**
 * The clients ask for a single-platform image's config and its layers at once (moby's
 * pullSchema2Layers, containerd's fetch handlers). The manifest stage reads the config for its
 * platform and hands the manifest on before that read ends, so the blob stage's layer request goes
 * out beside it: a round trip (a redirect chain, with a CDN) less on a link with latency. Only an
 * explicit --platform can still refuse the image then, so with one the layer waits for the config.
 * Checked through the binary against a registry that holds the config's answer until the layer
 * is asked for (or a timer ends).
 */

const img = buildImage({ label: "config-beside-layer" });
const configPath = `/v2/team/app/blobs/${img.config.digest}`;
const layerPaths = new Set(img.layers.map((l) => `/v2/team/app/blobs/${l.digest}`));
/** How long the config's answer waits for a layer request before it goes anyway. */
const HOLD_MS = 1500;
let home: { dir: string; cleanup: () => void };
let reg: Recorder;
let layerAsked: () => void = () => {};
let layerSeen: Promise<void>;
/** For the last config GET: whether a layer GET arrived while its answer was held. */
let layerCameFirst: boolean | null = null;

function expectLayer(): void {
  layerSeen = new Promise<void>((r) => (layerAsked = r));
  layerCameFirst = null;
}

beforeAll(() => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-config-beside-layer-");
  reg = startRecorder({
    registry: { image: img, repo: "team/app", tag: "1.0" },
    route: async (req, url) => {
      if (req.method !== "GET") return null;
      if (layerPaths.has(url.pathname)) layerAsked();
      if (url.pathname === configPath)
        layerCameFirst = await Promise.race([layerSeen.then(() => true), Bun.sleep(HOLD_MS).then(() => false)]);
      return null;
    },
  });
});
afterAll(() => {
  reg?.stop();
  home?.cleanup();
});

const gets = (path: string) => reg.seen.filter((s) => s.method === "GET" && s.path === path);

describe("the config and the layer at once", () => {
  test("without --platform: the layer is asked for while the config's answer is held; one GET of the config; the check passes", async () => {
    reg.seen.length = 0;
    expectLayer();
    const started = performance.now();
    const c = await checkCli(`${reg.host}/team/app:1.0`, [], { home: home.dir });
    expect(c.r.code).toBe(0);
    expect(layerCameFirst).toBe(true);
    expect(performance.now() - started).toBeLessThan(HOLD_MS);
    expect(gets(configPath)).toHaveLength(1);
    expect(c.stage("manifest").status).toBe("pass");
    expect(c.stage("manifest").evidence.configPlatform).toMatchObject({ os: "linux", architecture: "amd64" });
    expect(c.stage("blob").status).toBe("pass");
    expect(c.stage("blob").evidence.config).toMatchObject({ readBy: "manifest stage", verified: true });
    expect(c.stage("blob").evidence.layer).toMatchObject({ status: 206, verified: true });
    // The report keeps the stages in order, whichever answered first.
    expect(c.report.stages.map((s: { id: string }) => s.id).slice(-2)).toEqual(["manifest", "blob"]);
  });

  test("with --platform the image matches: the layer waits until the config has named the platform", async () => {
    reg.seen.length = 0;
    expectLayer();
    const c = await checkCli(`${reg.host}/team/app:1.0`, ["--platform", "linux/amd64"], { home: home.dir });
    expect(c.r.code).toBe(0);
    expect(layerCameFirst).toBe(false);
    expect(gets(configPath)).toHaveLength(1);
    expect(c.stage("blob").evidence.config).toMatchObject({ readBy: "manifest stage" });
  });

  test("with --platform the image does not match: PLATFORM_UNAVAILABLE, and no layer is asked for", async () => {
    reg.seen.length = 0;
    expectLayer();
    const c = await checkCli(`${reg.host}/team/app:1.0`, ["--platform", "linux/arm64"], { home: home.dir });
    expect(c.codesOf("manifest")).toEqual(["PLATFORM_UNAVAILABLE:error"]);
    expect(c.stage("blob").status).toBe("skip");
    expect(reg.seen.filter((s) => layerPaths.has(s.path))).toEqual([]);
  });
});
