import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage, buildIndex, MT, sha256 } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";

/**
 * Every manifest code through the compiled binary: a real docker-registry (tags, an index, a
 * Helm chart), nginx in front of it for Docker Hub's rate-limit answers, and a small
 * registry-like server written here for what no real registry serves (schema 1, a portal page,
 * an oversized manifest, a lying digest, a 500).
 */

const amd = buildImage({ label: "m-amd64" });
const arm = buildImage({ label: "m-arm64", platform: { os: "linux", architecture: "arm64" } });
const index = buildIndex([amd, arm]);
const helm = buildImage({
  label: "m-chart",
  configMediaType: "application/vnd.cncf.helm.config.v1+json",
  configBytes: new TextEncoder().encode('{"name":"app","version":"1.0.0"}'),
});
const enc = (s: string) => new TextEncoder().encode(s);
const schema1 = enc(
  JSON.stringify({ schemaVersion: 1, name: "old/app", tag: "1.0", architecture: "amd64", fsLayers: [], history: [], signatures: [] }),
);
const huge = enc(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: amd.config.digest, size: 2 },
    layers: [],
    annotations: { pad: "x".repeat(5 * 1024 * 1024) },
  }),
);
const portal = enc("<!DOCTYPE html><html><head><title>Guest Wi-Fi</title></head><body>Please log in</body></html>");

type Route = { status?: number; type: string; body: Uint8Array; digest?: string | null };
const routes: Record<string, Route> = {
  "old/app": { type: MT.schema1Signed, body: schema1 },
  "portal/app": { type: "text/html; charset=utf-8", body: portal, digest: null },
  "huge/app": { type: MT.ociManifest, body: huge, digest: null },
  "lying/app": { type: MT.ociManifest, body: amd.manifest, digest: `sha256:${"a".repeat(64)}` },
  "broken/app": {
    status: 500,
    type: "application/json",
    body: enc('{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":"s3: connection reset"}]}'),
  },
};

let reg: RegistryPeer;
let nginx: NginxPeer;
let odd: ReturnType<typeof Bun.serve>;
let front = "";
let home: { dir: string; cleanup: () => void };

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-manifest-");
  reg = await startRegistry();
  for (const tag of ["1.0", "1.1"]) await pushImage(reg.url, "team/app", tag, amd);
  await pushImage(reg.url, "multi/app", "1.0", index);
  await pushImage(reg.url, "charts/app", "1.0.0", helm);
  await pushImage(reg.url, "low/app", "1.0", amd);
  const port = await freePort();
  front = `127.0.0.1:${port}`;
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
      proxy_pass http://127.0.0.1:${reg.port};
    }
    location / { proxy_pass http://127.0.0.1:${reg.port}; }
  }`,
  });
  odd = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    fetch(req) {
      const headers: Record<string, string> = { "docker-distribution-api-version": "registry/2.0" };
      const p = new URL(req.url).pathname;
      if (p === "/v2/") return new Response("{}", { headers: { ...headers, "content-type": "application/json" } });
      const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(p);
      const r = m ? routes[m[1]!] : undefined;
      if (!r)
        return new Response('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}', {
          status: 404,
          headers,
        });
      const digest = r.digest === undefined ? sha256(r.body) : r.digest;
      headers["content-type"] = r.type;
      if (digest) headers["docker-content-digest"] = digest;
      return new Response(req.method === "HEAD" ? null : r.body, { status: r.status ?? 200, headers });
    },
  });
});
afterAll(async () => {
  odd?.stop(true);
  await Promise.all([nginx?.stop(), reg?.stop()]);
  home?.cleanup();
});

const oddHost = () => `127.0.0.1:${odd.port}`;

/** `codes` are the manifest stage's. */
async function check(image: string, extra: string[] = []) {
  const c = await checkCli(image, extra, { home: home.dir });
  return { ...c, codes: c.codesOf("manifest") };
}

function expectFails(c: Awaited<ReturnType<typeof check>>, code: string) {
  expect(c.codes).toEqual([`${code}:error`]);
  const f = c.find(code);
  expect(c.stage("manifest").status).toBe("fail");
  expect(c.stage("blob").status).toBe("skip");
  expect(c.report.verdict).toMatchObject({ ok: false, code });
  expect(c.r.code).toBe(1);
  return f;
}

describe("manifest codes from a real docker-registry", () => {
  test("MANIFEST_UNKNOWN: a missing tag, with the closest existing tags", async () => {
    const f = expectFails(await check(`${reg.host}/team/app:1.2`), "MANIFEST_UNKNOWN");
    expect(f.evidence.closestTags).toEqual(["1.1", "1.0"]);
    expect(f.fixes[0]).toContain(`${reg.host}/team/app:1.1`);
  });

  test("NAME_UNKNOWN: a missing repository (tags/list tells it apart)", async () => {
    const f = expectFails(await check(`${reg.host}/nosuch/repo:1.0`), "NAME_UNKNOWN");
    expect(f.evidence.tagsList.answer).toBe("no-repository");
  });

  test("PLATFORM_UNAVAILABLE: --platform linux/s390x against an amd64+arm64 index", async () => {
    const f = expectFails(await check(`${reg.host}/multi/app:1.0`, ["--platform", "linux/s390x"]), "PLATFORM_UNAVAILABLE");
    expect(f.evidence.platforms).toEqual(["linux/amd64", "linux/arm64"]);
    expect(f.detail).toContain("linux/s390x");
  });

  test("the index with --platform linux/arm64 resolves the arm64 image (healthy)", async () => {
    const c = await check(`${reg.host}/multi/app:1.0`, ["--platform", "linux/arm64"]);
    expect(c.codes).toEqual([]);
    expect(JSON.stringify(c.stage("manifest").evidence)).toContain(arm.digest);
    expect(JSON.stringify(c.stage("manifest").evidence)).not.toContain(amd.digest);
    expect(c.r.code).toBe(0);
  });

  test("MANIFEST_UNSUPPORTED_MEDIA_TYPE: a Helm chart is not an image", async () => {
    const f = expectFails(await check(`${reg.host}/charts/app:1.0.0`), "MANIFEST_UNSUPPORTED_MEDIA_TYPE");
    expect(f.detail).toContain("Helm chart");
    expect(f.fixes[0]).toContain(`helm pull oci://${reg.host}/charts/app:1.0.0`);
  });
});

describe("rate limits through nginx in front of the registry", () => {
  test("RATE_LIMITED: 429 TOOMANYREQUESTS with Docker Hub's headers", async () => {
    const f = expectFails(await check(`${front}/limited/app:1.0`), "RATE_LIMITED");
    expect(f.evidence.rateLimit).toMatchObject({ limit: 100, remaining: 0, source: "203.0.113.7", retryAfterSeconds: 3600 });
    expect(f.detail).toContain("You have reached your pull rate limit");
  });

  test("RATE_LIMIT_LOW: 3 of 100 left (warning), the pull still works", async () => {
    const c = await check(`${front}/low/app:1.0`);
    expect(c.codes).toEqual(["RATE_LIMIT_LOW:warning"]);
    expect(c.find("RATE_LIMIT_LOW").detail).toBe(`${front}: 3 of 100 pulls left in the 6 h window (counted against 203.0.113.7)`);
    expect(c.stage("manifest").status).toBe("warn");
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
  });
});

describe("manifests no real registry serves", () => {
  test("MANIFEST_SCHEMA1: a signed schema 1 manifest", async () => {
    const f = expectFails(await check(`${oddHost()}/old/app:1.0`), "MANIFEST_SCHEMA1");
    expect(f.detail).toContain(MT.schema1Signed);
    expect(f.fixes[0]).toContain("skopeo copy --format v2s2");
  });

  test("MANIFEST_UNSUPPORTED_MEDIA_TYPE: a manifest over containerd's 4 MiB limit", async () => {
    const f = expectFails(await check(`${oddHost()}/huge/app:1.0`), "MANIFEST_UNSUPPORTED_MEDIA_TYPE");
    expect(f.detail).toContain("above containerd's 4 MiB limit");
  });

  test("DIGEST_MISMATCH: Docker-Content-Digest disagrees with the bytes", async () => {
    const f = expectFails(await check(`${oddHost()}/lying/app:1.0`), "DIGEST_MISMATCH");
    expect(f.detail).toBe(
      `${oddHost()}/lying/app:1.0: Docker-Content-Digest says sha256:${"a".repeat(64)}, the bytes hash to ${amd.digest}`,
    );
  });

  test("DIGEST_MISMATCH: a pinned digest the served bytes do not hash to", async () => {
    const pinned = `sha256:${"b".repeat(64)}`;
    const f = expectFails(await check(`${oddHost()}/lying/app@${pinned}`), "DIGEST_MISMATCH");
    expect(f.detail).toContain(`the reference pins ${pinned}`);
  });

  test("MANIFEST_INVALID: a captive-portal page where the manifest should be", async () => {
    const f = expectFails(await check(`${oddHost()}/portal/app:1.0`), "MANIFEST_INVALID");
    expect(f.detail).toContain("invalid character '<' looking for beginning of value");
    expect(f.evidence.get.bodyStart).toContain("Guest Wi-Fi");
  });

  test("MANIFEST_FETCH_FAILED: the registry answers 500 with its error body", async () => {
    const c = await check(`${oddHost()}/broken/app:1.0`);
    const f = expectFails(c, "MANIFEST_FETCH_FAILED");
    expect(f.detail).toContain("HTTP 500");
  });
});
