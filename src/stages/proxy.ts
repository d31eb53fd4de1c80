import { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import path from "node:path";
import type { Evidence } from "../model/evidence";
import type { ProxyRoute } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { maskProxyValue, redactHeaders } from "../model/redact";
import { REDACTED, Secret } from "../model/secret";
import type { Endpoint, Stage, StageContext } from "../model/stage";
import { goUrlString } from "../net/go-url";
import { joinHostPort } from "../net/origin";
import { daemonProxyConfig, decideProxy, describeDecision, type ProxyForUrl, proxyConfigFromEnv, proxyForUrl } from "../net/proxy-env";
import { chainTrustedBy, openTunnel, peekTls, systemRootCas, type TlsPeek, TunnelError } from "../net/tunnel";

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
        const note = `(This is the Docker daemon's proxy, from ${mismatch.daemon.variable}: docker pull uses it.)`;
        findings.push(...probe.findings.filter((f) => f.code !== "PROXY_IN_USE").map((f) => ({ ...f, detail: `${f.detail} ${note}` })));
      }
    }
    return { summary, evidence, findings, provides: { route } };
  },
};

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

function tunnelErrorEvidence(e: TunnelError): Evidence {
  const ev: Evidence = {
    error: e.message,
    kind: e.kind,
    phase: e.phase,
    code: e.code,
    status: e.status,
    statusLine: e.statusLine,
    proxyAuthenticate: e.proxyAuthenticate,
    durationMs: e.durationMs,
  };
  if (e.headers) ev.headers = redactHeaders(e.headers) as Evidence;
  // Only what this failure has: no null noise for support to read past.
  for (const k of Object.keys(ev)) if (ev[k] === undefined) delete ev[k];
  return ev;
}

/** Pure: a CONNECT failure as the finding a support engineer needs. */
export function classifyTunnelError(
  e: TunnelError,
  p: { proxy: string; variable: string; host: string; credentialsSent: boolean; username: string | null; timeoutMs: number },
): Finding {
  // The failing hop first: which proxy (credentials already stripped) and which CONNECT target.
  const ev: Evidence = { proxy: p.proxy, target: p.host, ...tunnelErrorEvidence(e) };
  const address = p.proxy.replace(/^\w+:\/\//, "").replace(/\/.*$/, "");
  switch (e.kind) {
    case "auth-required": {
      const challenge = e.proxyAuthenticate ?? "";
      const schemes = [
        ...new Set([...challenge.matchAll(/(?:^|,\s*)([A-Za-z][\w-]*)(?=\s|,|$)/g)].map((m) => m[1]!).filter((s) => !s.includes("="))),
      ];
      return finding(
        "PROXY_AUTH_REQUIRED",
        {
          proxy: p.proxy,
          variable: p.variable,
          host: p.host,
          status: e.status ?? 407,
          scheme: schemes.join(" / "),
          challenge,
          credentialsSent: p.credentialsSent,
          username: p.username,
        },
        ev,
      );
    }
    case "refused":
      return finding(
        "PROXY_CONNECT_REFUSED",
        {
          proxy: p.proxy,
          variable: p.variable,
          host: p.host,
          status: e.status ?? 0,
          statusLine: e.statusLine ?? "",
          server: e.headers?.server ?? null,
        },
        ev,
      );
    default: {
      const failure =
        e.kind === "unreachable"
          ? e.code === "ECONNREFUSED"
            ? "refused"
            : e.code === "ETIMEDOUT"
              ? "timeout"
              : e.code === "ENOTFOUND" || e.code === "EAI_AGAIN"
                ? "dns"
                : "other"
          : e.kind === "timeout"
            ? e.code === "ABORTED"
              ? "other"
              : "silent"
            : e.phase === "proxy-tls"
              ? /first record|handshake timeout/.test(e.message)
                ? "not-tls"
                : "other"
              : e.phase === "dial"
                ? "unsupported"
                : e.code === "EOF"
                  ? "closed"
                  : /does not speak HTTP|malformed status/.test(e.message)
                    ? "not-http"
                    : "other";
      return finding(
        "PROXY_UNREACHABLE",
        { proxy: p.proxy, variable: p.variable, address, host: p.host, failure, message: e.message, timeoutMs: p.timeoutMs },
        ev,
      );
    }
  }
}

/** Pure: Docker's (daemon) decision against this shell's; a finding when they differ. */
function compareWithDaemon(
  ctx: StageContext,
  ep: Endpoint,
  shell: ProxyForUrl,
  target: string,
  evidence: Evidence,
): { finding: Finding; daemon: { proxy: string; auth: ProxyRoute["auth"]; variable: string } | null } | null {
  const local = ctx.facts.local!;
  const daemon = daemonProxyConfig(local);
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
  const dropInPath = path.join(ctx.deps.paths.systemdDropIns[0] ?? "/etc/systemd/system/docker.service.d", "http-proxy.conf");
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
    },
    { shell: shell.url, daemon: daemonProxy, daemonSource: daemon.source, authDiffers },
  );
  const daemonAuth = daemonUser ? { username: daemonUser.username, password: new Secret(daemonUser.password ?? "") } : null;
  return { finding: f, daemon: daemonProxy && d.variable ? { proxy: daemonProxy, auth: daemonAuth, variable: d.variable } : null };
}

/** certs.d CAs Docker adds for this host (`<certsDir>/<host[:port]>/*.crt`). */
function certsDCas(dir: string): { cas: X509Certificate[]; files: string[] } {
  let names: string[];
  try {
    names = readdirSync(dir).filter((n) => n.endsWith(".crt"));
  } catch {
    return { cas: [], files: [] };
  }
  const cas: X509Certificate[] = [];
  for (const n of names) {
    const pem = readFileSync(path.join(dir, n), "utf8");
    for (const block of pem.match(/-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g) ?? []) {
      try {
        cas.push(new X509Certificate(block));
      } catch {
        // an unreadable block: the connect stage reports certs.d problems
      }
    }
  }
  return { cas, files: names.map((n) => path.join(dir, n)) };
}

/** Pure: do the proxied and direct chains show a re-signing proxy? */
export function judgeInterception(
  proxied: readonly X509Certificate[],
  direct: readonly X509Certificate[] | null,
  trust: { system: boolean; certsD: boolean },
): boolean {
  const leaf = proxied[0];
  if (!leaf) return false;
  if (direct?.[0]) {
    if (direct[0].fingerprint256 === leaf.fingerprint256) return false;
    // A new leaf from the same CA is rotation or a second load balancer, not interception.
    // When the direct chain carries the issuing CA, the proxied leaf must verify against its
    // key (a forger copying the issuer's name cannot pass); otherwise compare the names.
    const issuer = direct[1];
    if (issuer && direct[0].issuer === issuer.subject) return !(leaf.checkIssued(issuer) && leaf.verify(issuer.publicKey));
    return direct[0].issuer !== leaf.issuer || direct.at(-1)!.issuer !== proxied.at(-1)!.issuer;
  }
  // No direct path to compare: a chain no system root signs (and no certs.d CA either) is the mark of a re-signing proxy.
  return !trust.system && !trust.certsD;
}

async function checkInterception(
  ctx: StageContext,
  ep: Endpoint,
  proxy: string,
  socket: import("node:net").Socket,
  evidence: Evidence,
): Promise<Finding | null> {
  const timeoutMs = ctx.options.timeoutMs;
  const proxied = await peekTls({ socket, servername: ep.hostname, timeoutMs, signal: ctx.deps.signal });
  const res = ctx.facts.resolution;
  const address = res && res.hostname === ep.hostname ? res.addresses[0]?.address : undefined;
  const direct: TlsPeek | null = address
    ? await peekTls({ address, port: ep.port, servername: ep.hostname, timeoutMs: Math.min(timeoutMs, 5000), signal: ctx.deps.signal })
    : null;
  const certsDir = path.join(ctx.options.certsDir, ep.host);
  const certsD = certsDCas(certsDir);
  const show = (p: TlsPeek | null) =>
    p === null
      ? "not attempted (no resolved address)"
      : p.ok
        ? { protocol: p.protocol, chain: p.chain as unknown as Evidence[], durationMs: p.durationMs }
        : { error: p.error, durationMs: p.durationMs };
  evidence.tls = {
    throughProxy: show(proxied) as Evidence,
    direct: show(direct) as Evidence,
    directAddress: address ?? null,
    certsD: certsD.files,
  };
  if (!proxied.ok) return null; // the connect stage reports TLS failures through the same route
  const trust = { system: chainTrustedBy(proxied.x509, systemRootCas()), certsD: chainTrustedBy(proxied.x509, certsD.cas) };
  const directChain = direct?.ok ? direct.x509 : null;
  if (!judgeInterception(proxied.x509, directChain, trust)) return null;
  const leaf = proxied.chain[0]!;
  const trusted = trust.system ? "system" : trust.certsD ? "certs.d" : "none";
  return finding(
    "PROXY_TLS_INTERCEPTION",
    {
      host: `${ep.hostname}:${ep.port}`,
      proxy,
      issuer: leaf.issuer,
      subject: leaf.subject,
      fingerprint: leaf.fingerprint256,
      root: proxied.chain.at(-1)!.issuer,
      directIssuer: direct?.ok ? direct.chain[0]!.issuer : null,
      directFingerprint: direct?.ok ? direct.chain[0]!.fingerprint256 : null,
      trusted,
      certsDir,
    },
    {
      proxy,
      throughProxy: proxied.chain as unknown as Evidence[],
      direct: direct?.ok ? (direct.chain as unknown as Evidence[]) : null,
      trusted,
    },
    { severity: trusted === "system" ? "info" : trusted === "certs.d" ? "warning" : "error" },
  );
}
