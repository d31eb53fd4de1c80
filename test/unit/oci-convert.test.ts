import { expect, test } from "bun:test";
import { buildImage, MT, sha256 } from "../../src/lab/image";
import type { ImageContent } from "../../src/pull/outputs/image-content";
import { ociManifestFor } from "../../src/pull/outputs/oci-convert";
import { BlobStore } from "../../src/pull/store";

const enc = new TextEncoder();
function content(raw: Uint8Array, mediaType: string): ImageContent {
  return {
    manifest: { digest: sha256(raw), mediaType, size: raw.length, raw },
    config: { mediaType: MT.dockerConfig, digest: sha256("c"), size: 1 },
    layers: [],
    platform: null,
    store: new BlobStore("/nonexistent"),
    repoTag: null,
  };
}

test("an OCI manifest is written byte for byte, under the registry's digest", () => {
  const img = buildImage({ label: "oci" });
  const m = ociManifestFor(content(img.manifest, img.mediaType));
  expect(m.raw).toBe(img.manifest);
  expect(m).toMatchObject({ digest: img.digest, mediaType: MT.ociManifest, convertedFrom: null });
});

test("foreign layers become non-distributable OCI layers with their urls kept; unknown types are kept", () => {
  const foreign = {
    mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    size: 10,
    digest: sha256("f"),
    urls: ["https://x/f"],
  };
  const doc = {
    schemaVersion: 2,
    mediaType: MT.dockerManifest,
    config: { mediaType: MT.dockerConfig, size: 1, digest: sha256("c") },
    layers: [
      foreign,
      { mediaType: "application/vnd.docker.image.rootfs.foreign.diff.tar", size: 10, digest: sha256("g") },
      { mediaType: "application/vnd.example.artifact", size: 3, digest: sha256("a") },
    ],
  };
  const raw = enc.encode(JSON.stringify(doc, null, 3));
  const m = ociManifestFor(content(raw, MT.dockerManifest));
  expect(m.convertedFrom).toEqual({ digest: sha256(raw), mediaType: MT.dockerManifest });
  expect(m.digest).toBe(sha256(m.raw));
  expect(m.size).toBe(m.raw.length);
  const out = JSON.parse(new TextDecoder().decode(m.raw));
  expect(Object.keys(out)).toEqual(["schemaVersion", "mediaType", "config", "layers"]);
  expect(out.config.mediaType).toBe(MT.ociConfig);
  expect(out.layers).toEqual([
    { ...foreign, mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" },
    { mediaType: "application/vnd.oci.image.layer.nondistributable.v1.tar", size: 10, digest: sha256("g") },
    { mediaType: "application/vnd.example.artifact", size: 3, digest: sha256("a") },
  ]);
});
