import { type CatalogueSection, entry } from "./entry";
import { contentTypeDetail } from "./manifest-content-type";
import { api, type Img, skopeo } from "./manifest-image";

/** Findings of the `manifest` stage about what the registry served: its media type, digest and body, or no answer. */
export const manifestContent = {
  MANIFEST_UNSUPPORTED_MEDIA_TYPE: entry<
    Img & {
      mediaType: string;
      configMediaType: string | null;
      reason: "artifact" | "oversized" | "media-type" | "content-type";
      size: number | null;
      kind: string;
      tool: string;
      /** reason "content-type": the Content-Type served, and what the body is. */
      contentType?: string;
      found?: "index" | "manifest";
    }
  >({
    stage: "manifest",
    severity: "error",
    title: "The reference is not a container image Docker can pull",
    explain:
      "The manifest is not an image: its config media type is not an image config (a Helm chart, an AI model, a signature or another OCI artifact), its media type is one Docker does not know, or it is larger than the 4 MiB containerd accepts (MaxManifestSize). Or it is served with a Content-Type the clients refuse for it: an index with an image manifest's type (or the reverse), refused by Docker, containerd and skopeo since CVE-2021-41190, or text/plain, which containerd and podman read as schema 1.",
    seen: [
      "docker: unsupported media type application/vnd.cncf.helm.config.v1+json",
      'docker: AI models are not yet supported by the Engine, please use "docker model pull/run" instead',
      "containerd/kubelet: rejecting 5242880 byte manifest for 127.0.0.1:5000/team/huge:1.0: not found",
      "docker: ocimanifest: expected manifest but found index",
      "containerd/kubelet: media-type: expected manifest but found index (application/vnd.oci.image.manifest.v1+json)",
      'podman/skopeo: Error parsing manifest for image: rejecting ambiguous manifest, unexpected fields []string{"manifests"} in supposedly application/vnd.oci.image.index.v1+json',
      "podman/skopeo (a v2 manifest served as text/plain): Error parsing manifest for image: unsupported schema version 2",
    ],
    causes: [
      "pulling a Helm chart, model or other OCI artifact with docker",
      "a tag that points to a signature or attestation",
      "a manifest bloated beyond 4 MiB",
      "a registry, proxy or object store serving the manifest with the wrong Content-Type (text/plain, or an index as an image manifest)",
    ],
    howKnown:
      "The image manifest's config.mediaType is not application/vnd.oci.image.config.v1+json or application/vnd.docker.container.image.v1+json, or the manifest media type is unknown, or its size is above 4 MiB.",
    detail: (p) =>
      p.reason === "content-type"
        ? contentTypeDetail(p)
        : p.reason === "oversized"
          ? `${p.image}: the manifest is ${p.size !== null ? `${p.size} bytes` : "more than 4194304 bytes (reading stopped there)"}, above containerd's 4 MiB limit`
          : p.reason === "artifact"
            ? `${p.image} is a ${p.kind}, not a container image (config media type ${p.configMediaType})`
            : `${p.image}: unsupported manifest media type ${p.mediaType}`,
    fixes: (p) =>
      p.reason === "content-type"
        ? [
            `Serve the manifest with its own media type as Content-Type${p.found === "index" ? " (application/vnd.oci.image.index.v1+json or the Docker manifest list type)" : ` (${p.mediaType})`}: check any proxy, CDN or object store in front of ${p.registry} that sets Content-Type for /v2/*/manifests/ (nginx: no default_type or types{} there)`,
            `If the registry stored it so, push it again with the right type: ${skopeo(p).replace("skopeo", "skopeo copy --all")} docker://SOURCE docker://${p.registry}/${p.repository}:${p.reference}`,
            `See what is served: curl -sI -H 'Accept: application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json' ${api(p)}/v2/${p.repository}/manifests/${p.reference}`,
          ]
        : p.reason === "oversized"
          ? ["Rebuild the image with fewer layers or annotations so its manifest stays under 4 MiB."]
          : p.reason === "artifact"
            ? [
                `Use the artifact's own client: ${p.tool.replace("{image}", p.image)}`,
                "If you expected an image, check the tag: it may point to the chart/artifact pushed under the same name.",
              ]
            : [`Check what was pushed under ${p.reference}: skopeo inspect --raw docker://${p.registry}/${p.repository}:${p.reference}`],
    genericFixes: ["Use the artifact's client (helm pull oci://…, oras pull …)", "Check that the tag points to a container image"],
  }),

  DIGEST_MISMATCH: entry<Img & { expected: string; actual: string; what: "pinned" | "header" | "descriptor" }>({
    stage: "manifest",
    severity: "error",
    title: "The manifest served does not hash to its digest",
    explain:
      "A manifest is content-addressed: its bytes must hash to the digest asked for (a pinned @sha256:…, or the index entry's digest) and to the Docker-Content-Digest header. A mismatch means something between the registry and the client changed the content, or the registry storage is corrupt.",
    seen: [
      "docker: manifest verification failed for digest sha256:…",
      "containerd/kubelet: unexpected commit digest sha256:…, expected sha256:…: failed precondition",
      "podman/skopeo: Digest did not match, expected sha256:…, got sha256:…",
    ],
    causes: [
      "a proxy or antivirus rewriting responses (TLS interception)",
      "a mirror serving different content under the same digest",
      "corrupt registry storage",
    ],
    howKnown:
      "pulldoctor hashes the exact bytes of the manifest GET and compares them with the requested digest and the Docker-Content-Digest header.",
    detail: (p) =>
      `${p.image}: ${p.what === "header" ? "Docker-Content-Digest says" : p.what === "pinned" ? "the reference pins" : "the index entry says"} ${p.expected}, the bytes hash to ${p.actual}`,
    fixes: (p) => [
      `Fetch it again bypassing any proxy: ${skopeo(p).replace("skopeo", "skopeo inspect --raw")} docker://${p.registry}/${p.repository}@${p.expected} | sha256sum (or with curl: ${api(p)}/v2/${p.repository}/manifests/${p.expected})`,
      "If a TLS-inspecting proxy is in the path, exempt the registry host from inspection.",
      "Ask the registry operator to check the repository's storage (garbage collection, replication).",
    ],
    genericFixes: ["Bypass proxies that rewrite content", "Re-push the image", "Check the registry storage"],
  }),

  MANIFEST_INVALID: entry<Img & { url: string; status: number; contentType: string | null; problem: string; bodyStart: string }>({
    stage: "manifest",
    severity: "error",
    title: "The manifest response is not a manifest",
    explain:
      "The manifest request answered 200 but the body is not a valid image manifest: typically an HTML page from a captive portal, a login page of a corporate proxy, or a web server at the registry's address instead of a registry.",
    seen: [
      "docker: Error response from daemon: error unmarshalling content: invalid character '<' looking for beginning of value",
      "podman/skopeo: initializing image from source docker://127.0.0.1:5081/x/y:1: invalid character '<' looking for beginning of value",
    ],
    causes: [
      "a captive portal or proxy login page answering instead of the registry",
      "a web server or reverse proxy that serves a page for unknown paths",
      "a broken registry",
    ],
    howKnown:
      "The GET answered 200 and its body does not parse as a manifest (Go's JSON error is quoted); the first bytes and Content-Type are in the evidence.",
    detail: (p) => `${p.url} answered ${p.status} ${p.contentType ?? "(no Content-Type)"}: ${p.problem}`,
    fixes: (p) => [
      `Look at what answers: curl -si ${p.url} | head -20`,
      "If it is a captive portal or proxy login page, log in through a browser or exempt the registry host from the proxy.",
      `Check that ${p.registry} is really a registry (GET /v2/ should answer 200 or 401 with Docker-Distribution-Api-Version).`,
    ],
    genericFixes: [
      "Look at the raw response with curl -si",
      "Get past the captive portal or proxy login",
      "Check that the host is a registry",
    ],
  }),

  MANIFEST_FETCH_FAILED: entry<Img & { method: string; url: string; status: number | null; error: string }>({
    stage: "manifest",
    severity: "error",
    title: "The manifest request failed",
    explain:
      "The manifest request did not get a usable answer: the connection failed or timed out, or the registry answered with an unexpected status (a 5xx, or 401/403 although the auth stage got a token).",
    seen: [
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/team/app/manifests/1.0": dial tcp 10.0.0.5:443: i/o timeout',
      "docker: Error response from daemon: received unexpected HTTP status: 500 Internal Server Error",
    ],
    causes: [
      "the registry's storage backend failing (5xx)",
      "a load balancer timing out",
      "a token without pull access for this repository",
    ],
    howKnown: "The HEAD/GET of the manifest threw a transport error or answered a status other than 200/404/429.",
    detail: (p) => `${p.method} ${p.url}: ${p.status !== null ? `HTTP ${p.status}; ` : ""}${p.error}`,
    fixes: (p) => [
      `Retry and look at the raw answer: curl -si -X ${p.method} ${p.url}`,
      "Check the registry's logs and health (storage backend, load balancer).",
    ],
    genericFixes: ["Retry with curl -si to see the raw answer", "Check the registry's health"],
  }),
} satisfies CatalogueSection;
