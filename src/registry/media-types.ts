/**
 * Manifest and config media types a pull meets, and how Docker treats each. Docker's
 * vendored distribution registers the four schema2/OCI manifest types; schema1 is no longer
 * registered (removed in Docker 28.2), so pulldoctor asks for it only to recognise it.
 */
export const MEDIA = {
  ociIndex: "application/vnd.oci.image.index.v1+json",
  ociManifest: "application/vnd.oci.image.manifest.v1+json",
  dockerList: "application/vnd.docker.distribution.manifest.list.v2+json",
  dockerManifest: "application/vnd.docker.distribution.manifest.v2+json",
  schema1Signed: "application/vnd.docker.distribution.manifest.v1+prettyjws",
  schema1: "application/vnd.docker.distribution.manifest.v1+json",
  ociArtifact: "application/vnd.oci.artifact.manifest.v1+json",
  ociConfig: "application/vnd.oci.image.config.v1+json",
  dockerConfig: "application/vnd.docker.container.image.v1+json",
} as const;

/**
 * The Accept header of the manifest HEAD and GET: Docker's four types in containerd's order
 * (what Docker 29 / containerd send), then schema1 at a lower preference so a registry that
 * only has a schema1 manifest shows it instead of answering "unknown".
 */
export const MANIFEST_ACCEPT = [
  MEDIA.dockerManifest,
  MEDIA.dockerList,
  MEDIA.ociManifest,
  MEDIA.ociIndex,
  `${MEDIA.schema1Signed};q=0.5`,
  `${MEDIA.schema1};q=0.5`,
].join(", ");

export const INDEX_TYPES: readonly string[] = [MEDIA.ociIndex, MEDIA.dockerList];
export const IMAGE_MANIFEST_TYPES: readonly string[] = [MEDIA.ociManifest, MEDIA.dockerManifest];
/** Red Hat's registry served schema1 as text/plain; containerd treats that Content-Type as schema1. */
export const SCHEMA1_TYPES: readonly string[] = [MEDIA.schema1Signed, MEDIA.schema1, "text/plain"];
export const IMAGE_CONFIG_TYPES: readonly string[] = [MEDIA.ociConfig, MEDIA.dockerConfig];

/** Known non-image artifacts by config media type, named for the fix ("use helm pull"). */
const ARTIFACTS: [RegExp, string, string][] = [
  [/^application\/vnd\.cncf\.helm\.config\./, "Helm chart", "helm pull oci://{image}"],
  [/^application\/vnd\.docker\.ai\./, "AI model", "docker model pull {image}"],
  [/^application\/vnd\.dev\.cosign\./, "cosign signature", "cosign verify {image}"],
  [/^application\/vnd\.wasm\./, "WebAssembly module", "a Wasm-aware runtime (e.g. wasmtime, or containerd with a wasm shim)"],
  [/^application\/vnd\.cncf\.flux\./, "Flux artifact", "flux pull artifact oci://{image}"],
  [/^application\/vnd\.oci\.empty\.v1\+json$/, "OCI artifact", "oras pull {image}"],
  [/^application\/vnd\.unknown\.config\./, "OCI artifact", "oras pull {image}"],
];

export function artifactKind(configMediaType: string): { kind: string; tool: string } {
  for (const [re, kind, tool] of ARTIFACTS) if (re.test(configMediaType)) return { kind, tool };
  return { kind: "OCI artifact", tool: "oras pull {image}" };
}

/** Content-Type without parameters, lower-cased. */
export function bareType(contentType: string | undefined): string {
  return (contentType ?? "").split(";")[0]!.trim().toLowerCase();
}
