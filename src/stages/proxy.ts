import path from "node:path";
import { readDropIns } from "../host/daemon-config";
import type { ProxyOwner } from "../model/catalogue/proxy";
import type { Evidence } from "../model/evidence";
import type { LocalConfig, ProxyRoute } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { maskProxyValue, redactHeaders } from "../model/redact";
import { REDACTED, Secret } from "../model/secret";
import type { Endpoint, Stage, StageContext } from "../model/stage";
import { goUrlString } from "../net/go-url";
import { joinHostPort } from "../net/origin";
import { daemonProxyConfig, decideProxy, describeDecision, type ProxyForUrl, proxyConfigFromEnv, proxyForUrl } from "../net/proxy-env";
import { openTunnel, TunnelError } from "../net/tunnel";
import { checkInterception } from "./proxy-interception";
import { classifyTunnelError, tunnelErrorEvidence } from "./proxy-tunnel";

/**
 * The proxy stage: which proxy a pull of this endpoint goes through (Go's httpproxy rules,
 * for this shell and for the Docker daemon, which is the one that pulls), whether that
 * proxy lets a CONNECT to the registry through, and whether it intercepts TLS.
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
    const shell = proxyForUrl(ep.url, ctx.deps.env);
    const route: ProxyRoute = { url: shell.url, auth: shell.auth, reason: shell.reason };
    const findings: Finding[] = [];
    const evidence: Evidence = { url: ep.url, shell: shellEvidence(shell, ctx.deps.env) };
    // A Docker Hub pull also talks to the token and blob CDN hosts: a NO_PROXY that covers one
    // and not the others splits the route (the classic "auth works, blobs time out").
    let split: string | null = null;
    if (HUB_HOSTS.includes(ep.hostname)) {
      const related = HUB_HOSTS.filter((h) => h !== ep.hostname).map((h) => ({ h, r: proxyForUrl(`https://${h}/`, ctx.deps.env) }));
      evidence.relatedHosts = Object.fromEntries(related.map(({ h, r }) => [h, r.reason]));
      const differ = related.filter(({ r }) => r.url !== shell.url);
      if (differ.length)
        split = `The same pull also reaches ${differ.map(({ h, r }) => `${h} ${r.url ? `via ${r.url}` : "directly"}`).join(" and ")}: both routes must work.`;
    }
    const target = joinHostPort(ep.hostname, ep.port);
    let summary: string;

    if (shell.url && shell.variable) {
      const probe = await probeProxy(ctx, ep, { proxy: shell.url, auth: shell.auth, variable: shell.variable }, target, true);
      evidence.tunnel = probe.evidence;
      findings.push(...probe.findings);
      summary = probe.summary;
    } else if (shell.bypass) {
      const entry = shell.bypass.kind === "no-proxy" ? (shell.bypass.entry ?? null) : null;
      const f = finding(
        "PROXY_BYPASSED",
        { proxy: shell.configured, variable: shell.variable, host: target, reason: shell.reason, entry, kind: shell.bypass.kind },
        {},
        shell.bypass.kind === "unparseable" ? { severity: "warning" } : {},
      );
      findings.push(f);
      summary = `${target}: ${shell.reason}`;
    } else {
      // The reason already ends in "(direct)": "direct (… (direct))" said it twice.
      summary = `${target}: direct: ${shell.reason.replace(/ \(direct\)$/, "")}`;
    }

    if (split && findings[0]) findings[0] = { ...findings[0], detail: `${findings[0].detail} ${split}` };
    const mismatch = compareWithDaemon(ctx, ep, shell, target, evidence);
    if (mismatch) {
      findings.push(mismatch.finding);
      // docker pull goes through the daemon's proxy: probe it too, so its failure is named.
      if (mismatch.daemon) {
        const probe = await probeProxy(ctx, ep, mismatch.daemon, target, false);
        (evidence.daemon as Evidence).tunnel = probe.evidence;
        const unit = ctx.facts.client?.wire.unitProxy;
        const note = unit
          ? `(This is the ${unit.unit} service's proxy, from ${mismatch.daemon.variable}: ${ctx.facts.client!.wire.label} pulls with it.)`
          : `(This is the Docker daemon's proxy, from ${mismatch.daemon.variable}: docker pull uses it.)`;
        findings.push(...probe.findings.filter((f) => f.code !== "PROXY_IN_USE").map((f) => ({ ...f, detail: `${f.detail} ${note}` })));
      }
    }
    return { summary, evidence, findings, provides: { route } };
  },
};

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
      owner: proxyOwner(ctx),
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
  const unit = ctx.facts.client?.wire.unitProxy ?? null;
  const local = unit ? unitLocal(ctx.facts.local!, unit) : ctx.facts.local!;
  const daemon = daemonProxyConfig(local);
  if (unit && !daemon.known) daemon.source = `no proxy variables in the ${unit.unit}.service unit or drop-ins (${unit.dirs.join(", ")})`;
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
  const cfg = proxyConfigFromEnv(ctx.deps.env);
  const mask = (v: string) => (v ? maskProxyValue(v, "PASSWORD") : null);
  const values = { http: mask(cfg.httpProxy), https: mask(cfg.httpsProxy), no: mask(cfg.noProxy) };
  const dropInPath = path.join(
    (unit ? unit.dirs[0] : ctx.deps.paths.systemdDropIns[0]) ?? `/etc/systemd/system/${unit?.unit ?? "docker"}.service.d`,
    "http-proxy.conf",
  );
  const f = finding(
    "PROXY_DAEMON_MISMATCH",
    {
      host: target,
      shellProxy: shell.url,
      shellReason: shell.reason,
      daemonProxy,
      daemonReason,
      daemonSource: daemon.source,
      values,
      dropInPath,
      daemonJsonPath: ctx.options.daemonConfig,
      authDiffers,
      ...(unit ? { puller: { name: ctx.facts.client!.wire.label, unit: unit.unit } } : {}),
    },
    { shell: shell.url, daemon: daemonProxy, daemonSource: daemon.source, authDiffers },
  );
  const daemonAuth = daemonUser ? { username: daemonUser.username, password: new Secret(daemonUser.password ?? "") } : null;
  return { finding: f, daemon: daemonProxy && d.variable ? { proxy: daemonProxy, auth: daemonAuth, variable: d.variable } : null };
}

/**
 * containerd and CRI-O take their proxy from their own service's environment, set by systemd
 * drop-ins (containerd/containerd:core/remotes/docker/registry.go#DefaultHTTPTransport uses
 * http.ProxyFromEnvironment in the daemon), never the shell's nor dockerd's: the daemon settings
 * the comparison reads are those of that unit.
 */
function unitLocal(local: LocalConfig, unit: { unit: string; dirs: string[]; files: string[] }): LocalConfig {
  const d = readDropIns(unit.dirs, unit.files);
  return {
    ...local,
    daemon: {
      ...local.daemon,
      path: `${unit.unit}.service`,
      proxies: null,
      liveProxies: d.proxies,
      liveSource: d.setBy.length > 0 ? d.setBy.map((f) => `systemd ${f.endsWith(".service") ? "unit" : "drop-in"} ${f}`).join(", ") : null,
    },
  };
}
