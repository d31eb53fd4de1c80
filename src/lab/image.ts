import { createHash } from "node:crypto";
import type { Descriptor, Platform } from "../model/facts";
import { tarBytes } from "../pull/outputs/tar-header";

/**
 * Small, real images made in code: gzip'd tar layers, an OCI image config and manifest.
 * Used by the lab registry (`pulldoctor demo`) and by the tests, which push them to real
 * registries. Deterministic for the same input.
 */
export const MT = {
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  ociLayerGzip: "application/vnd.oci.image.layer.v1.tar+gzip",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
  dockerLayerGzip: "application/vnd.docker.image.rootfs.diff.tar.gzip",
  schema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
} as const;

export interface Blob {
  digest: string;
  bytes: Uint8Array;
  mediaType: string;
}

export interface BuiltImage {
  /** Digest of the manifest bytes. */
  digest: string;
  mediaType: string;
  manifest: Uint8Array;
  config: Blob;
  layers: Blob[];
  platform: Platform;
}

export interface BuiltIndex {
  digest: string;
  mediaType: string;
  manifest: Uint8Array;
  images: BuiltImage[];
}

export function sha256(bytes: Uint8Array | string): string {
  return `sha256:${createHash("sha256").update(bytes).digest("hex")}`;
}

export interface ImageSpec {
  /** Each layer: files it adds. Default: one layer with /hello.txt. */
  layers?: { name: string; content: Uint8Array | string }[][];
  platform?: Platform;
  /** "oci" (default) or "docker" (Docker schema2 media types). */
  format?: "oci" | "docker";
  /** Makes otherwise equal images differ. */
  label?: string;
  /** Override the config media type (e.g. a Helm chart artifact). */
  configMediaType?: string;
  /** Raw config bytes (with configMediaType) for artifacts. */
  configBytes?: Uint8Array;
}

export function buildImage(spec: ImageSpec = {}): BuiltImage {
  const platform = spec.platform ?? { os: "linux", architecture: "amd64" };
  const docker = spec.format === "docker";
  const layerSpecs = spec.layers ?? [[{ name: "hello.txt", content: `hello from pulldoctor${spec.label ? ` (${spec.label})` : ""}\n` }]];
  const layers: Blob[] = [];
  const diffIds: string[] = [];
  for (const files of layerSpecs) {
    const tar = tarBytes(files);
    diffIds.push(sha256(tar));
    const gz = Bun.gzipSync(tar as Uint8Array<ArrayBuffer>, { level: 6 });
    layers.push({ digest: sha256(gz), bytes: gz, mediaType: docker ? MT.dockerLayerGzip : MT.ociLayerGzip });
  }
  const configObj = {
    architecture: platform.architecture,
    os: platform.os,
    ...(platform.variant ? { variant: platform.variant } : {}),
    created: "2026-01-01T00:00:00Z",
    config: { Cmd: ["/bin/sh"], Labels: spec.label ? { "org.pulldoctor.label": spec.label } : {} },
    rootfs: { type: "layers", diff_ids: diffIds },
    history: layerSpecs.map(() => ({ created: "2026-01-01T00:00:00Z", created_by: "pulldoctor test image" })),
  };
  const configBytes = spec.configBytes ?? new TextEncoder().encode(JSON.stringify(configObj));
  const config: Blob = {
    digest: sha256(configBytes),
    bytes: configBytes,
    mediaType: spec.configMediaType ?? (docker ? MT.dockerConfig : MT.ociConfig),
  };
  const mediaType = docker ? MT.dockerManifest : MT.ociManifest;
  const manifestObj = {
    schemaVersion: 2,
    mediaType,
    config: desc(config),
    layers: layers.map(desc),
  };
  const manifest = new TextEncoder().encode(JSON.stringify(manifestObj));
  return { digest: sha256(manifest), mediaType, manifest, config, layers, platform };
}

export function buildIndex(images: BuiltImage[], format: "oci" | "docker" = "oci"): BuiltIndex {
  const mediaType = format === "docker" ? MT.dockerList : MT.ociIndex;
  const obj = {
    schemaVersion: 2,
    mediaType,
    manifests: images.map((im) => ({ mediaType: im.mediaType, digest: im.digest, size: im.manifest.length, platform: im.platform })),
  };
  const manifest = new TextEncoder().encode(JSON.stringify(obj));
  return { digest: sha256(manifest), mediaType, manifest, images };
}

export function desc(b: Blob): Descriptor {
  return { mediaType: b.mediaType, digest: b.digest, size: b.bytes.length };
}

/** Incompressible bytes of a given size, deterministic per seed (benchmarks, big layers). */
export function noise(size: number, seed: number | string = 1): Uint8Array {
  const out = new Uint8Array(size);
  let block = createHash("sha256").update(`seed-${seed}`).digest();
  for (let off = 0; off < size; off += block.length) {
    out.set(block.subarray(0, Math.min(block.length, size - off)), off);
    block = createHash("sha256").update(block).digest();
  }
  return out;
}
