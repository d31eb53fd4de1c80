/**
 * What each client prints for a Content-Type it refuses (reason "content-type"). Sources:
 * docker/distribution manifest/ocischema/manifest.go validateManifest and
 * manifest/manifestlist/manifestlist.go validateIndex (CVE-2021-41190); distribution.UnmarshalManifest
 * for a type with no registered schema (Docker 28.2+ registers no schema 1 default);
 * containerd:core/images/image.go ValidateMediaType; containers/image:internal/manifest
 * ValidateUnambiguousManifestFormat and manifest.NormalizedMIMEType (unknown ⇒ schema 1, whose
 * parser wants schemaVersion 1). The podman/skopeo texts were recorded from Debian's skopeo.
 */
export function contentTypeDetail(p: { image: string; mediaType: string; contentType?: string; found?: "index" | "manifest" }): string {
  const ct = p.contentType ?? "";
  if (ct === "text/plain")
    return `${p.image}: the registry serves a ${p.found === "index" ? "index" : "v2/OCI manifest"} (${p.mediaType}) with Content-Type text/plain, which clients read as schema 1: docker: "unsupported manifest media type and no default available: text/plain"; containerd (2.1+): "media type "application/vnd.docker.distribution.manifest.v1+prettyjws" is no longer supported"; podman/skopeo: "Error parsing manifest for image: unsupported schema version 2". No client pulls it.`;
  if (p.found === "index")
    return `${p.image}: the registry serves an index (it lists manifests) with Content-Type ${ct}, an image manifest's type; Docker, containerd and skopeo refuse the mismatch since CVE-2021-41190: docker: "ocimanifest: expected manifest but found index"; containerd: "media-type: expected manifest but found index (${ct})"; podman/skopeo: "Error parsing manifest for image: rejecting ambiguous manifest, unexpected fields []string{"manifests"} in supposedly ${p.mediaType}". No client pulls it.`;
  return `${p.image}: the registry serves an image manifest (config and layers) with Content-Type ${ct}, an index's type; Docker, containerd and skopeo refuse the mismatch since CVE-2021-41190: docker: "index: expected index but found manifest"; containerd: "media-type: expected index but found manifest (${ct})"; podman/skopeo: "Error parsing manifest for image: rejecting ambiguous manifest, unexpected fields []string{"config", "layers"} in supposedly ${p.mediaType}". No client pulls it.`;
}
