import { endpointSettings, registryTarget } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { AuthSession, Platform, ResolvedManifest } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl, scrubDeep } from "../model/redact";
import type { Secret } from "../model/secret";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { parseRegistryErrors } from "../registry/errors";
import { createHttpClient, type HttpClient, type HttpResponse, NetError } from "../registry/http";
import { isDigest, MAX_MANIFEST_BYTES, manifestUrl, type RateLimitInfo, rateLimitLow, readRateLimit } from "../registry/manifest";
import { bodyStart, classifyManifestFailure, exchangeEvidence, rateEvidence, rateParams } from "../registry/manifest-classify";
import { invalidDigestHeader } from "../registry/manifest-get";
import type { ManifestImage, ManifestRequest } from "../registry/manifest-request";
import { type ManifestTarget, resolveImageManifest } from "../registry/manifest-resolve";
import { MANIFEST_ACCEPT } from "../registry/media-types";
import { parsePlatform } from "../registry/platform";
import { TokenError } from "../registry/token";
import { attempt, notFound } from "./manifest-not-found";

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

/** What the manifest stage's steps share: the image, the tag's URL, and the evidence and findings they add to. */
interface ManifestRun {
  ctx: StageContext;
  client: HttpClient;
  img: ManifestImage;
  url: string;
  authenticated: boolean;
  evidence: Evidence;
  findings: Finding[];
}

const doneWith = (m: ManifestRun, summary: string): StageOutcome => ({ summary, evidence: m.evidence, findings: m.findings });

async function diagnose(ctx: StageContext, client: HttpClient): Promise<StageOutcome> {
  const ref = ctx.facts.ref!;
  const link = ctx.facts.link!;
  const reference = ref.digest ?? ref.tag ?? "latest";
  const url = manifestUrl(link.baseUrl, ref.repository, reference);
  const m: ManifestRun = {
    ctx,
    client,
    img: { image: ref.familiar, registry: ref.registry, repository: ref.repository, reference, baseUrl: link.baseUrl },
    url,
    authenticated: !!ctx.facts.credential,
    evidence: { url, accept: MANIFEST_ACCEPT },
    findings: [],
  };
  // The auth stage's token is cached; a refresh that fails now is reported here, not thrown.
  const authorization = await authorizeOrError(ctx.facts.session!);
  if (authorization instanceof Error) return noToken(m, authorization);
  const asked = await headThenGet(m, authorization);
  if (!asked.ok) return asked.outcome;
  const { head, named, rate } = asked;
  warnRateLow(m, rate);

  const want = wantedPlatform(ctx);
  if (typeof want === "string") return invalidPlatform(m, want);
  const headSize = named === head && head.headers["content-length"] !== undefined ? Number(head.headers["content-length"]) : null;
  const headDigest = named.headers["docker-content-digest"] ?? null;
  if (headDigest && !isDigest(headDigest)) {
    invalidDigestHeader(
      m.findings,
      m.evidence,
      { ...m.img, url, status: named.status, contentType: named.headers["content-type"] ?? null },
      headDigest,
    );
    return doneWith(m, `${named === head ? "HEAD" : "GET"} ${url}: Docker-Content-Digest is not a valid digest`);
  }
  const target: ManifestTarget = { img: m.img, url, headDigest, headSize };
  const request: ManifestRequest = {
    client,
    settings: endpointSettings(ctx),
    registry: registryTarget(ctx),
    authorization,
    now: () => ctx.deps.now(),
    authenticated: m.authenticated,
    explicitPlatform: !!ctx.options.platform,
    evidence: m.evidence,
    findings: m.findings,
    fixesFor: ctx.facts.client?.wire.fixesFor,
    handOn: ctx.handOn && ((manifest) => ctx.handOn!({ manifest })),
  };
  const resolved = await resolveImageManifest(request, target, want);
  return resolvedOutcome(m, resolved, rate.warnings);
}

/** --platform could not be parsed (`problem`): no manifest can be chosen. */
function invalidPlatform(m: ManifestRun, problem: string): StageOutcome {
  const { ctx } = m;
  const params = {
    image: ctx.facts.ref!.familiar,
    wanted: ctx.options.platform ?? "",
    platforms: [],
    indexDigest: "",
    parseError: problem,
  };
  m.findings.push(finding("PLATFORM_UNAVAILABLE", { ...params, fixesFor: ctx.facts.client?.wire.fixesFor }, m.evidence));
  return doneWith(m, `invalid --platform: ${problem}`);
}

/** The token refresh failed: the manifest cannot be asked for. */
function noToken(m: ManifestRun, error: TokenError | NetError): StageOutcome {
  const info = error instanceof TokenError ? error.info : null;
  m.findings.push(
    finding(
      "MANIFEST_FETCH_FAILED",
      {
        ...m.img,
        method: info?.method ?? "GET",
        url: info?.url ?? m.url,
        status: info?.status ?? null,
        error: `token: ${error.message}`,
      },
      m.evidence,
    ),
  );
  return doneWith(m, `no token for the manifest request: ${error.message}`);
}

function fetchFailed(m: ManifestRun, method: string, u: string, e: NetError | HttpResponse, error?: string): StageOutcome {
  const status = e instanceof NetError ? null : e.status;
  if (e instanceof NetError) m.evidence.error = e.toEvidence();
  const why = error ?? (e instanceof NetError ? e.message : `HTTP ${status}`);
  m.findings.push(finding("MANIFEST_FETCH_FAILED", { ...m.img, method, url: u, status, error: why }, m.evidence));
  return doneWith(m, `${method} manifest failed: ${why}`);
}

type Asked = { ok: true; head: HttpResponse; named: HttpResponse; rate: RateLimitInfo } | { ok: false; outcome: StageOutcome };

/** HEAD the tag; when it is not a 200, GET it for the error body (or as a stand-in for a refused HEAD). */
async function headThenGet(m: ManifestRun, authorization: Secret | null): Promise<Asked> {
  const { ctx, client, url, evidence } = m;
  const asked = ctx.facts.tagHead?.url === url ? ctx.facts.tagHead : undefined;
  const h = asked
    ? { ok: true as const, res: asked.response }
    : await attempt(client, { method: "HEAD", url, headers: { accept: MANIFEST_ACCEPT }, authorization });
  if (!h.ok) return { ok: false, outcome: fetchFailed(m, "HEAD", url, h.error) };
  const head = h.res;
  evidence.head = exchangeEvidence("HEAD", head);
  // Docker's list, which the registry answered 200: adding schema 1 at q=0.5 (MANIFEST_ACCEPT)
  // only changes the answer for a tag that has nothing newer, which would not have been a 200.
  if (asked) evidence.head.sentBy = `the auth stage (Accept: ${asked.accept})`;
  const rate = readRateLimit(head.headers, head.rawHeaders, ctx.deps.now());
  evidence.rateLimit = rateEvidence(rate);
  if (head.status === 200) return { ok: true, head, named: head, rate };
  return getAfterHead(m, authorization, head, rate);
}

/** The HEAD was not a 200 (its own function: a healthy check never compiles it). */
async function getAfterHead(m: ManifestRun, authorization: Secret | null, head: HttpResponse, rate: RateLimitInfo): Promise<Asked> {
  const { ctx, client, url, evidence } = m;
  // What the HEAD would have told: a GET stands in when HEAD is refused (405, or a proxy that drops HEAD), as containerd does.
  // HEAD has no body: GET for the error code, as Docker's tags.Get and containerd do.
  const g = await attempt(client, {
    method: "GET",
    url,
    headers: { accept: MANIFEST_ACCEPT },
    authorization,
    maxBodyBytes: MAX_MANIFEST_BYTES,
  });
  if (!g.ok) return { ok: false, outcome: fetchFailed(m, "GET", url, g.error) };
  const get = g.res;
  const diagnostics = parseRegistryErrors(get.body, get.headers["content-type"]);
  evidence.get = exchangeEvidence("GET", get, diagnostics);
  const getRate = readRateLimit(get.headers, get.rawHeaders, ctx.deps.now());
  const r = getRate.limit || getRate.retryAfterSeconds !== null ? getRate : rate;
  if (getRate.limit || getRate.retryAfterSeconds !== null) evidence.rateLimit = rateEvidence(getRate);
  if (get.status === 200) {
    evidence.headRefused = head.status;
    return { ok: true, head, named: get, rate };
  }
  if (get.status >= 300 && get.status < 400 && get.headers.location) {
    // A registry answers manifests itself; a redirect here is a captive portal or a proxy's login page.
    // A Location with bytes shown escaped (\xNN) or spaces is shown as sent: URL parsing would turn its backslashes into slashes.
    const loc = get.headers.location;
    const to = URL.canParse(loc, url) && !/[\\\s]/.test(loc) ? redactUrl(new URL(loc, url).toString()) : `"${scrubDeep(loc)}"`;
    const problem = `redirected to ${to} instead of answering (a captive portal or proxy login page?)`;
    m.findings.push(
      finding(
        "MANIFEST_INVALID",
        { ...m.img, url, status: get.status, contentType: get.headers["content-type"] ?? null, problem, bodyStart: bodyStart(get.body) },
        evidence,
      ),
    );
    return { ok: false, outcome: doneWith(m, problem) };
  }
  const failure = classifyManifestFailure(get.status, diagnostics);
  if (failure.kind === "rate-limited") {
    const on429 = ctx.facts.client?.wire.on429;
    const params = {
      ...rateParams(m.img.registry, m.img.repository, r, m.authenticated, failure.message),
      fixesFor: ctx.facts.client?.wire.fixesFor,
    };
    m.findings.push(finding("RATE_LIMITED", params, evidence, on429 ? { note: on429 } : {}));
    return { ok: false, outcome: doneWith(m, `rate limited: ${failure.message}`) };
  }
  if (failure.kind === "not-found")
    return { ok: false, outcome: await notFound(client, ctx, m.img, authorization, evidence, m.findings, failure.code) };
  return { ok: false, outcome: fetchFailed(m, "GET", url, get, failure.message) };
}

/** Few pulls left in the window: a warning, with the numbers the registry sent. */
function warnRateLow(m: ManifestRun, rate: RateLimitInfo): void {
  if (!rateLimitLow(rate)) return;
  m.findings.push(
    finding(
      "RATE_LIMIT_LOW",
      {
        registry: m.img.registry,
        limit: rate.limit!.value,
        remaining: rate.remaining!.value,
        windowSeconds: rate.remaining!.windowSeconds ?? rate.limit!.windowSeconds,
        source: rate.source,
        authenticated: m.authenticated,
        fixesFor: m.ctx.facts.client?.wire.fixesFor,
      },
      { rateLimit: m.evidence.rateLimit },
    ),
  );
}

/** The stage's outcome once the manifest is resolved (or not). */
function resolvedOutcome(m: ManifestRun, resolved: ResolvedManifest | null, warnings: string[]): StageOutcome {
  const { findings } = m;
  // The GET hit the limit the HEAD warned about: one finding says it.
  if (findings.some((f) => f.code === "RATE_LIMITED"))
    findings.splice(0, findings.length, ...findings.filter((f) => f.code !== "RATE_LIMIT_LOW"));
  if (!resolved) return doneWith(m, findings[findings.length - 1]?.detail ?? "no usable manifest");
  const size = resolved.image.layers.reduce((s, l) => s + l.size, 0);
  const layers = resolved.image.layers.length;
  // Registry Warning headers (deprecations, notices) are shown, not acted on (distribution-spec; containerd does the same).
  const warned = warnings.length ? `; registry warning: ${warnings.join(" | ")}` : "";
  return {
    summary: `${m.img.reference} → ${resolved.digest.slice(0, 19)}… ${resolved.index ? `(index, ${resolved.index.platforms.length} platforms) → ${resolved.platform} ` : ""}${layers} layer${layers === 1 ? "" : "s"}, ${size} bytes${warned}`,
    evidence: m.evidence,
    findings,
    provides: { manifest: resolved },
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
