import { createHash } from "node:crypto";
import type { ImageContent } from "./image-content";

/**
 * Docker schema 2 → OCI media types for an `oci:` layout. containers/image's oci transport
 * (what `skopeo inspect/copy oci:…` use) and umoci look up index.json entries by OCI media
 * type only, so a Docker manifest written unchanged is an image they cannot find.
 *
 * The mapping is containerd's (containerd/containerd:core/images/converter/default.go,
 * ConvertDockerMediaTypeToOCI) and the one `skopeo copy` applies
 * (containers/image:image/docker_schema2.go, convertToManifestOCI1): gzip, uncompressed and
 * foreign ("non-distributable") layers each to their OCI twin. Like containerd, the config's
 * bytes are kept (its digest stays the image ID, and Docker's config is a superset of OCI's,
 * whose readers ignore unknown fields); only its descriptor's media type changes. Blobs never
 * change, so only the manifest is rewritten and gets a new digest. A media type with no OCI
 * twin (an artifact layer) is kept as containerd keeps it, where skopeo would refuse to copy.
 */
export const DOCKER_TO_OCI: Readonly<Record<string, string>> = {
  "application/vnd.docker.distribution.manifest.v2+json": "application/vnd.oci.image.manifest.v1+json",
  "application/vnd.docker.distribution.manifest.list.v2+json": "application/vnd.oci.image.index.v1+json",
  "application/vnd.docker.container.image.v1+json": "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.image.rootfs.diff.tar.gzip": "application/vnd.oci.image.layer.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.diff.tar": "application/vnd.oci.image.layer.v1.tar",
  "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip": "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
  "application/vnd.docker.image.rootfs.foreign.diff.tar": "application/vnd.oci.image.layer.nondistributable.v1.tar",
};

const DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json";
const OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json";

export function ociMediaType(mediaType: string): string {
  return DOCKER_TO_OCI[mediaType] ?? mediaType;
}

/** The manifest an output writes: the source's, or its OCI rewrite. */
export interface WrittenManifest {
  digest: string;
  mediaType: string;
  size: number;
  raw: Uint8Array;
  /** The registry's manifest, when the written one differs from it. */
  convertedFrom: { digest: string; mediaType: string } | null;
}

/**
 * The manifest to put in an OCI layout. An OCI manifest is written byte for byte (same
 * digest as the registry's); a Docker schema 2 manifest is rewritten with OCI media types,
 * keeping every other field (urls of foreign layers, annotations) as served.
 */
export function ociManifestFor(img: ImageContent): WrittenManifest {
  const m = img.manifest;
  if (m.mediaType !== DOCKER_MANIFEST) return { ...m, convertedFrom: null };
  const doc = JSON.parse(new TextDecoder().decode(m.raw)) as {
    mediaType?: string;
    config: { mediaType: string };
    layers: { mediaType: string }[];
  };
  // schemaVersion and mediaType first, as image-spec's examples and skopeo write them; the rest in the source's order.
  const out: Record<string, unknown> = { schemaVersion: 2, mediaType: OCI_MANIFEST };
  for (const [k, v] of Object.entries(doc)) {
    if (k === "schemaVersion" || k === "mediaType") continue;
    if (k === "config") out.config = { ...doc.config, mediaType: ociMediaType(doc.config.mediaType) };
    else if (k === "layers") out.layers = doc.layers.map((l) => ({ ...l, mediaType: ociMediaType(l.mediaType) }));
    else out[k] = v;
  }
  const raw = new TextEncoder().encode(JSON.stringify(out));
  const digest = `sha256:${createHash("sha256").update(raw).digest("hex")}`;
  return { digest, mediaType: OCI_MANIFEST, size: raw.length, raw, convertedFrom: { digest: m.digest, mediaType: m.mediaType } };
}
