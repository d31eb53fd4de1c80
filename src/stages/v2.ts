import { endpointSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { AuthChallenge } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl, scrubDeep } from "../model/redact";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { challengeLines, chooseChallenge, type ProbedChallenge, parseChallenges } from "../registry/challenge";
import { formatDiagnostic, parseRegistryErrors } from "../registry/errors";
import { createHttpClient, type HttpResponse, NetError } from "../registry/http";
import { escapeControls } from "../registry/http-util";

/** What the doctor read from GET /v2/ (the input of the pure classifier). */
export interface V2Observation {
  status: number;
  contentType: string | null;
  apiVersion: string | null;
  /** WWW-Authenticate lines. */
  challengeLines: number;
  /** The first bytes of the body, as text. */
  bodyStart: string;
  location: string | null;
}

export type V2Verdict = { kind: "registry"; note: string | null } | { kind: "not-registry"; served: string } | { kind: "server-error" };

const HTML_START = /^\s*<(!doctype|html|head|body|\?xml|title|meta|script|div|h1|p)\b/i;

export function htmlTitle(body: string): string | null {
  const m = /<title[^>]*>([\s\S]*?)<\/title>/i.exec(body);
  return m ? m[1]!.replace(/\s+/g, " ").trim().slice(0, 120) || null : null;
}

/**
 * Is this a registry? Per the distribution spec a registry answers /v2/ with 200 (open) or 401
 * (auth needed), with JSON and `Docker-Distribution-API-Version: registry/2.0`. Docker's own ping
 * accepts anything and fails later; the doctor names what was served instead.
 */
export function classifyV2(o: V2Observation): V2Verdict {
  if (o.status >= 500) return { kind: "server-error" };
  const html = /html/i.test(o.contentType ?? "") || HTML_START.test(o.bodyStart);
  if ((o.status === 200 || o.status === 401) && (!html || o.apiVersion)) {
    if (o.apiVersion) return { kind: "registry", note: null };
    if (o.status === 401 && o.challengeLines === 0)
      return { kind: "registry", note: "401 without WWW-Authenticate and without Docker-Distribution-API-Version" };
    return { kind: "registry", note: "no Docker-Distribution-API-Version header (some registries omit it)" };
  }
  const ct = o.contentType ? o.contentType.split(";")[0]!.trim() : "no Content-Type";
  const title = htmlTitle(o.bodyStart);
  let served: string;
  if (o.status >= 300 && o.status < 400) served = `a redirect (${o.status}) to ${o.location ?? "(no Location)"}`;
  else if (html) served = `an HTML page (${o.status}, ${ct}${title ? `, titled "${title}"` : ""})`;
  else if (o.status === 404) served = `404 Not Found (${ct}): no registry API at this path`;
  else served = `${o.status} (${ct})${o.bodyStart.trim() ? `: "${o.bodyStart.trim().slice(0, 80)}"` : ""}`;
  return { kind: "not-registry", served };
}

/** The Location as an absolute, redacted URL (signed redirect URLs carry credentials in the query). */
function absoluteLocation(loc: string, base: string): string {
  // Bytes shown escaped (\xNN) would become path separators in a parsed URL: shown as sent.
  if (/[\\\s]/.test(loc)) return `"${scrubDeep(loc)}"`;
  try {
    return redactUrl(new URL(loc, base).toString());
  } catch {
    return scrubDeep(loc);
  }
}

function observe(res: HttpResponse): V2Observation {
  return {
    status: res.status,
    contentType: res.headers["content-type"] ?? null,
    apiVersion: res.headers["docker-distribution-api-version"] ?? null,
    challengeLines: challengeLines(res.rawHeaders).length,
    // The page's words reach the finding (its title, its first line): control characters are shown, not sent.
    bodyStart: escapeControls(new TextDecoder().decode(res.body.subarray(0, 4096))),
    location: res.headers.location ? absoluteLocation(res.headers.location, res.url) : null,
  };
}

async function run(ctx: StageContext): Promise<StageOutcome> {
  const link = ctx.facts.link!;
  const url = `${link.baseUrl}/v2/`;
  const host = new URL(link.baseUrl).host;
  const client = createHttpClient(endpointSettings(ctx));
  let res: HttpResponse;
  try {
    res = await client.request({ method: "GET", url, maxBodyBytes: 16 * 1024 });
  } catch (e) {
    if (!(e instanceof NetError)) throw e;
    return noResponse(ctx, url, host, e);
  } finally {
    await client.close();
  }

  const o = observe(res);
  const raw = challengeLines(res.rawHeaders);
  const challenges = parseChallenges(raw);
  const chosen = chooseChallenge(challenges);
  const date = res.headers.date ?? null;
  const verdict = classifyV2(o);
  const evidence = answerEvidence(ctx, url, res, o, raw, challenges, chosen);
  const findings: Finding[] = [];
  if (verdict.kind === "registry") {
    if (verdict.note) evidence.note = verdict.note;
    const challenge: ProbedChallenge = { status: res.status, challenges, chosen, raw, date, url };
    const how =
      res.status === 200
        ? "open (no authentication asked)"
        : chosen
          ? `asks ${chosen.scheme}${chosen.params.realm ? ` (realm ${chosen.params.realm})` : ""}`
          : "401 without a usable challenge";
    return {
      summary: `GET ${url} → ${res.status}${o.apiVersion ? ` ${o.apiVersion}` : ""}, ${how}`,
      evidence,
      findings,
      provides: { challenge },
    };
  }
  return notRegistry(url, host, res, o, verdict, evidence);
}

/** /v2/ answered, but not as a registry does (apart from run, which a healthy check compiles). */
function notRegistry(
  url: string,
  host: string,
  res: HttpResponse,
  o: V2Observation,
  verdict: Exclude<V2Verdict, { kind: "registry" }>,
  evidence: Evidence,
): StageOutcome {
  const findings: Finding[] = [];
  evidence.bodyPreview = scrubDeep(o.bodyStart.slice(0, 600));
  if (verdict.kind === "server-error") {
    const errors = parseRegistryErrors(res.body, o.contentType ?? undefined).map(formatDiagnostic);
    evidence.errors = errors;
    findings.push(
      finding(
        "V2_SERVER_ERROR",
        {
          url,
          host,
          status: res.status,
          statusText: res.statusText,
          server: res.headers.server ?? null,
          errors,
          retryAfter: res.headers["retry-after"] ?? null,
        },
        evidence,
      ),
    );
    return { summary: `GET ${url} → ${res.status} ${res.statusText} (server error)`, evidence, findings };
  }
  const title = htmlTitle(o.bodyStart);
  evidence.title = title;
  findings.push(
    finding(
      "V2_NOT_A_REGISTRY",
      { url, host, status: res.status, contentType: o.contentType, served: verdict.served, location: o.location, title },
      evidence,
    ),
  );
  return { summary: `GET ${url} → ${verdict.served}: not a registry`, evidence, findings };
}

/** GET /v2/ got no answer at all, although the connect stage had reached the host. */
function noResponse(ctx: StageContext, url: string, host: string, e: NetError): StageOutcome {
  const evidence: Evidence = { url, error: e.toEvidence(), timeoutMs: ctx.options.timeoutMs };
  return {
    summary: `GET ${url}: ${e.message}`,
    evidence,
    findings: [
      finding(
        "V2_NO_RESPONSE",
        { url, host, kind: e.kind, phase: e.phase, message: e.message, timeoutMs: ctx.options.timeoutMs },
        evidence,
        {
          // The connect stage had succeeded: a failure while connecting again means the path is flaky or the server went away.
          ...(e.phase === "dns" || e.phase === "connect" || e.phase === "tls"
            ? {
                note: `The ${e.phase} step itself failed this time although the connect stage had passed: an intermittent path or server.`,
              }
            : {}),
        },
      ),
    ],
  };
}

/** What /v2/ answered, as evidence: status, API version, the challenges and the server's clock. */
function answerEvidence(
  ctx: StageContext,
  url: string,
  res: HttpResponse,
  o: V2Observation,
  raw: string[],
  challenges: AuthChallenge[],
  chosen: AuthChallenge | null,
): Evidence {
  const date = res.headers.date ?? null;
  const serverMs = date ? Date.parse(date) : NaN;
  return {
    url,
    status: res.status,
    statusText: res.statusText,
    apiVersion: o.apiVersion,
    contentType: o.contentType,
    server: res.headers.server ?? null,
    wwwAuthenticate: raw,
    challenges: challenges.map((c) => ({ scheme: c.scheme, params: { ...c.params } })),
    chosen: chosen ? chosen.scheme : null,
    date,
    // Positive: the registry's clock is ahead of ours (token times are judged by the registry's clock).
    clockOffsetSeconds: Number.isNaN(serverMs) ? null : Math.round((serverMs - ctx.deps.now().getTime()) / 1000),
    location: o.location,
    durationMs: res.durationMs,
    remoteAddress: res.remoteAddress,
  };
}

export const v2Stage: Stage = {
  id: "v2",
  title: "Registry API (/v2/)",
  scope: "endpoint",
  needs: ["ref", "link"],
  async run(ctx) {
    const out = await run(ctx);
    const wire = ctx.facts.client?.wire;
    return wire && !wire.pingsV2 ? evidenceOnly(out, wire.label, `${ctx.facts.link!.baseUrl}/v2/`) : out;
  },
};

/**
 * A client without a ping (containerd's resolver: the first request is the manifest HEAD,
 * containerd/containerd:core/remotes/docker/resolver.go#dockerResolver.Resolve) never asks
 * /v2/, so what /v2/ answers cannot fail its pull: the probe is kept as evidence, its findings
 * become information, and the auth stage starts from the manifest as that client does. A /v2/
 * that is broken while the repository paths work is common behind proxies that route only them.
 */
function unpinged(url: string): ProbedChallenge {
  return { status: 0, challenges: [], chosen: null, raw: [], date: null, url, unpinged: true };
}

export function evidenceOnly(out: StageOutcome, client: string, url: string): StageOutcome {
  const note = `${client} never requests /v2/ (its first request is the manifest), so this does not stop its pull.`;
  return {
    ...out,
    summary: `${client} sends no /v2/ ping; probed for evidence: ${out.summary}`,
    findings: out.findings.map((f) => ({ ...f, severity: "info" as const, detail: `${f.detail} ${note}` })),
    provides: out.provides ?? { challenge: unpinged(url) },
  };
}
