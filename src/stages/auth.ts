import { endpointSettings } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { AuthChallenge, Credential } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { bareHost, hostPort, plainHttpAllowed } from "../net/origin";
import { probeHost } from "../net/probe-host";
import { proxyForUrl } from "../net/proxy-env";
import { tlsProbeEvidence } from "../net/tls";
import { challengeLines, challengeProblem, isProbedChallenge, parseChallenges } from "../registry/challenge";
import { formatDiagnostic, parseRegistryErrors } from "../registry/errors";
import { clientForUrl, createHttpClient, type HttpClient, type HttpResponse, NetError } from "../registry/http";
import { escapeControls } from "../registry/http-util";
import { checkTokenTimes, claimsEvidence, grants, LEEWAY_SECONDS } from "../registry/jwt";
import { MEDIA } from "../registry/media-types";
import { RegistrySession } from "../registry/session";
import { TokenError, type TokenResult } from "../registry/token";
import { type AuthVerdict, classifyRegistryAnswer, classifyTokenFailure } from "./auth-classify";

/** Docker's manifest Accept list (vendored docker/distribution ManifestMediaTypes, schema1 no longer registered). */
export const DOCKER_ACCEPT = [MEDIA.dockerManifest, MEDIA.dockerList, MEDIA.ociManifest, MEDIA.ociIndex].join(", ");

const hasCreds = (c: Credential | null | undefined): boolean => !!(c && (c.identityToken || c.registryToken || (c.username && c.password)));

/** A client for the token realm: the registry's own settings when it is the same host, else its own DNS and proxy decision. */
function realmClientFor(ctx: StageContext, realm: string): () => HttpClient {
  const u = new URL(realm);
  const same = ctx.facts.resolution && bareHost(u.hostname).toLowerCase() === ctx.facts.resolution.hostname.toLowerCase();
  const settings = endpointSettings(ctx);
  return same ? () => createHttpClient(settings) : () => clientForUrl(settings, realm);
}

/** Nested evidence for an unreachable realm: its DNS answer, proxy decision and a TCP connect. */
async function realmEvidence(ctx: StageContext, realm: string, err: NetError): Promise<Evidence> {
  const u = new URL(realm);
  const { port } = hostPort(u);
  const route = proxyForUrl(realm, ctx.deps.env);
  const ev: Evidence = {
    url: redactUrl(realm),
    host: u.host,
    error: err.toEvidence(),
    proxy: route.url ? { url: route.url, reason: route.reason } : { url: null, reason: route.reason },
  };
  // The realm is verified with the registry's TLS settings (Docker's shared transport).
  const tls = ctx.facts.link?.tls;
  const p = await probeHost(u.hostname, port, {
    servers: ctx.options.dns,
    deps: ctx.deps,
    timeoutMs: Math.min(ctx.options.timeoutMs, 3000),
    trace: ctx.trace,
    maxAddresses: route.url ? 0 : 1,
    tls: u.protocol === "https:" ? { ca: tls?.ca ?? [], cert: tls?.cert, key: tls?.key } : null,
  });
  const dns = p.dns;
  ev.dns = { outcome: dns.outcome, via: dns.via, addresses: dns.addresses.map((a) => a.address), message: dns.message ?? null };
  const t = p.tcp[0];
  if (t) ev.tcp = { address: t.address, port: t.port, ok: t.ok, durationMs: t.durationMs, error: t.error ? { ...t.error } : null };
  if (p.tls) ev.tls = tlsProbeEvidence(p.tls);
  return ev;
}

function tokenEvidence(t: TokenResult): Evidence {
  return {
    url: t.url,
    method: t.method,
    as: t.as,
    status: t.status,
    expiresIn: t.expiresIn,
    // The token server's own words: shown, control characters escaped.
    issuedAt: t.issuedAt === null ? null : escapeControls(t.issuedAt),
    serverDate: t.serverDate,
    durationMs: t.durationMs,
    fellBackToGet: t.fellBackToGet,
    jwt: claimsEvidence(t.jwt),
  };
}

const grantedText = (t: TokenResult | null, repo: string): string => {
  const acc = t?.jwt?.claims.access;
  if (!acc) return t ? "(opaque token)" : "(no token)";
  const mine = acc.filter((a) => a.name === repo);
  return mine.length ? mine.map((a) => `${a.type}:${a.name}:${a.actions.join(",")}`).join(" ") : "nothing for this repository";
};

async function run(ctx: StageContext): Promise<StageOutcome> {
  const ref = ctx.facts.ref!;
  const link = ctx.facts.link!;
  const ch = ctx.facts.challenge!;
  const cred = ctx.facts.credential ?? null;
  const host = new URL(link.baseUrl).host;
  const base = {
    registry: ref.registry,
    host,
    repository: ref.repository,
    image: ref.familiar,
    user: cred?.username ?? null,
    credSource: cred?.source ?? null,
  };
  const raw = isProbedChallenge(ch) ? ch.raw : [];
  const registryDate = isProbedChallenge(ch) ? ch.date : null;
  const v2url = isProbedChallenge(ch) ? ch.url : `${link.baseUrl}/v2/`;
  const evidence: Evidence = {
    challenge: { status: ch.status, scheme: ch.chosen?.scheme ?? null, params: ch.chosen ? { ...ch.chosen.params } : null, raw },
    credential: cred
      ? {
          source: cred.source,
          lookupKey: cred.lookupKey,
          username: cred.username ?? null,
          kind: cred.identityToken ? "identitytoken" : cred.registryToken ? "registrytoken" : "password",
        }
      : null,
  };
  const findings: Finding[] = [];
  const done = (summary: string): StageOutcome => ({ summary, evidence, findings });

  let chosen: AuthChallenge | null = ch.chosen;
  if (ch.status === 401) {
    const problem = challengeProblem(ch.challenges, chosen);
    if (problem) {
      findings.push(finding("AUTH_CHALLENGE_INVALID", { ...base, url: v2url, problem, raw }, evidence));
      return done(`401 from ${v2url} with no usable challenge: ${problem}`);
    }
  } else if (ch.status === 200) {
    chosen = null;
  }
  const scheme = chosen?.scheme === "bearer" ? "bearer" : chosen?.scheme === "basic" ? "basic" : "none";

  // Credentials never travel over plain HTTP unless the registry is insecure (Docker's rule for sending them at all).
  let sendCredentials = true;
  const creds = hasCreds(cred);
  const plainTarget =
    scheme === "basic" && link.scheme === "http"
      ? { url: v2url, what: "the registry" }
      : scheme === "bearer" && /^http:/i.test(chosen!.params.realm ?? "")
        ? { url: chosen!.params.realm!, what: "the token realm" }
        : null;
  if (creds && plainTarget) {
    sendCredentials = plainHttpAllowed(plainTarget.url, link.insecure);
    findings.push(
      finding(
        "AUTH_BASIC_OVER_HTTP",
        { ...base, url: redactUrl(plainTarget.url), sent: sendCredentials, what: plainTarget.what },
        evidence,
      ),
    );
  }

  const session = new RegistrySession({
    scheme,
    challenge: chosen,
    credential: cred,
    repository: ref.repository,
    sendCredentials,
    realmClient: scheme === "bearer" ? realmClientFor(ctx, chosen!.params.realm!) : () => createHttpClient(endpointSettings(ctx)),
    now: () => ctx.deps.now(),
  });
  const credsSent = creds && sendCredentials;

  // 1. The token, when the registry uses a token service (and no registrytoken replaces it).
  let token: TokenResult | null = null;
  let clockProblem: string | null = null;
  if (scheme === "bearer" && !(credsSent && cred?.registryToken)) {
    try {
      token = await session.token(session.defaultScope);
    } catch (e) {
      if (!(e instanceof TokenError)) throw e;
      const info = e.info;
      evidence.token = {
        url: info.url,
        method: info.method,
        as: info.as,
        status: info.status,
        contentType: info.contentType,
        serverDate: info.serverDate,
        errors: info.diagnostics.map(formatDiagnostic),
        invalid: info.invalid ?? null,
        bodyPreview: info.bodyPreview ?? null,
      };
      const v = classifyTokenFailure({ kind: e.kind, status: info.status, as: info.as, invalid: info.invalid });
      if (v.code === "AUTH_TOKEN_SERVER_UNREACHABLE" && info.net)
        evidence.realm = await realmEvidence(ctx, chosen!.params.realm!, info.net);
      // An unusable 2xx answer is said once, by the verdict's problem.
      const message = info.net
        ? info.net.message
        : info.diagnostics.length
          ? info.diagnostics.map(formatDiagnostic).join("; ")
          : e.kind === "invalid"
            ? ""
            : e.message;
      findings.push(
        verdictFinding(v, base, {
          message,
          realm: chosen!.params.realm!,
          lookupKey: cred?.lookupKey ?? ref.registry,
          scheme,
          granted: "(no token)",
          withheld: creds && !sendCredentials,
          credentialProblem: ctx.facts.local?.credentialProblem ?? null,
          evidence,
          times: null,
        }),
      );
      return done(
        `token from ${redactUrl(chosen!.params.realm!)} ${info.as === "anonymous" ? "anonymously" : `as ${cred?.username ?? "?"}`}: ${e.message}`,
      );
    }
    evidence.token = tokenEvidence(token);
    // The registry judges nbf/exp by its own clock (its Date header), with 60 s leeway.
    const regNow = registryDate && !Number.isNaN(Date.parse(registryDate)) ? new Date(Date.parse(registryDate)) : ctx.deps.now();
    clockProblem = checkTokenTimes(token.jwt?.claims ?? null, regNow).problem;
    const tsDate = token.serverDate ? Date.parse(token.serverDate) : NaN;
    const regDate = registryDate ? Date.parse(registryDate) : NaN;
    if (!Number.isNaN(tsDate) && !Number.isNaN(regDate) && Math.abs(tsDate - regDate) > LEEWAY_SECONDS * 1000) {
      clockProblem = `${clockProblem ? `${clockProblem}; ` : ""}the token server's clock is ${Math.round((tsDate - regDate) / 1000)} s off the registry's`;
    }
    evidence.clock = { local: ctx.deps.now().toISOString(), registryDate, tokenServerDate: token.serverDate, problem: clockProblem };
  }

  // 2. The registry's verdict on a HEAD of the manifest, with what Docker would send.
  const reference = ref.digest ?? ref.tag ?? "latest";
  const url = `${link.baseUrl}/v2/${ref.repository}/manifests/${reference}`;
  const authorization = await session.authorize();
  const client = createHttpClient(endpointSettings(ctx));
  try {
    let res: HttpResponse;
    try {
      res = await client.request({ method: "HEAD", url, headers: { accept: DOCKER_ACCEPT }, authorization });
    } catch (e) {
      if (!(e instanceof NetError)) throw e;
      evidence.manifestHead = { url, error: e.toEvidence() };
      findings.push(
        finding(
          "AUTH_NO_RESPONSE",
          { ...base, url, kind: e.kind, phase: e.phase, message: e.message, timeoutMs: ctx.options.timeoutMs },
          evidence,
        ),
      );
      return done(`HEAD ${url}: ${e.message}`);
    }
    const lines = challengeLines(res.rawHeaders);
    const challengeError = parseChallenges(lines).find((c) => c.scheme === "bearer")?.params.error ?? null;
    let errors: string[] = [];
    let errorCodes: string[] = [];
    if (res.status === 401 || res.status === 403) {
      // A HEAD has no body: read the error body with a GET, as docker and containerd do.
      const g = await client.request({ method: "GET", url, headers: { accept: DOCKER_ACCEPT }, authorization }).catch((e) => {
        if (e instanceof NetError) return null;
        throw e;
      });
      const diags = g ? parseRegistryErrors(g.body, g.headers["content-type"]) : [];
      errors = diags.map(formatDiagnostic);
      errorCodes = diags.map((d) => d.code);
    }
    evidence.manifestHead = {
      url,
      status: res.status,
      authorizationScheme: authorization ? scheme : null,
      wwwAuthenticate: lines,
      errors,
      digest: res.headers["docker-content-digest"] ?? null,
      durationMs: res.durationMs,
    };
    const grantsPull = token ? grants(token.jwt?.claims ?? null, ref.repository) : null;
    const v = classifyRegistryAnswer({
      status: res.status,
      scheme,
      challengeError,
      errorCodes,
      credsSent,
      authorizationSent: authorization !== null,
      grantsPull,
      clockProblem,
    });
    if (v.code) {
      const message = [challengeError ? `error="${challengeError}"` : "", ...errors].filter(Boolean).join("; ");
      findings.push(
        verdictFinding(v, base, {
          message,
          realm: chosen?.params.realm ?? null,
          lookupKey: cred?.lookupKey ?? ref.registry,
          scheme,
          granted: grantedText(token, ref.repository),
          withheld: creds && !sendCredentials,
          credentialProblem: ctx.facts.local?.credentialProblem ?? null,
          evidence,
          times: { local: ctx.deps.now().toISOString(), registryDate, tokenServerDate: token?.serverDate ?? null, problem: clockProblem },
        }),
      );
      return done(`HEAD ${url} → ${res.status}${message ? ` (${message})` : ""}`);
    }
    // Docker dates a cached token from issued_at plus expires_in on this machine's clock: a clock
    // far off the registry's makes long pulls reuse expired tokens (401 mid-pull). Warn only.
    const serverDate = registryDate ?? token?.serverDate ?? null;
    const offset =
      serverDate && !Number.isNaN(Date.parse(serverDate)) ? Math.round((ctx.deps.now().getTime() - Date.parse(serverDate)) / 1000) : 0;
    if (token && Math.abs(offset) > LEEWAY_SECONDS) {
      const problem = `this machine's clock is ${Math.abs(offset)} s ${offset > 0 ? "ahead of" : "behind"} the registry's`;
      findings.push(
        finding(
          "AUTH_CLOCK_SKEW",
          { ...base, problem, localTime: ctx.deps.now().toISOString(), registryDate, tokenServerDate: token.serverDate },
          evidence,
          {
            severity: "warning",
            note: "The registry accepts the token now, but cached tokens are timed by this clock: long pulls may reuse expired tokens, and TLS certificate dates are judged by it too.",
          },
        ),
      );
    }
    // Say whose token it is ("(basic)" read as a scheme, not as "with alice's password").
    const whose = (as: "basic" | "refresh_token" | "anonymous") =>
      as === "anonymous"
        ? "anonymous"
        : as === "basic"
          ? `as ${cred?.username ?? "?"}`
          : `as ${cred?.username ?? "?"}, with its identity token`;
    const how =
      scheme === "bearer"
        ? `token ${token ? `from ${redactUrl(chosen!.params.realm!)} (${whose(token.as)})` : "(registrytoken)"}`
        : scheme === "basic"
          ? authorization
            ? `Basic as ${cred?.username}`
            : "no credentials"
          : "open registry";
    return {
      summary: `${how}; HEAD manifest → ${res.status}${res.status === 404 ? " (authorized; the manifest stage judges existence)" : ""}`,
      evidence,
      findings,
      provides: { session },
    };
  } finally {
    await client.close();
  }
}

function verdictFinding(
  v: AuthVerdict,
  base: { registry: string; host: string; repository: string; image: string; user: string | null; credSource: string | null },
  x: {
    message: string;
    realm: string | null;
    lookupKey: string;
    scheme: string;
    granted: string;
    withheld?: boolean;
    credentialProblem?: string | null;
    evidence: Evidence;
    times: { local: string; registryDate: string | null; tokenServerDate: string | null; problem: string | null } | null;
  },
): Finding {
  const ev = x.evidence;
  switch (v.code) {
    case "AUTH_UNAUTHORIZED":
      return finding("AUTH_UNAUTHORIZED", { ...base, where: v.where, status: v.status, message: x.message }, ev);
    case "AUTH_DENIED":
      return finding(
        "AUTH_DENIED",
        { ...base, status: v.status, message: x.message, granted: x.granted, isHub: base.registry === "docker.io" },
        ev,
      );
    case "AUTH_CREDENTIALS_REQUIRED":
      return finding(
        "AUTH_CREDENTIALS_REQUIRED",
        { ...base, scheme: x.scheme, status: v.status, lookupKey: x.lookupKey, unreadable: Boolean(x.credentialProblem) && !x.withheld },
        x.credentialProblem ? { ...ev, credentialProblem: x.credentialProblem } : ev,
        x.withheld
          ? {
              note: "Credentials are configured but were withheld: they would travel over plain HTTP to a registry that is not insecure by configuration.",
            }
          : x.credentialProblem
            ? { note: `Why: ${x.credentialProblem} Fix that first (the config stage's finding says how).` }
            : {},
      );
    case "AUTH_TOKEN_SERVER_UNREACHABLE": {
      const realm = x.realm ?? "";
      const kind = (ev.realm as { error?: { kind?: string } } | undefined)?.error?.kind ?? null;
      return finding(
        "AUTH_TOKEN_SERVER_UNREACHABLE",
        { ...base, realm: redactUrl(realm), realmHost: realm ? new URL(realm).host : "", status: v.status, message: x.message, kind },
        ev,
      );
    }
    case "AUTH_TOKEN_INVALID":
      return finding(
        "AUTH_TOKEN_INVALID",
        { ...base, realm: x.realm ? redactUrl(x.realm) : null, problem: `${v.problem}${x.message ? ` (${x.message})` : ""}` },
        ev,
      );
    case "AUTH_CLOCK_SKEW":
      return finding(
        "AUTH_CLOCK_SKEW",
        {
          ...base,
          problem: x.times?.problem ?? "token times outside the registry's clock",
          localTime: x.times?.local ?? "",
          registryDate: x.times?.registryDate ?? null,
          tokenServerDate: x.times?.tokenServerDate ?? null,
        },
        ev,
      );
    default:
      throw new Error(`no finding for verdict ${JSON.stringify(v)}`);
  }
}

export const authStage: Stage = {
  id: "auth",
  title: "Authentication",
  scope: "endpoint",
  needs: ["ref", "link", "challenge", "credential"],
  run,
};
