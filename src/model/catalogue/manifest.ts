import { type FixesFor, hubMirrorWords, loginWords, otherClient, platformPullWords } from "../client-words";
import { type CatalogueSection, entry } from "./entry";
import { manifestContent } from "./manifest-content";
import { manifestFallback } from "./manifest-fallback";
import { api, hub, type Img, listed, mins, skopeo } from "./manifest-image";

/** The login command for a rate limit, in the judged client's words (Docker's: `docker login [REGISTRY]`). */
function login(p: { registry: string; fixesFor?: FixesFor }): string {
  return otherClient(p.fixesFor) ? loginWords(p.registry, p.fixesFor) : `docker login ${hub(p.registry) ? "" : p.registry}`.trim();
}

/** PLATFORM_UNAVAILABLE's first fix: take a platform the image offers (kubelet takes only its node's). */
function pickPlatform(p: { image: string; fixesFor?: FixesFor }, platform: string): string {
  if (p.fixesFor === "kubernetes") return platformPullWords(platform, p.image, p.fixesFor);
  const pull = otherClient(p.fixesFor) ? platformPullWords(platform, p.image, p.fixesFor) : `docker pull --platform ${platform} ${p.image}`;
  return `Pull a platform the image offers (runs under emulation if it differs from the host): ${pull}`;
}

/** Findings of the `manifest` stage. */
/** "3 tags: 1.2, 1.1, 1.0", or "25 tags; the newest 10: …" (the names are the newest first, by version order). */
function namedTags(count: number, names: readonly string[]): string {
  const counted = `${count} tag${count === 1 ? "" : "s"}`;
  if (names.length === 0) return counted;
  return names.length >= count ? `${counted}: ${names.join(", ")}` : `${counted}; the newest ${names.length}: ${names.join(", ")}`;
}

export const manifest = {
  MANIFEST_UNKNOWN: entry<
    Img & {
      closestTags: string[];
      tags: string[];
      tagsListed: boolean;
      tagCount: number | null;
      /** Set when the missing manifest is an entry of this index (then `reference` is the entry's digest). */
      indexDigest?: string;
      /** The platform of that entry. */
      platform?: string;
    }
  >({
    stage: "manifest",
    severity: "error",
    title: "The tag (or digest) does not exist in this repository",
    explain:
      "The registry answered the manifest request with 404 MANIFEST_UNKNOWN while the repository itself exists (its tag list answered). The tag was never pushed, was deleted or retagged, or the digest belongs to another repository or registry. It is also said for an index (multi-platform image) whose entry names a manifest the registry no longer has: the tag resolves, the platform's manifest is gone.",
    seen: [
      "docker: Error response from daemon: manifest for 127.0.0.1:5000/library/small:nope not found: manifest unknown: manifest unknown",
      'containerd/kubelet: failed to resolve reference "127.0.0.1:5000/library/small:nope": 127.0.0.1:5000/library/small:nope: not found',
      "podman/skopeo: reading manifest nope in 127.0.0.1:5000/library/small: manifest unknown: manifest unknown",
      "containerd/kubelet (an index entry is missing): failed to copy: httpReadSeeker: failed open: content at http://127.0.0.1:5000/v2/team/app/manifests/sha256:… not found: not found",
    ],
    causes: [
      "a typo in the tag",
      "an index whose platform manifest was deleted (registry garbage collection with --delete-untagged removes index entries; a partial copy or push)",
      "the tag was deleted, moved or never pushed (CI did not push it yet)",
      "a digest copied from another repository or registry",
      "a mirror or pull-through cache that does not have the tag",
    ],
    howKnown:
      "HEAD of the manifest answered 404; a GET (HEAD has no body) read the error code MANIFEST_UNKNOWN; GET /v2/NAME/tags/list answered 200, so the repository exists. The closest existing tags are ranked by edit distance and shared prefix; the detail names every tag when there are 10 or fewer, else the newest 10 by version order.",
    detail: (p) =>
      p.indexDigest
        ? `${p.image}: the index ${p.indexDigest} references the manifest ${p.reference}${p.platform ? ` for ${p.platform}` : ""}, which the registry does not have (404 MANIFEST_UNKNOWN): the index points at a missing manifest`
        : `${p.image}: the registry has no manifest ${p.reference} in ${p.repository}` +
          (p.tagsListed
            ? ` (it has ${namedTags(p.tagCount ?? 0, p.tags)}${p.closestTags.length ? `; closest: ${p.closestTags.join(", ")}` : ""})`
            : " (the tag list could not be read)"),
    fixes: (p) =>
      p.indexDigest
        ? [
            `Push the whole multi-platform image again so every entry of its index exists (docker buildx build --push, or ${skopeo(p).replace("skopeo", "skopeo copy --all")} from its source)`,
            `See what the index lists: ${skopeo(p).replace("skopeo", "skopeo inspect --raw")} docker://${p.registry}/${p.repository}@${p.indexDigest}`,
            "If the registry runs garbage collection with --delete-untagged, stop: it deletes manifests that only an index references.",
          ]
        : [
            ...(p.closestTags.length ? [`Use an existing tag, e.g. ${p.registry}/${p.repository}:${p.closestTags[0]}`] : []),
            `List the tags: ${skopeo(p).replace("skopeo", "skopeo list-tags")} docker://${p.registry}/${p.repository} (it fetches the token; on an open registry: curl -s ${api(p)}/v2/${p.repository}/tags/list)`,
            "If the tag should exist, check that the CI job pushed it to this registry (and not only to another mirror).",
          ],
    genericFixes: [
      "Check the tag for typos",
      "List the repository's tags (skopeo list-tags docker://REGISTRY/REPO) and pick an existing one",
      "Push the tag if it was never pushed",
    ],
  }),

  NAME_UNKNOWN: entry<Img>({
    stage: "manifest",
    severity: "error",
    title: "The repository does not exist on this registry",
    explain:
      "Registries answer a manifest request for a missing repository and for a missing tag alike (MANIFEST_UNKNOWN). The repository's tag list answered NAME_UNKNOWN, so the repository itself is missing: the name or namespace is wrong, or the image was pushed elsewhere.",
    seen: [
      "docker: Error response from daemon: manifest for 127.0.0.1:5000/nosuch/repo:1.0 not found: manifest unknown: manifest unknown",
      'containerd/kubelet: failed to resolve reference "127.0.0.1:5000/nosuch/repo:1.0": 127.0.0.1:5000/nosuch/repo:1.0: not found',
      "podman/skopeo: reading manifest 1.0 in 127.0.0.1:5000/nosuch/repo: manifest unknown: manifest unknown",
    ],
    causes: [
      "a typo in the repository name or namespace",
      "the image lives on another registry (the reference lacks the registry host, so Docker Hub was asked)",
      "the repository was deleted",
    ],
    howKnown: "The manifest answered 404 (MANIFEST_UNKNOWN or NAME_UNKNOWN) and GET /v2/NAME/tags/list answered 404 NAME_UNKNOWN.",
    detail: (p) => `${p.image}: the registry ${p.registry} has no repository ${p.repository}`,
    fixes: (p) => [
      `Check the repository name: ${p.repository} (namespaces are case-sensitive paths; Docker Hub official images live under library/)`,
      `List the repositories if the registry allows it: curl -s ${api(p)}/v2/_catalog`,
      "If the image is on another registry, put its host in the reference (registry.example.com/team/app:tag).",
    ],
    genericFixes: ["Check the repository name and namespace", "Add the registry host to the image reference if it is not Docker Hub"],
  }),

  RATE_LIMITED: entry<{
    registry: string;
    repository: string;
    limit: number | null;
    remaining: number | null;
    windowSeconds: number | null;
    retryAfterSeconds: number | null;
    source: string | null;
    authenticated: boolean;
    message: string;
    fixesFor?: FixesFor;
  }>({
    stage: "manifest",
    severity: "error",
    title: "The registry's pull rate limit is exhausted",
    explain:
      "The registry answered 429 Too Many Requests (TOOMANYREQUESTS). Docker Hub counts manifest GETs per source IP (anonymous: per IPv4 address or IPv6 /64, shared by everyone behind the same NAT or CI runner pool) or per account; a multi-arch pull counts once per architecture. HEAD requests do not count.",
    seen: [
      "docker: Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
      "containerd/kubelet: pulling from host registry-1.docker.io failed with status code [manifests 1.0]: 429 Too Many Requests",
      "podman/skopeo: reading manifest 1.0 in 127.0.0.1:5080/ratelimited/app: toomanyrequests: You have reached your pull rate limit. ...",
    ],
    causes: [
      "anonymous pulls from an address shared by many machines (NAT, CI runners, a Kubernetes cluster)",
      "a free account's limit",
      "a loop re-pulling images (imagePullPolicy: Always, CI without a cache)",
      "the registry's abuse limit (a plain 429 without the long message)",
    ],
    howKnown:
      "The manifest request answered 429 (or an error code TOOMANYREQUESTS); the ratelimit-limit / ratelimit-remaining (with their ;w= windows), docker-ratelimit-source and Retry-After headers say which limit and when it resets.",
    detail: (p) =>
      `${p.registry}: ${p.message || "429 Too Many Requests"}` +
      (p.limit !== null
        ? ` (limit ${p.limit}${p.windowSeconds ? ` per ${mins(p.windowSeconds)}` : ""}, ${p.remaining ?? 0} left${p.source ? `, counted against ${p.source}` : ""})`
        : "") +
      (p.retryAfterSeconds !== null
        ? `; retry after ${mins(p.retryAfterSeconds)}`
        : p.windowSeconds
          ? `; the window resets within ${mins(p.windowSeconds)}`
          : ""),
    fixes: (p) => [
      ...(p.retryAfterSeconds !== null
        ? [`Wait ${mins(p.retryAfterSeconds)} (Retry-After) before pulling again.`]
        : p.windowSeconds
          ? [`Wait for the limit window to reset (at most ${mins(p.windowSeconds)}).`]
          : []),
      ...(p.authenticated
        ? ["Your pulls are authenticated: upgrade the account's plan or spread pulls over more accounts/time."]
        : [`Log in so pulls count against your account, not the shared address: ${login(p)}`]),
      !hub(p.registry)
        ? "Put a pull-through cache in front of the registry."
        : otherClient(p.fixesFor)
          ? hubMirrorWords(p.fixesFor)
          : 'Use a registry mirror / pull-through cache: "registry-mirrors": ["https://mirror.example.com"] in /etc/docker/daemon.json, then restart dockerd.',
      `Pin images by digest and cache them (imagePullPolicy: IfNotPresent) so unchanged images are not pulled again from ${p.registry}/${p.repository}.`,
    ],
    genericFixes: [
      "Authenticate (docker login) so pulls count against an account",
      "Use a mirror or pull-through cache",
      "Wait for the window in ratelimit-remaining;w= / Retry-After to reset",
    ],
  }),

  RATE_LIMIT_LOW: entry<{
    registry: string;
    limit: number;
    remaining: number;
    windowSeconds: number | null;
    source: string | null;
    authenticated: boolean;
    fixesFor?: FixesFor;
  }>({
    stage: "manifest",
    severity: "warning",
    title: "Few pulls are left in the registry's rate-limit window",
    explain:
      "The registry's rate-limit headers (read from a HEAD, which does not count) say fewer than max(5, 10 % of the limit) pulls are left. Five because a compose project or CI job pulls several images and a multi-arch pull counts once per architecture; 10 % so that large limits warn early. The next pulls may fail with toomanyrequests.",
    seen: [
      "docker: (nothing yet; the next pulls fail with) toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
    ],
    causes: [
      "anonymous pulls from a shared address (NAT, CI runners)",
      "a free account close to its limit",
      "repeated pulls of unchanged images",
    ],
    howKnown: "HEAD of the manifest returned ratelimit-limit and ratelimit-remaining (with ;w= windows) and docker-ratelimit-source.",
    detail: (p) =>
      `${p.registry}: ${p.remaining} of ${p.limit} pulls left${p.windowSeconds ? ` in the ${mins(p.windowSeconds)} window` : ""}${p.source ? ` (counted against ${p.source})` : ""}`,
    fixes: (p) => [
      ...(p.authenticated ? [] : [`Log in so pulls count against your account: ${login(p)}`]),
      "Use a registry mirror / pull-through cache for repeated pulls.",
      "Avoid re-pulling unchanged images (pin digests, imagePullPolicy: IfNotPresent).",
    ],
    genericFixes: ["Authenticate", "Use a mirror or pull-through cache", "Avoid needless re-pulls"],
  }),

  PLATFORM_UNAVAILABLE: entry<{
    image: string;
    wanted: string;
    platforms: string[];
    indexDigest: string;
    parseError?: string;
    single?: boolean /** Distinct platforms in all, when `platforms` is cut short. */;
    distinct?: number;
    fixesFor?: FixesFor;
  }>({
    stage: "manifest",
    severity: "error",
    title: "The image is not built for the requested platform",
    explain:
      "The tag points to an index (manifest list) and none of its entries matches the wanted platform as containerd matches platforms (arm64/v8 = arm64; arm/v7 also accepts v6 and v5; amd64 also accepts 386), or it is a single-platform image whose config names another platform than the --platform asked for. Docker refuses to pull.",
    seen: [
      "docker: no matching manifest for linux/arm/v7 in the manifest list entries",
      "docker: image with reference 127.0.0.1:5000/team/app:1.0 was found but does not match the specified platform: wanted linux/arm64, actual: linux/amd64",
      "containerd/kubelet: no match for platform in manifest sha256:…: not found",
      'podman/skopeo: choosing an image from manifest list docker://127.0.0.1:5000/multi/app:1.0: no image found in image index for architecture arm, variant "v7", OS linux',
    ],
    causes: [
      "the image was not built for this architecture (Apple Silicon, Raspberry Pi, Graviton)",
      "a wrong --platform or DOCKER_DEFAULT_PLATFORM",
      "Windows vs Linux containers",
    ],
    howKnown:
      "GET of the index listed its entries' platforms and containerd's Only(platform) matcher accepted none of them; for a single-platform image, its config blob's os/architecture/variant did not match an explicit --platform.",
    detail: (p) =>
      p.parseError
        ? `${p.wanted}: ${p.parseError}`
        : p.single
          ? `${p.image} is a single-platform image for ${listed(p.platforms)}, not ${p.wanted}`
          : `${p.image}: no matching manifest for ${p.wanted} in the manifest list entries; the index offers ${p.platforms.length ? listed(p.platforms, p.distinct) : "no platform at all"}`,
    fixes: (p) => {
      const offered = [...new Set(p.platforms.filter((x) => x !== "unknown/unknown"))].slice(0, 12);
      // The build line names the platform asked for plus those already offered (it was a fixed "linux/amd64,linux/arm64").
      const build = p.parseError ? offered : [...new Set([...offered, p.wanted])];
      return [
        ...(offered.length
          ? [`${pickPlatform(p, offered[0]!)}${offered.length > 1 ? ` (also offered: ${offered.slice(1).join(", ")})` : ""}`]
          : []),
        `Build and push the image for this platform too: docker buildx build --platform ${build.length ? build.join(",") : "linux/amd64,linux/arm64"} --push …`,
        "Look for another tag of the image that is multi-platform.",
      ];
    },
    genericFixes: [
      "Pick a platform the index offers (docker pull --platform …)",
      "Build the image for the missing platform with docker buildx",
    ],
  }),

  MANIFEST_SCHEMA1: entry<Img & { mediaType: string }>({
    stage: "manifest",
    severity: "error",
    title: "The image uses the removed Docker schema 1 manifest format",
    explain:
      "Docker Image manifest v2 schema 1 was deprecated in Docker 19.03, disabled by default in 26.0 and removed in 28.2; containerd 2.1 refuses it too. Very old images (and some old registries) still serve it.",
    seen: [
      "docker: Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of docker.io/library/ubuntu:10.04 to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.",
      'containerd/kubelet: media type "application/vnd.docker.distribution.manifest.v1+prettyjws" is no longer supported since containerd v2.1',
    ],
    causes: [
      "a very old image that was never rebuilt",
      "an old registry that converts or stores schema 1",
      "a registry answering text/plain (Red Hat's old registry quirk), which clients treat as schema 1",
    ],
    howKnown:
      "The manifest's Content-Type is application/vnd.docker.distribution.manifest.v1+prettyjws (or v1+json, or text/plain) or its schemaVersion is 1.",
    detail: (p) => `${p.image}: the registry serves a schema 1 manifest (${p.mediaType})`,
    fixes: (p) => [
      `Convert it to schema 2 / OCI and push it under a new tag: skopeo copy --format v2s2 docker://${p.registry}/${p.repository}:${p.reference} docker://${p.registry}/${p.repository}:${p.reference}-v2`,
      "Use a newer tag of the image, or rebuild it from its Dockerfile.",
    ],
    genericFixes: ["Use a newer tag", "Convert with skopeo copy --format v2s2 (or crane copy) and push again"],
  }),

  ...manifestContent,
  ...manifestFallback,
} satisfies CatalogueSection;
