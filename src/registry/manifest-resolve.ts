import type { Evidence } from "../model/evidence";
import type { Platform, ResolvedManifest } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { Secret } from "../model/secret";
import type { StageContext } from "../model/stage";
import { parseRegistryErrors } from "./errors";
import { type HttpClient, NetError } from "./http";
import { digestOf, isDigest, MAX_MANIFEST_BYTES, manifestUrl, type ParsedManifest, parseManifest, readRateLimit } from "./manifest";
import { bodyStart, classifyManifestFailure, contentTypeMismatch, exchangeEvidence, rateEvidence, rateParams } from "./manifest-classify";
import { fetchConfigPlatform } from "./manifest-config";
import { artifactKind, bareType, IMAGE_CONFIG_TYPES, IMAGE_MANIFEST_TYPES, MANIFEST_ACCEPT } from "./media-types";
import { formatPlatform, normalizePlatform, only, rankPlatforms } from "./platform";

/**
 * A Docker-Content-Digest that is not a digest (bytes that are not even UTF-8, a truncated hash):
 * containerd refuses it ("… in header not a valid digest"); the doctor never requests by it.
 */
export function invalidDigestHeader(
  findings: Finding[],
  evidence: Evidence,
  p: { image: string; registry: string; repository: string; reference: string; url: string; status: number; contentType: string | null },
  header: string,
): null {
  const problem = `its Docker-Content-Digest header "${header.slice(0, 200)}" is not a valid digest`;
  findings.push(finding("MANIFEST_INVALID", { ...p, problem, bodyStart: "" }, evidence));
  return null;
}

export interface ManifestTarget {
  img: { image: string; registry: string; repository: string; reference: string; baseUrl?: string };
  /** The tag/digest URL the HEAD went to. */
  url: string;
  headDigest: string | null;
  headSize: number | null;
}

type Got = { bytes: Uint8Array; contentType: string; parsed: ParsedManifest; digest: string };

/**
 * GET the manifest the HEAD named (by digest, as Docker does), pick the platform from an
 * index and GET that image manifest. Each failure becomes one finding and `null`.
 */
export async function resolveImageManifest(
  client: HttpClient,
  ctx: StageContext,
  t: ManifestTarget,
  want: Platform,
  authorization: Secret | null,
  evidence: Evidence,
  findings: Finding[],
): Promise<ResolvedManifest | null> {
  const { img } = t;
  const base = ctx.facts.link!.baseUrl;
  const oversized = (size: number | null, mediaType: string) => {
    findings.push(
      finding(
        "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
        { ...img, mediaType, configMediaType: null, reason: "oversized", size, kind: "manifest", tool: "" },
        evidence,
      ),
    );
    return null;
  };
  if (t.headSize !== null && t.headSize > MAX_MANIFEST_BYTES) return oversized(t.headSize, "");

  /** GET one manifest, verify its bytes, parse it. `expected`: the digest it must hash to. */
  const get = async (
    url: string,
    expected: string | null,
    what: "pinned" | "header" | "descriptor",
    key: string,
    child?: { index: string; platform: string },
  ): Promise<Got | null> => {
    const r = await client
      .request({ method: "GET", url, headers: { accept: MANIFEST_ACCEPT }, authorization, maxBodyBytes: MAX_MANIFEST_BYTES })
      .catch((e: unknown) => {
        if (e instanceof NetError) return e;
        throw e;
      });
    if (r instanceof NetError) {
      evidence.error = r.toEvidence();
      findings.push(finding("MANIFEST_FETCH_FAILED", { ...img, method: "GET", url, status: null, error: r.message }, evidence));
      return null;
    }
    const contentType = r.headers["content-type"] ?? "";
    if (r.status !== 200) {
      const diagnostics = parseRegistryErrors(r.body, contentType);
      evidence[key] = exchangeEvidence("GET", r, diagnostics);
      const f = classifyManifestFailure(r.status, diagnostics);
      if (f.kind === "rate-limited") {
        // Docker Hub: the HEAD is free, the GET counts. This is where a pull meets the limit.
        const rate = readRateLimit(r.headers, r.rawHeaders, ctx.deps.now());
        evidence.rateLimit = rateEvidence(rate);
        findings.push(finding("RATE_LIMITED", rateParams(img.registry, img.repository, rate, !!ctx.facts.credential, f.message), evidence));
        return null;
      }
      if (child && f.kind === "not-found") {
        // The index names a manifest the registry lacks (garbage-collected, a partial push or copy): that
        // digest is unknown, not a registry in poor health.
        const params = {
          ...img,
          reference: expected ?? "",
          closestTags: [],
          tags: [],
          tagsListed: false,
          tagCount: null,
          indexDigest: child.index,
        };
        evidence.missingManifest = { index: child.index, digest: expected, platform: child.platform };
        findings.push(finding("MANIFEST_UNKNOWN", { ...params, platform: child.platform }, evidence));
        return null;
      }
      findings.push(finding("MANIFEST_FETCH_FAILED", { ...img, method: "GET", url, status: r.status, error: f.message }, evidence));
      return null;
    }
    const ex = exchangeEvidence("GET", r);
    evidence[key] = ex;
    if (r.truncated) return oversized(Number(r.headers["content-length"] ?? 0) || null, bareType(contentType));
    const digest = digestOf(r.body, expected ?? "sha256:") ?? "";
    ex.computedDigest = digest;
    // Content addressing: the bytes must hash to what was asked for and to Docker-Content-Digest.
    const header = r.headers["docker-content-digest"];
    if (header && !isDigest(header))
      return invalidDigestHeader(findings, evidence, { ...img, url, status: r.status, contentType: contentType || null }, header);
    const mismatch =
      expected && digest !== expected
        ? { expected, what }
        : header && digestOf(r.body, header) !== header
          ? { expected: header, what: "header" as const }
          : null;
    if (mismatch) {
      findings.push(finding("DIGEST_MISMATCH", { ...img, expected: mismatch.expected, actual: digest, what: mismatch.what }, evidence));
      return null;
    }
    const parsed = parseManifest(r.body, contentType);
    if (parsed.kind === "invalid") {
      ex.bodyStart = bodyStart(r.body);
      findings.push(
        finding(
          "MANIFEST_INVALID",
          { ...img, url, status: r.status, contentType: contentType || null, problem: parsed.problem, bodyStart: bodyStart(r.body) },
          evidence,
        ),
      );
      return null;
    }
    if (parsed.kind === "schema1") {
      findings.push(finding("MANIFEST_SCHEMA1", { ...img, mediaType: parsed.mediaType }, evidence));
      return null;
    }
    // The clients judge the body by its Content-Type, not by its own mediaType field.
    const ctMismatch = contentTypeMismatch(parsed.kind, contentType);
    if (ctMismatch) {
      const p = { ...img, mediaType: parsed.mediaType, configMediaType: null, size: r.body.length, kind: "manifest", tool: "" };
      findings.push(finding("MANIFEST_UNSUPPORTED_MEDIA_TYPE", { ...p, reason: "content-type", ...ctMismatch }, evidence));
      return null;
    }
    return { bytes: r.body, contentType, parsed, digest };
  };

  const pinned = img.reference.includes(":") ? img.reference : null;
  const topRef = pinned ?? t.headDigest ?? img.reference;
  const top = await get(manifestUrl(base, img.repository, topRef), pinned ?? t.headDigest, pinned ? "pinned" : "header", "get");
  if (!top) return null;

  let index: ResolvedManifest["index"] = null;
  let image: Got = top;
  let platform = formatPlatform(want);
  if (top.parsed.kind === "index") {
    const entries = top.parsed.manifests;
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
      mediaType: top.parsed.mediaType,
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
          },
          { ...evidence, platforms: offered },
        ),
      );
      return null;
    }
    const chosen = entries[order[0]!]!;
    platform = chosen.platform ? formatPlatform(chosen.platform) : platform;
    (evidence.index as Evidence).chosen = { digest: chosen.digest, platform, mediaType: chosen.mediaType, size: chosen.size };
    if (chosen.size > MAX_MANIFEST_BYTES) return oversized(chosen.size, chosen.mediaType);
    const child = await get(manifestUrl(base, img.repository, chosen.digest), chosen.digest, "descriptor", "getImage", {
      index: top.digest,
      platform,
    });
    if (!child) return null;
    index = { digest: top.digest, mediaType: top.parsed.mediaType, platforms };
    image = child;
  }
  if (image.parsed.kind !== "image" || !IMAGE_MANIFEST_TYPES.includes(image.parsed.mediaType)) {
    const mediaType = image.parsed.kind === "image" ? image.parsed.mediaType : image.parsed.mediaType;
    findings.push(
      finding(
        "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
        { ...img, mediaType, configMediaType: null, reason: "media-type", size: image.bytes.length, kind: "manifest", tool: "" },
        evidence,
      ),
    );
    return null;
  }
  const cfgType = image.parsed.config.mediaType;
  if (!IMAGE_CONFIG_TYPES.includes(cfgType)) {
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
    return null;
  }
  if (!index) {
    // Docker reads a single-platform image's config first; an explicit --platform it does not
    // satisfy is refused. Without --platform Docker only warns, so the config just names the platform.
    const actual = await fetchConfigPlatform(ctx, image.parsed.config, authorization, evidence);
    if (actual) {
      platform = formatPlatform(normalizePlatform(actual));
      if (ctx.options.platform && !only(want).match(actual)) {
        findings.push(
          finding(
            "PLATFORM_UNAVAILABLE",
            { image: img.image, wanted: formatPlatform(want), platforms: [platform], indexDigest: "", single: true },
            { ...evidence, platforms: [platform] },
          ),
        );
        return null;
      }
    }
  }
  evidence.image = {
    digest: image.digest,
    mediaType: image.parsed.mediaType,
    size: image.bytes.length,
    config: { mediaType: cfgType, digest: image.parsed.config.digest, size: image.parsed.config.size },
    layers: image.parsed.layers.length,
    platform,
  };
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
  };
}
