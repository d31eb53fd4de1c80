import type { Evidence } from "../model/evidence";
import { finding } from "../model/finding";
import { parseRegistryErrors } from "./errors";
import { type HttpResponse, NetError } from "./http";
import { digestOf, isDigest, MAX_MANIFEST_BYTES, type ParsedManifest, parseManifest, readRateLimit } from "./manifest";
import { bodyStart, classifyManifestFailure, contentTypeMismatch, exchangeEvidence, rateEvidence, rateParams } from "./manifest-classify";
import type { ManifestImage, ManifestRequest } from "./manifest-request";
import { bareType, MANIFEST_ACCEPT } from "./media-types";

/** A manifest fetched, its bytes verified and parsed. */
export type Got = { bytes: Uint8Array; contentType: string; parsed: ParsedManifest; digest: string };

/** One manifest to GET: where, the digest it must hash to, and the evidence key its exchange goes under. */
export interface ManifestGet {
  url: string;
  expected: string | null;
  what: "pinned" | "header" | "descriptor";
  key: string;
  /** An index's child: a 404 for it is that digest unknown. */
  child?: { index: string; platform: string };
}

/**
 * A Docker-Content-Digest that is not a digest (bytes that are not even UTF-8, a truncated hash):
 * containerd refuses it ("… in header not a valid digest"); the doctor never requests by it.
 */
export function invalidDigestHeader(
  findings: ManifestRequest["findings"],
  evidence: Evidence,
  p: { image: string; registry: string; repository: string; reference: string; url: string; status: number; contentType: string | null },
  header: string,
): null {
  const problem = `its Docker-Content-Digest header "${header.slice(0, 200)}" is not a valid digest`;
  findings.push(finding("MANIFEST_INVALID", { ...p, problem, bodyStart: "" }, evidence));
  return null;
}

/** A manifest larger than any client accepts (containerd's and Docker's 4 MiB limit). */
export function oversized(r: ManifestRequest, img: ManifestImage, size: number | null, mediaType: string): null {
  r.findings.push(
    finding(
      "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
      { ...img, mediaType, configMediaType: null, reason: "oversized", size, kind: "manifest", tool: "" },
      r.evidence,
    ),
  );
  return null;
}

/** GET one manifest, verify its bytes, parse it. Each failure becomes one finding and `null`. */
export async function getManifest(r: ManifestRequest, img: ManifestImage, g: ManifestGet): Promise<Got | null> {
  const res = await r.client
    .request({
      method: "GET",
      url: g.url,
      headers: { accept: MANIFEST_ACCEPT },
      authorization: r.authorization,
      maxBodyBytes: MAX_MANIFEST_BYTES,
    })
    .catch((e: unknown) => {
      if (e instanceof NetError) return e;
      throw e;
    });
  if (res instanceof NetError) {
    r.evidence.error = res.toEvidence();
    r.findings.push(finding("MANIFEST_FETCH_FAILED", { ...img, method: "GET", url: g.url, status: null, error: res.message }, r.evidence));
    return null;
  }
  if (res.status !== 200) return refused(r, img, g, res);
  return verified(r, img, g, res);
}

/** A GET answered other than 200: rate limited, an index's child unknown, or a failed fetch. */
function refused(r: ManifestRequest, img: ManifestImage, g: ManifestGet, res: HttpResponse): null {
  const { evidence, findings } = r;
  const diagnostics = parseRegistryErrors(res.body, res.headers["content-type"] ?? "");
  evidence[g.key] = exchangeEvidence("GET", res, diagnostics);
  const f = classifyManifestFailure(res.status, diagnostics);
  if (f.kind === "rate-limited") {
    // Docker Hub: the HEAD is free, the GET counts. This is where a pull meets the limit.
    const rate = readRateLimit(res.headers, res.rawHeaders, r.now());
    evidence.rateLimit = rateEvidence(rate);
    const params = { ...rateParams(img.registry, img.repository, rate, r.authenticated, f.message), fixesFor: r.fixesFor };
    findings.push(finding("RATE_LIMITED", params, evidence));
    return null;
  }
  if (g.child && f.kind === "not-found") {
    // The index names a manifest the registry lacks (garbage-collected, a partial push or copy): that
    // digest is unknown, not a registry in poor health.
    const params = {
      ...img,
      reference: g.expected ?? "",
      closestTags: [],
      tags: [],
      tagsListed: false,
      tagCount: null,
      indexDigest: g.child.index,
    };
    evidence.missingManifest = { index: g.child.index, digest: g.expected, platform: g.child.platform };
    findings.push(finding("MANIFEST_UNKNOWN", { ...params, platform: g.child.platform }, evidence));
    return null;
  }
  findings.push(finding("MANIFEST_FETCH_FAILED", { ...img, method: "GET", url: g.url, status: res.status, error: f.message }, evidence));
  return null;
}

/** A 200: the bytes must hash to what was asked for and parse as a manifest the clients take. */
function verified(r: ManifestRequest, img: ManifestImage, g: ManifestGet, res: HttpResponse): Got | null {
  const { evidence, findings } = r;
  const { url, expected } = g;
  const contentType = res.headers["content-type"] ?? "";
  const ex = exchangeEvidence("GET", res);
  evidence[g.key] = ex;
  if (res.truncated) return oversized(r, img, Number(res.headers["content-length"] ?? 0) || null, bareType(contentType));
  const digest = digestOf(res.body, expected ?? "sha256:") ?? "";
  ex.computedDigest = digest;
  // Content addressing: the bytes must hash to what was asked for and to Docker-Content-Digest.
  const header = res.headers["docker-content-digest"];
  if (header && !isDigest(header))
    return invalidDigestHeader(findings, evidence, { ...img, url, status: res.status, contentType: contentType || null }, header);
  const mismatch =
    expected && digest !== expected
      ? { expected, what: g.what }
      : header && digestOf(res.body, header) !== header
        ? { expected: header, what: "header" as const }
        : null;
  if (mismatch) {
    findings.push(finding("DIGEST_MISMATCH", { ...img, expected: mismatch.expected, actual: digest, what: mismatch.what }, evidence));
    return null;
  }
  const parsed = parseManifest(res.body, contentType);
  if (parsed.kind === "invalid") {
    ex.bodyStart = bodyStart(res.body);
    findings.push(
      finding(
        "MANIFEST_INVALID",
        { ...img, url, status: res.status, contentType: contentType || null, problem: parsed.problem, bodyStart: bodyStart(res.body) },
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
    const p = { ...img, mediaType: parsed.mediaType, configMediaType: null, size: res.body.length, kind: "manifest", tool: "" };
    findings.push(finding("MANIFEST_UNSUPPORTED_MEDIA_TYPE", { ...p, reason: "content-type", ...ctMismatch }, evidence));
    return null;
  }
  return { bytes: res.body, contentType, parsed, digest };
}
