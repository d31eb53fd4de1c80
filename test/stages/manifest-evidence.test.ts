import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage, buildIndex } from "../../src/lab/image";
import { hostPlatform } from "../../src/model/deps";
import { manifestStage } from "../../src/stages/manifest";
import { pushImage } from "../helpers/push";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";
import { loopbackRef, stageCtx } from "./manifest-facts";

/**
 * Issue 12 items 6 and 7 against a real distribution registry (and nginx where the fault is a
 * Content-Type): findings that name the cause the evidence shows, judged as the clients judge.
 */
let reg: RegistryPeer;
let nginx: NginxPeer;
let front = "";
const host = hostPlatform();
const other = host.architecture === "arm64" ? "amd64" : "arm64";
const mine = buildImage({ label: "mine", platform: { os: host.os, architecture: host.architecture } });
const theirs = buildImage({ label: "theirs", platform: { os: "linux", architecture: other } });
const index = buildIndex([mine, theirs]);
const v2 = buildImage({ label: "docker-v2", format: "docker" });

beforeAll(async () => {
  reg = await startRegistry();
  await pushImage(reg.url, "gc/app", "1.0", index);
  // Garbage collection with --delete-untagged (or a partial copy) leaves the index naming a manifest that is gone.
  const del = await fetch(`${reg.url}/v2/gc/app/manifests/${mine.digest}`, { method: "DELETE" });
  expect(del.status).toBe(202);
  await pushImage(reg.url, "ctidx/app", "1.0", index);
  await pushImage(reg.url, "ctplain/app", "1.0", v2);
  const [port] = await freePorts(1);
  // nginx rewrites the manifests' Content-Type, as a proxy or object store with the wrong type would.
  const rewrite = (type: string) => `proxy_pass ${reg.url}; proxy_hide_header Content-Type; add_header Content-Type "${type}" always;`;
  nginx = await startNginx({
    httpBlock: `
  server {
    listen 127.0.0.1:${port};
    location /v2/ctidx/app/manifests/ { ${rewrite("application/vnd.oci.image.manifest.v1+json")} }
    location /v2/ctplain/app/manifests/ { ${rewrite("text/plain")} }
    location /v2/ { proxy_pass ${reg.url}; }
  }`,
  });
  front = `http://127.0.0.1:${port}`;
}, 30_000);
afterAll(async () => {
  await Promise.all([nginx?.stop(), reg?.stop()]);
});

const run = (base: string, repo: string) => manifestStage.run(stageCtx(base, loopbackRef(new URL(base).host, repo, "1.0")));

/** skopeo's own verdict on the same server (containers/image), for the words the finding quotes. */
function skopeoInspect(image: string): { code: number; stderr: string } {
  const bin = requireBinary("skopeo", "skopeo");
  const p = Bun.spawnSync([bin, "inspect", "--tls-verify=false", `docker://${image}`], {
    env: { PATH: process.env.PATH ?? "", HOME: nginx.dir },
  });
  return { code: p.exitCode, stderr: p.stderr.toString() };
}

describe("item 6: an index entry names a manifest the registry lacks", () => {
  test("MANIFEST_UNKNOWN for that child digest, saying the index references a missing manifest", async () => {
    const out = await run(reg.url, "gc/app");
    expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNKNOWN"]);
    const f = out.findings[0]!;
    expect(f.detail).toContain(`the index ${index.digest} references the manifest ${mine.digest} for ${host.os}/${host.architecture}`);
    expect(f.detail).toContain("which the registry does not have (404 MANIFEST_UNKNOWN): the index points at a missing manifest");
    expect(f.fixes.join("\n")).not.toMatch(/health/);
    expect(f.fixes.join("\n")).toContain("--delete-untagged");
    expect(f.evidence.missingManifest).toEqual({ index: index.digest, digest: mine.digest, platform: `${host.os}/${host.architecture}` });
    expect(out.provides).toBeUndefined();
  });
});

describe("item 7: Content-Types every client refuses are not pullable", () => {
  test("an OCI index served as an image manifest: refused as Docker, containerd and skopeo refuse it", async () => {
    const out = await run(front, "ctidx/app");
    expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNSUPPORTED_MEDIA_TYPE"]);
    const d = out.findings[0]!.detail;
    expect(d).toContain("serves an index (it lists manifests) with Content-Type application/vnd.oci.image.manifest.v1+json");
    expect(d).toContain('docker: "ocimanifest: expected manifest but found index"');
    expect(d).toContain('containerd: "media-type: expected manifest but found index (application/vnd.oci.image.manifest.v1+json)"');
    expect(out.provides).toBeUndefined();
    // The real skopeo refuses it with the words the finding quotes.
    const s = skopeoInspect(`${new URL(front).host}/ctidx/app:1.0`);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toContain(
      'Error parsing manifest for image: rejecting ambiguous manifest, unexpected fields []string{\\"manifests\\"} in supposedly application/vnd.oci.image.index.v1+json',
    );
    expect(d).toContain(
      'Error parsing manifest for image: rejecting ambiguous manifest, unexpected fields []string{"manifests"} in supposedly application/vnd.oci.image.index.v1+json',
    );
  });

  test("a Docker v2 manifest served as text/plain: read as schema 1 by the clients, not pullable", async () => {
    const out = await run(front, "ctplain/app");
    expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNSUPPORTED_MEDIA_TYPE"]);
    const d = out.findings[0]!.detail;
    expect(d).toContain("with Content-Type text/plain, which clients read as schema 1");
    expect(d).toContain('podman/skopeo: "Error parsing manifest for image: unsupported schema version 2"');
    const s = skopeoInspect(`${new URL(front).host}/ctplain/app:1.0`);
    expect(s.code).not.toBe(0);
    expect(s.stderr).toContain("unsupported schema version 2");
  });

  test("the same images with their own Content-Type pass (the registry direct)", async () => {
    for (const repo of ["ctidx/app", "ctplain/app"]) {
      const out = await run(reg.url, repo);
      expect({ repo, codes: out.findings.map((f) => f.code) }).toEqual({ repo, codes: [] });
    }
  });
});
