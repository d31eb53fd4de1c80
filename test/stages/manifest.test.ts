import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { CONTAINERD_BEHAVIOUR } from "../../src/clients/containerd";
import { buildImage, buildIndex, MT, sha256 } from "../../src/lab/image";
import type { ClientWire } from "../../src/model/facts";
import { manifestStage } from "../../src/stages/manifest";
import { pushImage } from "../helpers/push";
import { type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { loopbackRef, stageCtx } from "./manifest-facts";

let reg: RegistryPeer;
let nginx: NginxPeer;
let front = "";
const amd = buildImage({ label: "amd64" });
const arm = buildImage({ label: "arm64", platform: { os: "linux", architecture: "arm64" } });
const dAmd = buildImage({ label: "d-amd64", format: "docker" });
const dArm = buildImage({ label: "d-armv7", format: "docker", platform: { os: "linux", architecture: "arm", variant: "v7" } });
const index = buildIndex([amd, arm]);
const dockerList = buildIndex([dAmd, dArm], "docker");
const helm = buildImage({
  label: "chart",
  configMediaType: "application/vnd.cncf.helm.config.v1+json",
  configBytes: new TextEncoder().encode('{"name":"app","version":"1.0.0"}'),
});

beforeAll(async () => {
  reg = await startRegistry();
  for (const tag of ["1.0", "1.1", "2.0-alpine", "latest"]) await pushImage(reg.url, "team/app", tag, amd);
  await pushImage(reg.url, "multi/app", "1.0", index);
  await pushImage(reg.url, "dlist/app", "1.0", dockerList);
  await pushImage(reg.url, "charts/app", "1.0.0", helm);
  await pushImage(reg.url, "low/app", "1.0", amd);
  await pushImage(reg.url, "limited/app", "1.0", amd);
  await pushImage(reg.url, "getlimited/app", "1.0", amd);
  const port = await freePort();
  front = `http://127.0.0.1:${port}`;
  const rl = `add_header ratelimit-limit "100;w=21600" always; add_header docker-ratelimit-source "203.0.113.7" always;`;
  nginx = await startNginx({
    httpBlock: `
  server {
    listen 127.0.0.1:${port};
    location /v2/limited/ {
      ${rl}
      add_header ratelimit-remaining "0;w=21600" always;
      add_header Retry-After "3600" always;
      default_type application/json;
      return 429 '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit"}]}';
    }
    location /v2/low/ {
      ${rl}
      add_header ratelimit-remaining "3;w=21600" always;
      add_header Warning '299 - "this repository is deprecated"' always;
      proxy_pass http://127.0.0.1:${reg.port};
    }
    location /v2/plain429/ { return 429; }
    location /v2/getlimited/ {
      ${rl}
      add_header ratelimit-remaining "0;w=21600" always;
      if ($request_method = GET) { return 429 '{"errors":[{"code":"TOOMANYREQUESTS","message":"You have reached your pull rate limit."}]}'; }
      proxy_pass http://127.0.0.1:${reg.port};
    }
    location / { proxy_pass http://127.0.0.1:${reg.port}; }
  }`,
  });
});
afterAll(async () => {
  await nginx?.stop();
  await reg?.stop();
});

const host = () => `127.0.0.1:${reg.port}`;
const run = (base: string, repo: string, tag: string | null, o: Parameters<typeof stageCtx>[2] = {}, digest: string | null = null) =>
  manifestStage.run(stageCtx(base, loopbackRef(new URL(base).host, repo, tag, digest), o));

describe("manifest stage against a real docker-registry", () => {
  test("single-platform OCI image: digest, media type, layers, raw bytes", async () => {
    const out = await run(reg.url, "team/app", "1.0");
    expect(out.findings).toEqual([]);
    const m = out.provides!.manifest!;
    expect(m.digest).toBe(amd.digest);
    expect(m.index).toBeNull();
    expect(m.image.mediaType).toBe(MT.ociManifest);
    expect(sha256(m.image.raw)).toBe(amd.digest);
    expect(m.image.config.digest).toBe(amd.config.digest);
    expect(m.image.layers.map((l) => l.digest)).toEqual(amd.layers.map((l) => l.digest));
    expect((out.evidence.head as any).status).toBe(200);
    expect((out.evidence.head as any).dockerContentDigest).toBe(amd.digest);
  });

  test("OCI index: picks the wanted platform as containerd does (arm64/v8 ≡ arm64)", async () => {
    const out = await run(reg.url, "multi/app", "1.0", { options: { platform: "linux/arm64/v8" } });
    expect(out.findings).toEqual([]);
    const m = out.provides!.manifest!;
    expect(m.index).toEqual({ digest: index.digest, mediaType: MT.ociIndex, platforms: ["linux/amd64", "linux/arm64"] });
    expect(m.image.digest).toBe(arm.digest);
    expect(m.platform).toBe("linux/arm64");
  });

  test("host platform is the default", async () => {
    const out = await run(reg.url, "multi/app", "1.0", { deps: { hostPlatform: { os: "linux", architecture: "amd64" } } });
    expect(out.provides!.manifest!.image.digest).toBe(amd.digest);
  });

  test("Docker schema2 list: linux/arm/v6 is not served by an arm/v7 entry → PLATFORM_UNAVAILABLE", async () => {
    const ok = await run(reg.url, "dlist/app", "1.0", { options: { platform: "linux/arm/v7" } });
    expect(ok.provides!.manifest!.image.digest).toBe(dArm.digest);
    expect(ok.provides!.manifest!.image.mediaType).toBe(MT.dockerManifest);
    const out = await run(reg.url, "dlist/app", "1.0", { options: { platform: "linux/arm/v6" } });
    expect(out.findings.map((f) => f.code)).toEqual(["PLATFORM_UNAVAILABLE"]);
    expect(out.findings[0]!.evidence.platforms).toEqual(["linux/amd64", "linux/arm/v7"]);
    expect(out.findings[0]!.detail).toBe(
      `${host()}/dlist/app:1.0: no matching manifest for linux/arm/v6 in the manifest list entries; the index offers linux/amd64, linux/arm/v7`,
    );
    // One pull line with the alternatives, and a build line for the platform asked for (not a fixed amd64/arm64 pair).
    expect(out.findings[0]!.fixes.slice(0, 2)).toEqual([
      `Pull a platform the image offers (runs under emulation if it differs from the host): docker pull --platform linux/amd64 ${host()}/dlist/app:1.0 (also offered: linux/arm/v7)`,
      "Build and push the image for this platform too: docker buildx build --platform linux/amd64,linux/arm/v7,linux/arm/v6 --push …",
    ]);
    expect(out.provides).toBeUndefined();
  });

  test("invalid --platform gives containerd's parse error", async () => {
    const out = await run(reg.url, "multi/app", "1.0", { options: { platform: "linux/arm/foo/bar" } });
    expect(out.findings[0]!.code).toBe("PLATFORM_UNAVAILABLE");
    expect(out.findings[0]!.detail).toContain('"linux/arm/foo/bar": cannot parse platform specifier: invalid argument');
  });

  test("single-platform image: the config names its platform; an explicit --platform it does not satisfy is refused as Docker does", async () => {
    const ok = await run(reg.url, "team/app", "1.0", { deps: { hostPlatform: { os: "linux", architecture: "arm64" } } });
    expect(ok.findings).toEqual([]);
    expect(ok.provides!.manifest!.platform).toBe("linux/amd64");
    expect(ok.evidence.configPlatform).toEqual({ os: "linux", architecture: "amd64", variant: null });
    const out = await run(reg.url, "team/app", "1.0", { options: { platform: "linux/arm64" } });
    expect(out.findings.map((f) => f.code)).toEqual(["PLATFORM_UNAVAILABLE"]);
    expect(out.findings[0]!.detail).toBe(`${host()}/team/app:1.0 is a single-platform image for linux/amd64, not linux/arm64`);
    expect(out.findings[0]!.evidence.platforms).toEqual(["linux/amd64"]);
  });

  test("missing tag → MANIFEST_UNKNOWN with the closest existing tags", async () => {
    const out = await run(reg.url, "team/app", "1.2");
    expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNKNOWN"]);
    const f = out.findings[0]!;
    expect(f.evidence.closestTags).toEqual(["1.1", "1.0"]);
    expect((f.evidence.get as any).errors[0].code).toBe("MANIFEST_UNKNOWN");
    expect((f.evidence.head as any).status).toBe(404);
    expect(f.fixes[0]).toContain(`${host()}/team/app:1.1`);
    // The registry speaks plain HTTP: the commands must too (https:// here never answered).
    expect(f.fixes[1]).toBe(
      `List the tags: skopeo list-tags --tls-verify=false docker://${host()}/team/app (it fetches the token; on an open registry: curl -s http://${host()}/v2/team/app/tags/list)`,
    );
  });

  test("missing repository → NAME_UNKNOWN (tags/list tells it apart)", async () => {
    const out = await run(reg.url, "nosuch/repo", "1.0");
    expect(out.findings.map((f) => f.code)).toEqual(["NAME_UNKNOWN"]);
    expect((out.findings[0]!.evidence.tagsList as any).answer).toBe("no-repository");
    expect(out.findings[0]!.fixes).toContain(`List the repositories if the registry allows it: curl -s http://${host()}/v2/_catalog`);
  });

  test("Helm chart artifact → MANIFEST_UNSUPPORTED_MEDIA_TYPE naming helm", async () => {
    const out = await run(reg.url, "charts/app", "1.0.0");
    expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNSUPPORTED_MEDIA_TYPE"]);
    expect(out.findings[0]!.detail).toContain("Helm chart");
    expect(out.findings[0]!.fixes[0]).toContain(`helm pull oci://${host()}/charts/app:1.0.0`);
  });

  test("a pinned digest that exists resolves; one the repository lacks is MANIFEST_UNKNOWN", async () => {
    const ok = await run(reg.url, "team/app", null, {}, amd.digest);
    expect(ok.findings).toEqual([]);
    const missing = `sha256:${"0".repeat(64)}`;
    const out = await run(reg.url, "team/app", null, {}, missing);
    expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNKNOWN"]);
    expect(out.findings[0]!.evidence.closestTags).toEqual([]);
  });
});

describe("manifest stage behind nginx (rate limits)", () => {
  test("429 TOOMANYREQUESTS with ratelimit headers → RATE_LIMITED with window and Retry-After", async () => {
    const out = await run(front, "limited/app", "1.0");
    expect(out.findings.map((f) => f.code)).toEqual(["RATE_LIMITED"]);
    const f = out.findings[0]!;
    expect(f.evidence.rateLimit).toMatchObject({
      limit: 100,
      limitWindowSeconds: 21600,
      remaining: 0,
      source: "203.0.113.7",
      retryAfterSeconds: 3600,
    });
    expect(f.detail).toContain("You have reached your pull rate limit");
    expect(f.detail).toContain("limit 100 per 6 h");
    expect(f.fixes.join("\n")).toContain("Wait 1 h");
    expect(f.fixes.join("\n")).toContain(`docker login ${new URL(front).host}`);
  });

  test("judged as containerd: RATE_LIMITED says it re-sends the 429 at once, not after Retry-After", async () => {
    const wire = { label: "containerd (ctr, nerdctl)", on429: CONTAINERD_BEHAVIOUR.on429 } as ClientWire;
    const client = { name: "containerd", store: null, label: wire.label, basedOn: "test", unsure: false, wire, all: null } as const;
    const out = await run(front, "limited/app", "1.0", { facts: { client } });
    expect(out.findings.map((f) => f.code)).toEqual(["RATE_LIMITED"]);
    expect(out.findings[0]!.detail).toContain("containerd re-sends a 429 at once, without waiting for Retry-After");
  });

  test("a plain 429 (abuse limit, no body) is still RATE_LIMITED", async () => {
    const out = await run(front, "plain429/app", "1.0");
    expect(out.findings.map((f) => f.code)).toEqual(["RATE_LIMITED"]);
    expect((out.findings[0]!.evidence.head as any).status).toBe(429);
  });

  test("HEAD passes (free) but the GET that counts is refused → RATE_LIMITED", async () => {
    const out = await run(front, "getlimited/app", "1.0");
    expect(out.findings.map((f) => f.code)).toEqual(["RATE_LIMITED"]);
    expect((out.evidence.head as any).status).toBe(200);
    expect((out.evidence.get as any).status).toBe(429);
    expect(out.findings[0]!.evidence.rateLimit).toMatchObject({ limit: 100, remaining: 0 });
  });

  test("few pulls left on the HEAD → RATE_LIMIT_LOW warning, manifest still resolved", async () => {
    const out = await run(front, "low/app", "1.0");
    expect(out.findings.map((f) => [f.code, f.severity])).toEqual([["RATE_LIMIT_LOW", "warning"]]);
    expect(out.findings[0]!.detail).toBe(`${new URL(front).host}: 3 of 100 pulls left in the 6 h window (counted against 203.0.113.7)`);
    expect(out.provides!.manifest!.digest).toBe(amd.digest);
    expect(out.summary).toContain("registry warning: this repository is deprecated");
    expect((out.evidence.rateLimit as any).warnings).toEqual(["this repository is deprecated"]);
  });
});
