import type { Evidence } from "../model/evidence";
import type { FetchedBlob, Platform, ResolvedManifest } from "../model/facts";
import { finding } from "../model/finding";
import { MAX_MANIFEST_BYTES, manifestUrl, type ParsedManifest } from "./manifest";
import { fetchConfigPlatform } from "./manifest-config";
import { type Got, getManifest, oversized } from "./manifest-get";
import type { ManifestImage, ManifestRequest } from "./manifest-request";
import { artifactKind, IMAGE_CONFIG_TYPES, IMAGE_MANIFEST_TYPES } from "./media-types";
import { formatPlatform, normalizePlatform, only, rankPlatforms } from "./platform";

/** A fetched manifest that is an image manifest. */
type GotImage = Got & { parsed: Extract<ParsedManifest, { kind: "image" }> };

export interface ManifestTarget {
  img: ManifestImage;
  /** The tag/digest URL the HEAD went to. */
  url: string;
  headDigest: string | null;
  headSize: number | null;
}

/**
 * GET the manifest the HEAD named (by digest, as Docker does), pick the platform from an
 * index and GET that image manifest. Each failure becomes one finding and `null`.
 */
export async function resolveImageManifest(r: ManifestRequest, t: ManifestTarget, want: Platform): Promise<ResolvedManifest | null> {
  const { img } = t;
  if (t.headSize !== null && t.headSize > MAX_MANIFEST_BYTES) return oversized(r, img, t.headSize, "");
  const pinned = img.reference.includes(":") ? img.reference : null;
  const topRef = pinned ?? t.headDigest ?? img.reference;
  const top = await getManifest(r, img, {
    url: manifestUrl(r.registry.baseUrl, img.repository, topRef),
    expected: pinned ?? t.headDigest,
    what: pinned ? "pinned" : "header",
    key: "get",
  });
  if (!top) return null;

  let index: ResolvedManifest["index"] = null;
  let image: Got = top;
  let platform = formatPlatform(want);
  if (top.parsed.kind === "index") {
    const picked = await fromIndex(r, img, top, top.parsed, want);
    if (!picked) return null;
    ({ index, image, platform } = picked);
  }
  if (!imageTypesPullable(r, img, image)) return null;
  let configRead: Promise<FetchedBlob | null> | undefined;
  if (!index) {
    // A single-platform image's config is read for its platform. Only an explicit --platform can
    // refuse the image now: without one the manifest is handed on before that read ends, and the
    // blob requests go out beside it, as moby's pullSchema2Layers and containerd's fetch handlers
    // ask for the config and the layers at once.
    const read = fetchConfigPlatform(r.settings, r.registry, img.repository, image.parsed.config, r.authorization, r.evidence);
    configRead = read.then(
      (x) => x.fetched,
      () => null,
    );
    // (Its `platform` is still the one wanted: only the config can name the image's.)
    if (!r.explicitPlatform) r.handOn?.(manifestOf(top, index, image, platform, configRead));
    const named = singlePlatform(r, img, want, (await read).platform);
    if (named === null) return null;
    platform = named ?? platform;
  }
  r.evidence.image = {
    digest: image.digest,
    mediaType: image.parsed.mediaType,
    size: image.bytes.length,
    config: { mediaType: image.parsed.config.mediaType, digest: image.parsed.config.digest, size: image.parsed.config.size },
    layers: image.parsed.layers.length,
    platform,
  };
  return manifestOf(top, index, image, platform, configRead);
}

function manifestOf(
  top: Got,
  index: ResolvedManifest["index"],
  image: GotImage,
  platform: string,
  configRead: Promise<FetchedBlob | null> | undefined,
): ResolvedManifest {
  return {
    digest: top.digest,
    mediaType: top.parsed.mediaType,
    index,
    image: {
      digest: image.digest,
      mediaType: image.parsed.mediaType,
      size: image.bytes.length,
      raw: image.bytes,
      config: image.parsed.config,
      layers: image.parsed.layers,
    },
    platform,
    ...(configRead ? { configRead } : {}),
  };
}

/** An index: rank its entries as containerd does, and GET the chosen platform's image manifest. */
async function fromIndex(
  r: ManifestRequest,
  img: ManifestImage,
  top: Got,
  parsed: Extract<ParsedManifest, { kind: "index" }>,
  want: Platform,
): Promise<{ index: NonNullable<ResolvedManifest["index"]>; image: Got; platform: string } | null> {
  const { evidence, findings } = r;
  const entries = parsed.manifests;
  const platforms = entries.map((d) => (d.platform ? formatPlatform(d.platform) : "unknown"));
  const order = rankPlatforms(
    only(want),
    entries.map((d) => d.platform ?? null),
  );
  // Each platform once, at most 100 (a hostile 4 MiB index lists 25,000 entries): the report stays readable.
  const distinct = [...new Set(platforms)];
  const offered = distinct.slice(0, 100);
  evidence.index = {
    digest: top.digest,
    mediaType: parsed.mediaType,
    entries: entries.length,
    platforms: offered,
    wanted: formatPlatform(want),
    candidates: order.slice(0, 20).map((i) => platforms[i]!),
  };
  if (order.length === 0) {
    findings.push(
      finding(
        "PLATFORM_UNAVAILABLE",
        {
          image: img.image,
          wanted: formatPlatform(want),
          platforms: offered,
          indexDigest: top.digest,
          ...(distinct.length > offered.length ? { distinct: distinct.length } : {}),
          fixesFor: r.fixesFor,
        },
        { ...evidence, platforms: offered },
      ),
    );
    return null;
  }
  const chosen = entries[order[0]!]!;
  const platform = chosen.platform ? formatPlatform(chosen.platform) : formatPlatform(want);
  (evidence.index as Evidence).chosen = { digest: chosen.digest, platform, mediaType: chosen.mediaType, size: chosen.size };
  if (chosen.size > MAX_MANIFEST_BYTES) return oversized(r, img, chosen.size, chosen.mediaType);
  const child = await getManifest(r, img, {
    url: manifestUrl(r.registry.baseUrl, img.repository, chosen.digest),
    expected: chosen.digest,
    what: "descriptor",
    key: "getImage",
    child: { index: top.digest, platform },
  });
  if (!child) return null;
  return { index: { digest: top.digest, mediaType: parsed.mediaType, platforms }, image: child, platform };
}

/** An image manifest of a type the clients pull, whose config is an image's (not an artifact's). */
function imageTypesPullable(r: ManifestRequest, img: ManifestImage, image: Got): image is GotImage {
  const { evidence, findings } = r;
  if (image.parsed.kind !== "image" || !IMAGE_MANIFEST_TYPES.includes(image.parsed.mediaType)) {
    const mediaType = image.parsed.kind === "image" ? image.parsed.mediaType : image.parsed.mediaType;
    findings.push(
      finding(
        "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
        { ...img, mediaType, configMediaType: null, reason: "media-type", size: image.bytes.length, kind: "manifest", tool: "" },
        evidence,
      ),
    );
    return false;
  }
  const cfgType = image.parsed.config.mediaType;
  if (IMAGE_CONFIG_TYPES.includes(cfgType)) return true;
  const a = artifactKind(cfgType);
  findings.push(
    finding(
      "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
      {
        ...img,
        mediaType: image.parsed.mediaType,
        configMediaType: cfgType,
        reason: "artifact",
        size: image.bytes.length,
        kind: a.kind,
        tool: a.tool,
      },
      evidence,
    ),
  );
  return false;
}

/**
 * Docker reads a single-platform image's config; an explicit --platform it does not satisfy is
 * refused. Without --platform Docker only warns, so the config just names the platform.
 * The platform the config names (`actual`; undefined when it names none), null when refused.
 */
function singlePlatform(r: ManifestRequest, img: ManifestImage, want: Platform, actual: Platform | null): string | undefined | null {
  if (!actual) return undefined;
  const platform = formatPlatform(normalizePlatform(actual));
  if (r.explicitPlatform && !only(want).match(actual)) {
    r.findings.push(
      finding(
        "PLATFORM_UNAVAILABLE",
        { image: img.image, wanted: formatPlatform(want), platforms: [platform], indexDigest: "", single: true, fixesFor: r.fixesFor },
        { ...r.evidence, platforms: [platform] },
      ),
    );
    return null;
  }
  return platform;
}
