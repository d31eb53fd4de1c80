import path from "node:path";
import type { ProxyOwner } from "../model/catalogue/proxy";
import type { Evidence } from "../model/evidence";
import type { ProxyRoute } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { maskProxyValue, redactHeaders } from "../model/redact";
import { REDACTED, Secret } from "../model/secret";
import type { Endpoint, Stage, StageContext } from "../model/stage";
import { goUrlString } from "../net/go-url";
import { joinHostPort } from "../net/origin";
import { daemonProxyConfig, decideProxy, describeDecision, type ProxyForUrl, proxyConfigFromEnv, proxyForUrl } from "../net/proxy-env";
import { checkInterception } from "./proxy-interception";
import { classifyTunnelError, tunnelErrorEvidence } from "./proxy-tunnel";
import { compareShellWithUnit, judgedUnitEnv, unitOwner } from "./proxy-unit";

/**
 * The proxy stage: which proxy a pull of this endpoint goes through (Go's httpproxy rules,
 * for this shell and for the daemon that pulls: dockerd's settings are compared with the shell's
 * route; containerd's and CRI-O's unit environment gives the route, the shell's is compared with
 * it), whether that proxy lets a CONNECT to the registry through, and whether it intercepts TLS.
 */
const HUB_HOSTS = ["registry-1.docker.io", "auth.docker.io", "production.cloudflare.docker.com"];

export const proxyStage: Stage = {
  id: "proxy",
  title: "Proxy",
  scope: "endpoint",
  needs: ["ref", "local"],
  async run(ctx) {
    const ep = ctx.endpoint;
    if (!ep) throw new Error("proxy stage run without an endpoint");
    // containerd and CRI-O pull with their unit's environment: the decision is made from it.
    const unit = judgedUnitEnv(ctx);
    const env = unit ? unit.env : ctx.deps.env;
    const chosen = proxyForUrl(ep.url, env);
    const route: ProxyRoute = { url: chosen.url, auth: chosen.auth, reason: chosen.reason };
    const findings: Finding[] = [];
    const evidence: Evidence = { url: ep.url, shell: shellEvidence(proxyForUrl(ep.url, ctx.deps.env), ctx.deps.env) };
    if (unit) evidence.unit = { name: `${unit.unit.unit}.service`, variables: maskAll(unit.env), proxy: chosen.url, reason: chosen.reason };
    // A Docker Hub pull also talks to the token and blob CDN hosts: a NO_PROXY that covers one
    // and not the others splits the route (the classic "auth works, blobs time out").
    const split = HUB_HOSTS.includes(ep.hostname) ? hubSplit(ep.hostname, env, chosen.url, evidence) : null;
    const target = joinHostPort(ep.hostname, ep.port);
    const owner = unit ? unitOwner(unit, chosen.variable) : proxyOwner(ctx);
    let summary: string;

    if (chosen.url && chosen.variable) {
      const via = { proxy: chosen.url, auth: chosen.auth, variable: chosen.variable };
      const probe = await probeProxy(ctx, ep, via, target, true, owner);
      evidence.tunnel = probe.evidence;
      findings.push(...probe.findings);
      summary = `${probe.summary}${unit ? ` (${unit.unit.unit}.service)` : ""}`;
    } else if (chosen.bypass) {
      findings.push(bypassedFinding(chosen, chosen.bypass, target));
      summary = `${target}: ${chosen.reason}`;
    } else {
      // The reason already ends in "(direct)": "direct (… (direct))" said it twice.
      summary = `${target}: direct: ${chosen.reason.replace(/ \(direct\)$/, "")}${unit ? ` (${unit.unit.unit}.service)` : ""}`;
    }

    if (split && findings[0]) findings[0] = { ...findings[0], detail: `${findings[0].detail} ${split}` };
    if (unit) {
      const mismatch = compareShellWithUnit(ctx, ep, unit, chosen, target, evidence);
      if (mismatch) findings.push(mismatch);
      return { summary, evidence, findings, provides: { route, proxyEnv: unit.env } };
    }
    const mismatch = compareWithDaemon(ctx, ep, chosen, target, evidence);
    if (mismatch) {
      findings.push(mismatch.finding);
      // docker pull goes through the daemon's proxy: probe it too, so its failure is named.
      if (mismatch.daemon) findings.push(...(await probeDaemonProxy(ctx, ep, mismatch.daemon, target, owner, evidence)));
    }
    return { summary, evidence, findings, provides: { route } };
  },
};

// The rare cases below are functions of their own, so that a direct check does not compile them.

/** Docker Hub's token and blob CDN hosts' routes in the evidence; the sentence to add when they differ from the registry's. */
function hubSplit(
  hostname: string,
  env: Readonly<Record<string, string | undefined>>,
  chosenUrl: string | null,
  evidence: Evidence,
): string | null {
  const related = HUB_HOSTS.filter((h) => h !== hostname).map((h) => ({ h, r: proxyForUrl(`https://${h}/`, env) }));
  evidence.relatedHosts = Object.fromEntries(related.map(({ h, r }) => [h, r.reason]));
  const differ = related.filter(({ r }) => r.url !== chosenUrl);
  if (!differ.length) return null;
  return `The same pull also reaches ${differ.map(({ h, r }) => `${h} ${r.url ? `via ${r.url}` : "directly"}`).join(" and ")}: both routes must work.`;
}

/** A proxy is configured but NO_PROXY (or an unparseable value) bypasses it for this host. */
function bypassedFinding(chosen: ProxyForUrl, bypass: NonNullable<ProxyForUrl["bypass"]>, target: string): Finding {
  const entry = bypass.kind === "no-proxy" ? (bypass.entry ?? null) : null;
  return finding(
    "PROXY_BYPASSED",
    { proxy: chosen.configured, variable: chosen.variable, host: target, reason: chosen.reason, entry, kind: bypass.kind },
    {},
    bypass.kind === "unparseable" ? { severity: "warning" } : {},
  );
}

/** The Docker daemon's own proxy, which docker pull uses: its tunnel's findings, said to be the daemon's. */
async function probeDaemonProxy(
  ctx: StageContext,
  ep: Endpoint,
  daemon: { proxy: string; auth: ProxyRoute["auth"]; variable: string },
  target: string,
  owner: ProxyOwner | undefined,
  evidence: Evidence,
): Promise<Finding[]> {
  const probe = await probeProxy(ctx, ep, daemon, target, false, owner);
  (evidence.daemon as Evidence).tunnel = probe.evidence;
  const note = `(This is the Docker daemon's proxy, from ${daemon.variable}: docker pull uses it.)`;
  return probe.findings.filter((f) => f.code !== "PROXY_IN_USE").map((f) => ({ ...f, detail: `${f.detail} ${note}` }));
}

/** Proxy variables for evidence, credentials masked. */
function maskAll(env: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(env).map(([k, v]) => [k, maskProxyValue(v)]));
}

/** Whose environment the judged client's proxy comes from, for the fixes (absent: dockerd's). */
function proxyOwner(ctx: StageContext): ProxyOwner | undefined {
  const wire = ctx.facts.client?.wire;
  if (wire?.unitProxy) return { unit: wire.unitProxy.unit };
  return wire?.fixesFor === "registries.conf" ? "shell" : undefined;
}

/** CONNECT through one proxy (and, for the shell's route, the TLS interception check). */
async function probeProxy(
  ctx: StageContext,
  ep: Endpoint,
  via: { proxy: string; auth: ProxyRoute["auth"]; variable: string },
  target: string,
  checkTls: boolean,
  owner: ProxyOwner | undefined,
): Promise<{ findings: Finding[]; evidence: Evidence; summary: string }> {
  const { proxy, auth, variable } = via;
  const head = `${target} via ${proxy} (${variable})`;
  const scheme = proxy.slice(0, proxy.indexOf(":"));
  if (!ep.url.startsWith("https:") || (scheme !== "http" && scheme !== "https")) {
    // Go forwards http:// requests to the proxy in absolute form (no CONNECT), and speaks
    // SOCKS5 itself: neither is a CONNECT tunnel; later stages exercise the route.
    const why = scheme.startsWith("socks") ? "SOCKS proxy, not probed here" : "plain-http requests are forwarded, not tunnelled";
    return {
      findings: [finding("PROXY_IN_USE", { proxy, variable, host: target, status: null, durationMs: null }, {})],
      evidence: { notProbed: why },
      summary: `${head}; ${why}`,
    };
  }
  const requestHeaders: Record<string, string> = { Host: target, ...(auth ? { "Proxy-Authorization": REDACTED } : {}) };
  const trace = (status: number | null, responseHeaders: Record<string, string>, durationMs: number, error?: string) =>
    ctx.trace.record({
      kind: "http",
      method: "CONNECT",
      url: `${target} via ${proxy}`,
      status,
      requestHeaders,
      responseHeaders: redactHeaders(responseHeaders),
      durationMs,
      ...(error ? { error } : {}),
    });
  // node:net and node:tls are loaded only when there is a proxy (docs/performance.md, "Sockets without node:net").
  const { openTunnel, TunnelError } = await import("../net/tunnel");
  try {
    const t = await openTunnel({
      proxyUrl: proxy,
      auth,
      host: ep.hostname,
      port: ep.port,
      timeoutMs: ctx.options.timeoutMs,
      signal: ctx.deps.signal,
    });
    trace(t.status, t.headers, t.durationMs);
    const evidence: Evidence = {
      proxyAddress: t.proxyAddress,
      statusLine: t.statusLine,
      headers: redactHeaders(t.headers) as Evidence,
      durationMs: t.durationMs,
    };
    const findings = [
      finding(
        "PROXY_IN_USE",
        { proxy, variable, host: target, status: t.status, durationMs: t.durationMs },
        { proxyAddress: t.proxyAddress },
      ),
    ];
    if (checkTls) {
      const f = await checkInterception(ctx, ep, proxy, t.socket, evidence);
      if (f) findings.push(f);
    } else t.socket.destroy();
    return { findings, evidence, summary: `${head}: CONNECT ${t.status} in ${t.durationMs} ms` };
  } catch (e) {
    if (!(e instanceof TunnelError)) throw e;
    trace(e.status ?? null, e.headers ?? {}, e.durationMs, e.message);
    const f = classifyTunnelError(e, {
      proxy,
      variable,
      host: target,
      credentialsSent: auth !== null,
      username: auth?.username ?? null,
      timeoutMs: ctx.options.timeoutMs,
      owner,
    });
    return { findings: [f], evidence: tunnelErrorEvidence(e), summary: `${head}: ${e.message}` };
  }
}

function shellEvidence(shell: ProxyForUrl, env: StageContext["deps"]["env"]): Evidence {
  const vars: Record<string, string> = {};
  for (const n of ["HTTPS_PROXY", "https_proxy", "HTTP_PROXY", "http_proxy", "NO_PROXY", "no_proxy"]) {
    const v = env[n];
    if (v !== undefined) vars[n] = maskProxyValue(v);
  }
  return {
    variables: vars,
    proxy: shell.url,
    variable: shell.variable,
    configured: shell.configured,
    reason: shell.reason,
    canonicalAddr: shell.canonicalAddr,
    credentials: shell.auth ? `user ${shell.auth.username} (password redacted)` : null,
  };
}

function compareWithDaemon(
  ctx: StageContext,
  ep: Endpoint,
  shell: ProxyForUrl,
  target: string,
  evidence: Evidence,
): { finding: Finding; daemon: { proxy: string; auth: ProxyRoute["auth"]; variable: string } | null } | null {
  const daemon = daemonProxyConfig(ctx.facts.local!);
  const d = decideProxy(ep.url, daemon.config);
  const daemonProxy = d.proxy ? goUrlString(d.proxy, false) : null;
  const daemonReason = daemon.known ? describeDecision(d, ep.url) : "the daemon has no proxy configured";
  evidence.daemon = {
    source: daemon.source,
    known: daemon.known,
    proxy: daemonProxy,
    reason: daemonReason,
    dockerUses: daemonProxy ?? "direct",
  };
  const daemonUser = d.proxy?.user ?? null;
  const shellKey = shell.auth ? `${shell.auth.username}:${shell.auth.password.reveal()}` : "";
  const daemonKey = daemonUser ? `${daemonUser.username}:${daemonUser.password ?? ""}` : "";
  const authDiffers = daemonProxy !== null && daemonProxy === shell.url && shellKey !== daemonKey;
  if (daemonProxy === shell.url && !authDiffers) return null;
  return daemonMismatch(ctx, shell, target, {
    daemonProxy,
    daemonReason,
    daemonSource: daemon.source,
    daemonUser,
    variable: d.variable,
    authDiffers,
  });
}

/** The shell's and the daemon's routes differ: PROXY_DAEMON_MISMATCH, and the daemon's proxy to probe (apart: the usual check has no mismatch). */
function daemonMismatch(
  ctx: StageContext,
  shell: ProxyForUrl,
  target: string,
  m: {
    daemonProxy: string | null;
    daemonReason: string;
    daemonSource: string;
    daemonUser: { username: string; password: string | null } | null;
    variable: string | null;
    authDiffers: boolean;
  },
): { finding: Finding; daemon: { proxy: string; auth: ProxyRoute["auth"]; variable: string } | null } {
  const { daemonProxy, daemonReason, daemonUser, authDiffers } = m;
  const cfg = proxyConfigFromEnv(ctx.deps.env);
  const mask = (v: string) => (v ? maskProxyValue(v, "PASSWORD") : null);
  const values = { http: mask(cfg.httpProxy), https: mask(cfg.httpsProxy), no: mask(cfg.noProxy) };
  const dropInPath = path.join(ctx.deps.paths.systemdDropIns[0] ?? "/etc/systemd/system/docker.service.d", "http-proxy.conf");
  const f = finding(
    "PROXY_DAEMON_MISMATCH",
    {
      host: target,
      shellProxy: shell.url,
      shellReason: shell.reason,
      daemonProxy,
      daemonReason,
      daemonSource: m.daemonSource,
      values,
      dropInPath,
      daemonJsonPath: ctx.options.daemonConfig,
      authDiffers,
    },
    { shell: shell.url, daemon: daemonProxy, daemonSource: m.daemonSource, authDiffers },
  );
  const daemonAuth = daemonUser ? { username: daemonUser.username, password: new Secret(daemonUser.password ?? "") } : null;
  return { finding: f, daemon: daemonProxy && m.variable ? { proxy: daemonProxy, auth: daemonAuth, variable: m.variable } : null };
}
