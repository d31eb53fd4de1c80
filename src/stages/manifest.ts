import { endpointSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { AuthSession, Platform, ResolvedManifest } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl, scrubDeep } from "../model/redact";
import type { Secret } from "../model/secret";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { parseRegistryErrors } from "../registry/errors";
import { createHttpClient, type HttpClient, type HttpResponse, NetError } from "../registry/http";
import { isDigest, MAX_MANIFEST_BYTES, manifestUrl, rateLimitLow, readRateLimit, tagsUrl } from "../registry/manifest";
import {
  bodyStart,
  classifyManifestFailure,
  classifyTagsList,
  exchangeEvidence,
  rateEvidence,
  rateParams,
} from "../registry/manifest-classify";
import { invalidDigestHeader, type ManifestTarget, resolveImageManifest } from "../registry/manifest-resolve";
import { closestTags, tagsToName } from "../registry/manifest-tags";
import { MANIFEST_ACCEPT } from "../registry/media-types";
import { parsePlatform } from "../registry/platform";
import { TokenError } from "../registry/token";

/**
 * The manifest stage: what `docker pull` does after auth. HEAD the tag first (Docker Hub does
 * not count HEADs against the pull limit), GET it only to read an error body, then GET the
 * index/manifest by digest, pick the platform as containerd does, GET the image manifest,
 * and verify every manifest's bytes against its digest.
 */
export const manifestStage: Stage = {
  id: "manifest",
  title: "manifest",
  scope: "endpoint",
  needs: ["ref", "link", "session"],
  async run(ctx) {
    const client = createHttpClient(endpointSettings(ctx));
    try {
      return await diagnose(ctx, client);
    } finally {
      await client.close();
    }
  },
};

/** One request; a transport failure comes back as a NetError value (the only error we turn into a finding). */
export async function attempt(client: HttpClient, init: Parameters<HttpClient["request"]>[0]): Promise<HttpResponse | NetError> {
  try {
    return await client.request(init);
  } catch (e) {
    if (e instanceof NetError) return e;
    throw e;
  }
}

async function diagnose(ctx: StageContext, client: HttpClient): Promise<StageOutcome> {
  const ref = ctx.facts.ref!;
  const link = ctx.facts.link!;
  const session = ctx.facts.session!;
  const reference = ref.digest ?? ref.tag ?? "latest";
  const img = { image: ref.familiar, registry: ref.registry, repository: ref.repository, reference, baseUrl: link.baseUrl };
  const authenticated = !!ctx.facts.credential;
  const url = manifestUrl(link.baseUrl, ref.repository, reference);
  const evidence: Evidence = { url, accept: MANIFEST_ACCEPT };
  const findings: Finding[] = [];
  const out = (summary: string): StageOutcome => ({ summary, evidence, findings });
  // The auth stage's token is cached; a refresh that fails now is reported here, not thrown.
  const authorization = await authorizeOrError(session);
  if (authorization instanceof Error) {
    const info = authorization instanceof TokenError ? authorization.info : null;
    findings.push(
      finding(
        "MANIFEST_FETCH_FAILED",
        {
          ...img,
          method: info?.method ?? "GET",
          url: info?.url ?? url,
          status: info?.status ?? null,
          error: `token: ${authorization.message}`,
        },
        evidence,
      ),
    );
    return out(`no token for the manifest request: ${authorization.message}`);
  }
  const fetchFailed = (method: string, u: string, e: NetError | HttpResponse, error?: string) => {
    const status = e instanceof NetError ? null : e.status;
    if (e instanceof NetError) evidence.error = e.toEvidence();
    findings.push(
      finding(
        "MANIFEST_FETCH_FAILED",
        { ...img, method, url: u, status, error: error ?? (e instanceof NetError ? e.message : `HTTP ${status}`) },
        evidence,
      ),
    );
    return out(`${method} manifest failed: ${error ?? (e instanceof NetError ? e.message : `HTTP ${status}`)}`);
  };

  const head = await attempt(client, { method: "HEAD", url, headers: { accept: MANIFEST_ACCEPT }, authorization });
  if (head instanceof NetError) return fetchFailed("HEAD", url, head);
  evidence.head = exchangeEvidence("HEAD", head);
  const rate = readRateLimit(head.headers, head.rawHeaders, ctx.deps.now());
  evidence.rateLimit = rateEvidence(rate);

  // What the HEAD would have told: a GET stands in when HEAD is refused (405, or a proxy that drops HEAD), as containerd does.
  let named: HttpResponse = head;
  if (head.status !== 200) {
    // HEAD has no body: GET for the error code, as Docker's tags.Get and containerd do.
    const get = await attempt(client, {
      method: "GET",
      url,
      headers: { accept: MANIFEST_ACCEPT },
      authorization,
      maxBodyBytes: MAX_MANIFEST_BYTES,
    });
    if (get instanceof NetError) return fetchFailed("GET", url, get);
    const diagnostics = parseRegistryErrors(get.body, get.headers["content-type"]);
    evidence.get = exchangeEvidence("GET", get, diagnostics);
    const getRate = readRateLimit(get.headers, get.rawHeaders, ctx.deps.now());
    const r = getRate.limit || getRate.retryAfterSeconds !== null ? getRate : rate;
    if (getRate.limit || getRate.retryAfterSeconds !== null) evidence.rateLimit = rateEvidence(getRate);
    if (get.status === 200) {
      evidence.headRefused = head.status;
      named = get;
    } else if (get.status >= 300 && get.status < 400 && get.headers.location) {
      // A registry answers manifests itself; a redirect here is a captive portal or a proxy's login page.
      // A Location with bytes shown escaped (\xNN) or spaces is shown as sent: URL parsing would turn its backslashes into slashes.
      const loc = get.headers.location;
      const to = URL.canParse(loc, url) && !/[\\\s]/.test(loc) ? redactUrl(new URL(loc, url).toString()) : `"${scrubDeep(loc)}"`;
      const problem = `redirected to ${to} instead of answering (a captive portal or proxy login page?)`;
      findings.push(
        finding(
          "MANIFEST_INVALID",
          { ...img, url, status: get.status, contentType: get.headers["content-type"] ?? null, problem, bodyStart: bodyStart(get.body) },
          evidence,
        ),
      );
      return out(problem);
    } else {
      const failure = classifyManifestFailure(get.status, diagnostics);
      if (failure.kind === "rate-limited") {
        const on429 = ctx.facts.client?.wire.on429;
        const params = rateParams(ref.registry, ref.repository, r, authenticated, failure.message);
        findings.push(finding("RATE_LIMITED", params, evidence, on429 ? { note: on429 } : {}));
        return out(`rate limited: ${failure.message}`);
      }
      if (failure.kind === "not-found") return await notFound(client, ctx, img, authorization, evidence, findings, failure.code);
      return fetchFailed("GET", url, get, failure.message);
    }
  }
  if (rateLimitLow(rate)) {
    findings.push(
      finding(
        "RATE_LIMIT_LOW",
        {
          registry: ref.registry,
          limit: rate.limit!.value,
          remaining: rate.remaining!.value,
          windowSeconds: rate.remaining!.windowSeconds ?? rate.limit!.windowSeconds,
          source: rate.source,
          authenticated,
        },
        { rateLimit: evidence.rateLimit },
      ),
    );
  }

  const want = wantedPlatform(ctx);
  if (typeof want === "string") {
    findings.push(
      finding(
        "PLATFORM_UNAVAILABLE",
        { image: ref.familiar, wanted: ctx.options.platform ?? "", platforms: [], indexDigest: "", parseError: want },
        evidence,
      ),
    );
    return out(`invalid --platform: ${want}`);
  }
  const headSize = named === head && head.headers["content-length"] !== undefined ? Number(head.headers["content-length"]) : null;
  const headDigest = named.headers["docker-content-digest"] ?? null;
  if (headDigest && !isDigest(headDigest)) {
    invalidDigestHeader(
      findings,
      evidence,
      { ...img, url, status: named.status, contentType: named.headers["content-type"] ?? null },
      headDigest,
    );
    return out(`${named === head ? "HEAD" : "GET"} ${url}: Docker-Content-Digest is not a valid digest`);
  }
  const target: ManifestTarget = { img, url, headDigest, headSize };
  const resolved = await resolveImageManifest(client, ctx, target, want, authorization, evidence, findings);
  // The GET hit the limit the HEAD warned about: one finding says it.
  if (findings.some((f) => f.code === "RATE_LIMITED"))
    findings.splice(0, findings.length, ...findings.filter((f) => f.code !== "RATE_LIMIT_LOW"));
  if (!resolved) return out(findings[findings.length - 1]?.detail ?? "no usable manifest");
  const m: ResolvedManifest = resolved;
  const size = m.image.layers.reduce((s, l) => s + l.size, 0);
  // Registry Warning headers (deprecations, notices) are shown, not acted on (distribution-spec; containerd does the same).
  const warned = rate.warnings.length ? `; registry warning: ${rate.warnings.join(" | ")}` : "";
  return {
    summary: `${reference} → ${m.digest.slice(0, 19)}… ${m.index ? `(index, ${m.index.platforms.length} platforms) → ${m.platform} ` : ""}${m.image.layers.length} layer${m.image.layers.length === 1 ? "" : "s"}, ${size} bytes${warned}`,
    evidence,
    findings,
    provides: { manifest: m },
  };
}

/** session.authorize(), with the two errors it may throw (token refresh, transport) as values. */
export async function authorizeOrError(session: AuthSession): Promise<Secret | null | TokenError | NetError> {
  try {
    return await session.authorize();
  } catch (e) {
    if (e instanceof TokenError || e instanceof NetError) return e;
    throw e;
  }
}

/** The platform to select: --platform (containerd's Parse), else the host's. A string is Parse's error. */
function wantedPlatform(ctx: StageContext): Platform | string {
  if (!ctx.options.platform) return ctx.deps.hostPlatform;
  try {
    return parsePlatform(ctx.options.platform, ctx.deps.hostPlatform);
  } catch (e) {
    return (e as Error).message;
  }
}

/** 404 on the manifest: ask tags/list whether the repository exists, and which tags are close. */
async function notFound(
  client: HttpClient,
  ctx: StageContext,
  img: { image: string; registry: string; repository: string; reference: string; baseUrl?: string },
  authorization: Secret | null,
  evidence: Evidence,
  findings: Finding[],
  code: "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | null,
): Promise<StageOutcome> {
  const link = ctx.facts.link!;
  const u = tagsUrl(link.baseUrl, img.repository);
  const res = await attempt(client, { method: "GET", url: u, authorization, maxBodyBytes: 1024 * 1024 });
  const answer =
    res instanceof NetError
      ? ({ kind: "unavailable", status: null } as const)
      : classifyTagsList(res.status, res.body, res.headers["content-type"]);
  evidence.tagsList =
    res instanceof NetError
      ? { url: u, error: res.toEvidence() }
      : { ...exchangeEvidence("GET", res), answer: answer.kind, tagCount: answer.kind === "listed" ? answer.tags.length : null };
  if (answer.kind === "no-repository" || (answer.kind === "unavailable" && code === "NAME_UNKNOWN")) {
    findings.push(finding("NAME_UNKNOWN", img, evidence));
    return { summary: `repository ${img.repository} does not exist`, evidence, findings };
  }
  const tags = answer.kind === "listed" ? answer.tags : [];
  const near = answer.kind === "listed" && !img.reference.includes(":") ? closestTags(img.reference, tags) : [];
  evidence.closestTags = near;
  // The common case is `latest` missing while versions exist: name them (the newest when there are many).
  const named = tagsToName(tags);
  evidence.tags = named;
  const listed = answer.kind === "listed";
  findings.push(
    finding(
      "MANIFEST_UNKNOWN",
      { ...img, closestTags: near, tags: named, tagsListed: listed, tagCount: listed ? tags.length : null },
      evidence,
    ),
  );
  return { summary: `manifest ${img.reference} not found${near.length ? `; closest tags: ${near.join(", ")}` : ""}`, evidence, findings };
}
