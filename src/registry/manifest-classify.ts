import type { Evidence } from "../model/evidence";
import { redactUrl } from "../model/redact";
import { type Diagnostic, parseRegistryErrors } from "./errors";
import type { HttpResponse } from "./http";
import { escapeControls } from "./http-util";
import type { RateLimitInfo } from "./manifest";

/**
 * What a failed manifest (or tags/list) answer means. Pure and table-tested: the stage
 * turns each kind into a finding. Docker maps a non-JSON 429 to TOOMANYREQUESTS, and
 * registries answer a missing repository and a missing tag alike with 404 MANIFEST_UNKNOWN.
 */
export type ManifestFailure =
  | { kind: "rate-limited"; message: string }
  | { kind: "not-found"; code: "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | null; message: string }
  | { kind: "denied"; message: string }
  | { kind: "other"; message: string };

export function classifyManifestFailure(status: number, diagnostics: readonly Diagnostic[]): ManifestFailure {
  const codes = diagnostics.map((d) => d.code.toUpperCase());
  const message = diagnostics.map((d) => (d.message ? `${d.code.toLowerCase()}: ${d.message}` : d.code.toLowerCase())).join("; ");
  if (status === 429 || codes.includes("TOOMANYREQUESTS"))
    return { kind: "rate-limited", message: message || "toomanyrequests: 429 Too Many Requests" };
  if (codes.includes("NAME_UNKNOWN")) return { kind: "not-found", code: "NAME_UNKNOWN", message };
  if (codes.includes("MANIFEST_UNKNOWN")) return { kind: "not-found", code: "MANIFEST_UNKNOWN", message };
  if (status === 404) return { kind: "not-found", code: null, message: message || "404 Not Found" };
  if (status === 401 || status === 403 || codes.includes("DENIED") || codes.includes("UNAUTHORIZED"))
    return { kind: "denied", message: message || `HTTP ${status}` };
  return { kind: "other", message: message || `unexpected HTTP status ${status}` };
}

/** What GET /v2/NAME/tags/list says about the repository. */
export type TagsAnswer = { kind: "listed"; tags: string[] } | { kind: "no-repository" } | { kind: "unavailable"; status: number | null };

export function classifyTagsList(status: number, body: Uint8Array, contentType: string | undefined): TagsAnswer {
  if (status === 200) {
    try {
      const doc = JSON.parse(new TextDecoder().decode(body)) as { tags?: unknown };
      // Tags are offered in findings ("did you mean …"): control characters are shown, not sent.
      const tags = Array.isArray(doc.tags) ? doc.tags.filter((t): t is string => typeof t === "string").map(escapeControls) : [];
      return { kind: "listed", tags };
    } catch {
      return { kind: "unavailable", status };
    }
  }
  const codes = parseRegistryErrors(body, contentType).map((d) => d.code.toUpperCase());
  if (codes.includes("NAME_UNKNOWN") || (status === 404 && codes.length === 0)) return { kind: "no-repository" };
  return { kind: "unavailable", status };
}

/** A HEAD/GET as evidence: what a support engineer needs, nothing secret. */
export function exchangeEvidence(method: string, r: HttpResponse, diagnostics?: readonly Diagnostic[]): Evidence {
  const h = r.headers;
  const e: Evidence = {
    method,
    url: redactUrl(r.url),
    status: r.status,
    contentType: h["content-type"] ?? null,
    dockerContentDigest: h["docker-content-digest"] ?? null,
    contentLength: h["content-length"] !== undefined ? Number(h["content-length"]) : null,
    durationMs: r.durationMs,
    remoteAddress: r.remoteAddress,
  };
  if (h["docker-distribution-api-version"]) e.apiVersion = h["docker-distribution-api-version"];
  if (diagnostics?.length) e.errors = diagnostics.map((d) => ({ code: d.code, message: d.message }));
  return e;
}

/** The first bytes of a body that is not what it should be, printable. */
export function bodyStart(body: Uint8Array, max = 200): string {
  return new TextDecoder().decode(body.subarray(0, max)).replace(/[^\x20-\x7e\n]/g, "?");
}

/** Rate-limit headers as evidence. */
export function rateEvidence(r: RateLimitInfo): Evidence {
  return {
    limit: r.limit?.value ?? null,
    limitWindowSeconds: r.limit?.windowSeconds ?? null,
    remaining: r.remaining?.value ?? null,
    remainingWindowSeconds: r.remaining?.windowSeconds ?? null,
    source: r.source,
    retryAfterSeconds: r.retryAfterSeconds,
    warnings: r.warnings,
  };
}

/** RATE_LIMITED params from the headers of the 429 (or of the HEAD before it). */
export function rateParams(registry: string, repository: string, r: RateLimitInfo, authenticated: boolean, message: string) {
  return {
    registry,
    repository,
    limit: r.limit?.value ?? null,
    remaining: r.remaining?.value ?? null,
    windowSeconds: r.remaining?.windowSeconds ?? r.limit?.windowSeconds ?? null,
    retryAfterSeconds: r.retryAfterSeconds,
    source: r.source,
    authenticated,
    message,
  };
}

/**
 * A Content-Type the clients refuse for this body, or null. Since CVE-2021-41190 every client
 * checks that the document is the kind its media type says: docker/distribution's
 * manifest/ocischema validateManifest ("ocimanifest: expected manifest but found index") and
 * manifest/manifestlist validateIndex, containerd:core/images/image.go ValidateMediaType
 * (the HEAD's Content-Type becomes the descriptor's media type), containers/image:
 * internal/manifest/manifest.go ValidateUnambiguousManifestFormat. text/plain is read as schema 1
 * (containerd:core/remotes/docker/resolver.go, Red Hat's old quirk; containers/image
 * manifest.NormalizedMIMEType maps any unknown type to schema 1 signed).
 */
export function contentTypeMismatch(
  kind: "index" | "image",
  contentType: string,
): { found: "index" | "manifest"; contentType: string } | null {
  const ct = contentType.split(";")[0]!.trim().toLowerCase();
  const manifestTypes = ["application/vnd.oci.image.manifest.v1+json", "application/vnd.docker.distribution.manifest.v2+json"];
  const indexTypes = ["application/vnd.oci.image.index.v1+json", "application/vnd.docker.distribution.manifest.list.v2+json"];
  const found = kind === "index" ? "index" : "manifest";
  if (kind === "index" && manifestTypes.includes(ct)) return { found, contentType: ct };
  if (kind === "image" && indexTypes.includes(ct)) return { found, contentType: ct };
  if (ct === "text/plain") return { found, contentType: ct };
  return null;
}
