import type net from "node:net";
import type { Evidence, Json } from "../model/evidence";
import type { LinkInfo } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { redactUrl } from "../model/redact";
import type { Endpoint, Stage, StageContext } from "../model/stage";
import { type CertsD, loadCertsD } from "../net/certs-d";
import { plainHttpAnswer } from "../net/http-probe";
import { hostPort, joinHostPort } from "../net/origin";
import { tcpProbe } from "../net/tcp";
import { type TlsProbe, tlsProbe } from "../net/tls";
import { openTunnel, TunnelError } from "../net/tunnel";
import { addressIsInsecure, isInsecureByConfig, isLoopback } from "../registry/insecure";
import { describeOthers, type HopResult, type HopVerdict, judgeHop, type Problem } from "./connect-judge";

/**
 * The connect stage: TCP to every resolved address (or one CONNECT tunnel through the proxy
 * Docker would use), then the TLS handshake Docker would make, judged as Docker judges it:
 * an insecure registry (configured, or at a loopback/CIDR address) skips verification and
 * falls back to plain HTTP, so its TLS problems are warnings; for any other registry errors.
 */
const INSECURE_NOTE =
  "Docker treats this registry as insecure and proceeds anyway; containerd/kubelet, podman and other clients verify and will fail.";
// containerd (ConfigureHosts) and go-containerregistry also use plain HTTP / skip verification for a
// loopback registry; podman/skopeo do not (they fail with the x509/HTTP error).
const LOOPBACK_NOTE =
  "Docker (and containerd, which treats loopback registries the same way) proceeds anyway; podman/skopeo and other clients that verify will fail.";
const HTTP_NOTE =
  "Docker treats this registry as insecure and falls back to plain HTTP; containerd/kubelet, podman and other clients use HTTPS and fail.";
const HTTP_LOOPBACK_NOTE =
  "Docker treats this loopback registry as insecure and falls back to plain HTTP (containerd does the same for loopback); podman/skopeo use HTTPS and fail.";

interface Insecurity {
  insecure: boolean;
  /** Why Docker considers it insecure, or null. */
  why: string | null;
  /** Only because of a loopback address (Docker's built-in default). */
  loopbackOnly: boolean;
}

export function insecurity(ep: Endpoint, addresses: string[], list: readonly string[]): Insecurity {
  const clean = (e: string) => e.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
  const byName = list.find((e) => clean(e) === ep.host);
  if (byName) return { insecure: true, why: `"${byName}" is in insecure-registries`, loopbackOnly: false };
  // Docker's built-in 127.0.0.0/8 and ::1/128 entries (the plan marks IP-literal loopback
  // endpoints insecure too; the reason is still loopback, not configuration).
  const lo = [ep.hostname, ...addresses].find((a) => isLoopback(a));
  if (lo)
    return {
      insecure: true,
      why: `${lo} is a loopback address (Docker always treats 127.0.0.0/8 and ::1 as insecure)`,
      loopbackOnly: true,
    };
  const cidrs = list.filter((e) => e.includes("/"));
  if (isInsecureByConfig(ep.host, ep.hostname, list) || addresses.some((a) => addressIsInsecure(a, list)))
    return { insecure: true, why: `its address is in an insecure-registries CIDR (${cidrs.map(clean).join(", ")})`, loopbackOnly: false };
  if (ep.insecure) return { insecure: true, why: `${ep.host} is configured as insecure`, loopbackOnly: false };
  return { insecure: false, why: null, loopbackOnly: false };
}

/** The plain-HTTP retry worked: Docker pulls over HTTP, other clients fail on the TLS problem. */
function fallbackSev(hop: HopResult): { severity: "warning"; note: string } {
  return {
    severity: "warning",
    note: `Docker treats this registry as insecure and retries over plain HTTP, which answered (${hop.httpFallback!.firstLine}); containerd/kubelet, podman and other clients use HTTPS and fail.`,
  };
}

function fallbackEvidence(hop: HopResult): Evidence {
  return hop.httpFallback ? { plainHttpRetry: hop.httpFallback as unknown as Json } : {};
}

export const connectStage: Stage = {
  id: "connect",
  title: "Connect",
  scope: "endpoint",
  needs: ["ref", "local", "route"],
  async run(ctx) {
    const ep = ctx.endpoint;
    if (!ep) throw new Error("connect stage run without an endpoint");
    const list = [...(ctx.facts.local?.daemon.insecureRegistries ?? []), ...ctx.options.insecureRegistries];
    const res = ctx.facts.resolution && ctx.facts.resolution.hostname === ep.hostname ? ctx.facts.resolution : null;
    const addresses = res?.addresses ?? [];
    const plainHttp = ep.url.startsWith("http://");
    const byRule = insecurity(
      ep,
      addresses.map((a) => a.address),
      list,
    );
    // An http:// mirror URL is plain HTTP whatever the list says (Docker uses it as written).
    const ins: Insecurity =
      plainHttp && !byRule.insecure ? { insecure: true, why: `its URL is ${ep.url} (plain HTTP)`, loopbackOnly: false } : byRule;
    const certsDir = ctx.facts.local?.certsDir ?? ctx.options.certsDir;
    // Docker verifies Docker Hub (the official upstream) against the system store only
    // (lookupV2Endpoints: tlsconfig.ServerDefault()); certs.d is read for mirrors and others.
    const hub = ep.role === "upstream" && ep.hostname === "registry-1.docker.io";
    const certs: CertsD = hub
      ? { dir: "", exists: false, ca: [], client: null, problems: [], dockerError: null, files: [] }
      : loadCertsD(certsDir, ep.host);
    // Docker reads certs.d only for secure registries (newTLSConfig(hostname, isSecure)); for an
    // insecure one it skips verification anyway. The CAs still judge the chain, because that is
    // what containerd/kubelet and podman (which read the same dir) would verify against; the
    // client pair is presented only when Docker would present it.
    const useCerts = !ins.insecure;
    const ca = certs.ca.map((c) => c.pem);
    const client = useCerts ? certs.client : null;
    const proxy = ctx.facts.route?.url ?? null;
    const timeoutMs = ctx.options.timeoutMs;
    const now = ctx.deps.now();
    const signal = ctx.deps.signal;

    const tls = (socket: net.Socket): Promise<TlsProbe> =>
      tlsProbe({
        servername: ep.hostname,
        port: ep.port,
        socket,
        ca,
        ...(client ? { cert: client.cert, key: client.key } : {}),
        timeoutMs,
        signal,
        now,
        askServerDate: true,
      });

    let hops: HopResult[];
    let tunnelEvidence: Evidence | null = null;
    let tunnelFailure: string | null = null;
    if (proxy && plainHttp) {
      // Go sends an http:// request to the proxy as is (absolute URI, no CONNECT): the hop is
      // the proxy itself; whether it forwards the request is the v2 stage's question.
      const p = hostPort(proxy);
      const tcp = await tcpProbe(p.host, p.port, { timeoutMs, signal });
      hops = [{ target: `proxy ${redactUrl(proxy)} (forwards http:// requests, no tunnel)`, tcp, tls: null }];
    } else if (proxy) {
      const target = `proxy ${redactUrl(proxy)} → ${joinHostPort(ep.hostname, ep.port)}`;
      try {
        const t = await openTunnel({
          proxyUrl: proxy,
          auth: ctx.facts.route?.auth ?? null,
          host: ep.hostname,
          port: ep.port,
          timeoutMs,
          signal,
        });
        tunnelEvidence = { proxy: redactUrl(proxy), status: t.status, durationMs: t.durationMs };
        hops = [{ target, tcp: { ok: true, durationMs: t.durationMs }, tls: await tls(t.socket) }];
      } catch (e) {
        if (!(e instanceof TunnelError)) throw e;
        tunnelEvidence = {
          proxy: redactUrl(proxy),
          error: e.message,
          kind: e.kind,
          status: e.status ?? null,
          phase: e.phase,
          durationMs: e.durationMs,
        };
        // The proxy stage made the same CONNECT and owns that finding (407, 403, proxy down):
        // a second error here would blame the registry, which was never reached.
        tunnelFailure = `the proxy did not open a tunnel to ${joinHostPort(ep.hostname, ep.port)} (${e.message}); the proxy stage's finding explains why`;
        const kind = e.kind === "timeout" || e.code === "ETIMEDOUT" ? "timeout" : "refused";
        hops = [
          {
            target,
            tcp: {
              ok: false,
              durationMs: e.durationMs,
              error: { kind, code: e.code ?? e.kind, message: `${e.message} (the proxy stage explains the proxy's side)` },
            },
            tls: null,
          },
        ];
      }
    } else {
      // Every address in parallel: Docker tries them in turn, the doctor wants each one's answer.
      hops = await Promise.all(
        addresses.map(async (a): Promise<HopResult> => {
          let sock: net.Socket | undefined;
          const tcp = await tcpProbe(a.address, ep.port, { timeoutMs, signal, keep: (s) => (sock = s) });
          const target = joinHostPort(a.address, ep.port);
          if (!tcp.ok || !sock) return { target, tcp, tls: null };
          if (plainHttp) {
            (sock as net.Socket).destroy();
            return { target, tcp, tls: null };
          }
          const t = await tls(sock);
          // Docker's fallback for an insecure registry: HTTPS failed outright, so it retries
          // plain HTTP; ask that question too (an HTTP answer to the ClientHello already says it).
          const httpFallback =
            ins.insecure && !t.ok && t.error?.kind !== "http-response"
              ? await plainHttpAnswer(a.address, ep.port, ep.host, { timeoutMs, signal })
              : undefined;
          return { target, tcp, tls: t, ...(httpFallback ? { httpFallback } : {}) };
        }),
      );
    }

    const verdicts = hops.map((h) => judgeHop(h, { insecure: ins.insecure, plainHttp }));
    for (const h of hops) ctx.trace.record({ kind: "note", text: traceLine(h) });
    const usable = verdicts.findIndex((v) => v.usable);
    const findings = tunnelFailure ? [] : toFindings(ctx, ep, hops, verdicts, ins, certs, usable >= 0);
    const evidence: Evidence = {
      url: ep.url,
      insecure: { value: ins.insecure, why: ins.why, insecureRegistries: list },
      route: proxy ? redactUrl(proxy) : "direct",
      ...(tunnelEvidence ? { tunnel: tunnelEvidence } : {}),
      certsD: certsEvidence(certs, useCerts),
      hops: hops.map((h, i) => hopEvidence(h, verdicts[i]!)),
    };
    let provides: { link: LinkInfo } | undefined;
    if (usable >= 0) {
      const scheme = plainHttp ? "http" : verdicts.some((v) => v.usable && v.scheme === "https") ? "https" : "http";
      provides = {
        link: {
          scheme,
          baseUrl: `${scheme}://${ep.host}${ep.pathPrefix}`,
          tls: { ca, ...(client ? { cert: client.cert, key: client.key } : {}), verify: !ins.insecure },
          insecure: ins.insecure,
        },
      };
    }
    const okCount = verdicts.filter((v) => v.usable).length;
    const summary =
      hops.length === 0
        ? `${ep.host}: no address to connect to (the name did not resolve and no proxy is used)`
        : `${ep.host}: ${okCount}/${hops.length} ${proxy ? "route" : "address"}${hops.length > 1 ? "es" : ""} usable` +
          (provides ? ` over ${provides.link.scheme}${ins.insecure ? " (insecure)" : ""}` : "") +
          (hops[0]?.tls?.protocol ? `, ${hops[0].tls.protocol}` : "") +
          (findings.length ? `; ${[...new Set(findings.map((f) => f.code))].join(", ")}` : "");
    return {
      summary,
      evidence,
      findings,
      ...(provides ? { provides } : {}),
      ...(hops.length === 0 ? { skipped: "the name did not resolve and no proxy is used, so there is no address to connect to" } : {}),
      ...(tunnelFailure ? { skipped: tunnelFailure } : {}),
    };
  },
};

function toFindings(
  ctx: StageContext,
  ep: Endpoint,
  hops: HopResult[],
  verdicts: HopVerdict[],
  ins: Insecurity,
  certs: CertsD,
  anyUsable: boolean,
): Finding[] {
  const out: Finding[] = [];
  const seen = new Set<string>();
  const certsPath = certs.dir;
  verdicts.forEach((v, i) => {
    for (const p of v.problems) {
      if (seen.has(p.code)) continue;
      seen.add(p.code);
      const o = describeOthers(hops, verdicts, p.target);
      out.push(one(ctx, ep, p, o, ins, certsPath, certs, anyUsable, hops[i]!));
    }
  });
  // Docker reads certs.d only for a secure registry, and stops at an unpaired .cert/.key.
  if (certs.dockerError && !ins.insecure) {
    const file = (/for client certificate (\S+?)\. /.exec(certs.dockerError) ?? /for key (\S+)$/.exec(certs.dockerError))?.[1] ?? "";
    out.unshift(
      finding(
        "CERTS_D_INVALID",
        { host: ep.host, dir: certs.dir, error: certs.dockerError, file },
        { dir: certs.dir, files: certs.files ?? [], error: certs.dockerError },
      ),
    );
  }
  const tlsProblem = out.some((f) => f.code.startsWith("TLS_"));
  if (ins.insecure && anyUsable && !tlsProblem) {
    const scheme = ep.url.startsWith("http://") ? "http" : verdicts.some((v) => v.usable && v.scheme === "https") ? "https" : "http";
    // A loopback registry is Docker's default and its traffic never leaves the host: info.
    out.push(
      finding(
        "TLS_INSECURE_IN_USE",
        { host: ep.host, why: ins.why ?? "insecure", scheme, loopbackOnly: ins.loopbackOnly },
        { why: ins.why },
        ins.loopbackOnly ? { severity: "info" } : {},
      ),
    );
  }
  return out;
}

function one(
  ctx: StageContext,
  ep: Endpoint,
  p: Problem,
  others: { text: string; ok: boolean },
  ins: Insecurity,
  certsPath: string,
  certs: CertsD,
  anyUsable: boolean,
  hop: HopResult,
): Finding {
  const ev: Evidence = { target: p.target, others: others.text };
  // TCP trouble on one address while another works: Go's dialer moves on (slower): a warning.
  const tcpSev = anyUsable
    ? { severity: "warning" as const, note: "Docker moves on to the next address, so the pull can still work." }
    : {};
  // containerd's own loopback rule looks at the host in the reference (localhost or a loopback
  // IP literal), whatever daemon.json says; Docker's also at the resolved addresses. So the note
  // depends on the name, not on why Docker considers it insecure (--insecure-registry 127.0.0.1:5000
  // printed "containerd fails" while the same registry without the flag printed "containerd does the same").
  const containerdLoopback = ep.hostname === "localhost" || isLoopback(ep.hostname);
  const tlsSev = ins.insecure ? { severity: "warning" as const, note: containerdLoopback ? LOOPBACK_NOTE : INSECURE_NOTE } : {};
  // Files or dirs that were probably meant for this registry but Docker does not read.
  const nearMiss = certs.problems.length ? `certs.d: ${certs.problems.join("; ")}.` : "";
  const withNearMiss = (o: { severity?: "warning"; note?: string }) =>
    nearMiss ? { ...o, note: [o.note, nearMiss].filter(Boolean).join(" ") } : o;
  const tcp = {
    host: ep.host,
    target: p.target,
    others: others.text,
    otherOk: others.ok,
    port: ep.port,
    mirror: ep.role === "mirror",
    ...("message" in p ? { error: p.message } : {}),
  };
  switch (p.code) {
    case "CONNECT_REFUSED":
      return finding("CONNECT_REFUSED", tcp, { ...ev, error: p.message, connectMs: hop.tcp.durationMs }, tcpSev);
    case "CONNECT_TIMEOUT":
      return finding(
        "CONNECT_TIMEOUT",
        { ...tcp, timeoutMs: ctx.options.timeoutMs },
        { ...ev, error: p.message, waitedMs: hop.tcp.durationMs },
        tcpSev,
      );
    case "CONNECT_RESET":
      return finding(
        "CONNECT_RESET",
        { ...tcp, phase: p.phase },
        { ...ev, error: p.message, ...fallbackEvidence(hop) },
        hop.httpFallback?.ok ? fallbackSev(hop) : tcpSev,
      );
    case "TLS_HTTP_ONLY":
      return finding(
        "TLS_HTTP_ONLY",
        { host: ep.host, target: p.target, firstLine: p.firstLine, configured: ins.insecure, loopback: containerdLoopback },
        { ...ev, firstBytes: hop.tls?.firstBytes ?? null },
        ins.insecure ? { severity: "warning", note: containerdLoopback ? HTTP_LOOPBACK_NOTE : HTTP_NOTE } : {},
      );
    case "TLS_HANDSHAKE_FAILED":
      return finding(
        "TLS_HANDSHAKE_FAILED",
        {
          host: ep.host,
          target: p.target,
          reason: p.reason,
          alert: p.alert,
          clientCert: p.clientCert,
          certsPath,
          timeoutMs: ctx.options.timeoutMs,
        },
        {
          ...ev,
          error: hop.tls?.error as unknown as Json,
          alert: p.alert,
          clientCert: p.clientCert,
          certsDClient: certs.client?.certFile ?? null,
          handshakeMs: hop.tls?.durationMs ?? null,
          ...fallbackEvidence(hop),
        },
        withNearMiss(hop.httpFallback?.ok ? fallbackSev(hop) : {}),
      );
    default: {
      const t = p.tls;
      const leaf = t.chain[0];
      const cert = { host: ep.host, target: p.target, certsPath, subject: leaf?.subject ?? "?", issuer: leaf?.issuer ?? "?" };
      // The facts of this code first, then the chain (support reads the top lines).
      const tail: Evidence = { others: others.text, chain: t.chain as unknown as Json };
      if (p.code === "TLS_EXPIRED") {
        const v = t.validity!;
        const go = (iso: string | null) => (iso ?? "").replace(/\.\d+Z$/, "Z");
        const error = `x509: certificate has expired or is not yet valid: current time ${go(v.now)} is ${v.state === "expired" ? `after ${go(v.notAfter)}` : `before ${go(v.notBefore)}`}`;
        return finding(
          "TLS_EXPIRED",
          {
            ...cert,
            subject: v.subject ?? cert.subject,
            state: v.state,
            notBefore: v.notBefore ?? "",
            notAfter: v.notAfter ?? "",
            now: v.now,
            serverDate: t.serverDate ?? null,
          },
          {
            target: p.target,
            certificate: v.subject,
            notBefore: v.notBefore,
            notAfter: v.notAfter,
            localClock: v.now,
            serverClock: t.serverDate ?? null,
            state: v.state,
            error,
            ...tail,
          },
          tlsSev,
        );
      }
      if (p.code === "TLS_HOSTNAME_MISMATCH")
        return finding(
          "TLS_HOSTNAME_MISMATCH",
          { ...cert, name: ep.hostname, names: leaf?.sans ?? [], message: t.hostnameError ?? "name mismatch" },
          { target: p.target, requested: ep.hostname, sans: leaf?.sans ?? [], error: t.hostnameError ?? null, ...tail },
          tlsSev,
        );
      const tr = t.trust!;
      return finding(
        "TLS_UNKNOWN_CA",
        {
          ...cert,
          missingIssuer: tr.missingIssuer,
          untrustedRoot: tr.untrustedRoot,
          certsDCas: certs.ca.length,
          sent: t.chain.length,
          issuerUrl: tr.issuerUrl ?? null,
        },
        {
          target: p.target,
          subject: cert.subject,
          issuer: cert.issuer,
          missingIssuer: tr.missingIssuer,
          issuerUrl: tr.issuerUrl ?? null,
          untrustedRoot: tr.untrustedRoot,
          error: "x509: certificate signed by unknown authority",
          certsDCaFiles: certs.ca.map((c) => c.file),
          certsDProblems: certs.problems,
          ...tail,
        },
        withNearMiss(tlsSev),
      );
    }
  }
}

/** One --verbose line per hop: "connect 127.0.0.1:5000 0.4 ms; TLS TLSv1.3 … CN=leaf ← CN=CA; verified". */
function traceLine(h: HopResult): string {
  const tcp = h.tcp.ok ? `${h.tcp.durationMs} ms` : `failed after ${h.tcp.durationMs} ms: ${h.tcp.error?.message ?? "?"}`;
  const t = h.tls;
  const tls = !t
    ? ""
    : t.error
      ? `; TLS failed after ${t.durationMs} ms: ${t.error.message}`
      : `; TLS ${t.protocol} ${t.cipher} in ${t.durationMs} ms, ${t.chain.map((c) => c.subject).join(" ← ")}; ${t.verifyError ? t.verifyError.message : t.hostnameOk ? "verified" : (t.hostnameError ?? "name mismatch")}`;
  return `connect ${h.target}: ${tcp}${tls}`;
}

function certsEvidence(c: CertsD, used: boolean): Evidence {
  if (!c.dir) return { dir: null, note: "Docker reads no certs.d for Docker Hub: the system store only" };
  return {
    dir: c.dir,
    exists: c.exists,
    files: c.files ?? [],
    caFiles: c.ca.map((x) => x.file),
    clientCert: c.client?.certFile ?? null,
    problems: c.problems,
    dockerError: c.dockerError ?? null,
    usedByDocker: used
      ? true
      : "no: Docker ignores certs.d for an insecure registry (its CAs were still used to judge the chain, as containerd/podman would)",
  };
}

function hopEvidence(h: HopResult, v: HopVerdict): Evidence {
  const t = h.tls;
  return {
    target: h.target,
    connect: h.tcp.ok
      ? { ok: true, ms: h.tcp.durationMs }
      : { ok: false, ms: h.tcp.durationMs, error: (h.tcp.error ?? null) as unknown as Json },
    tls: t
      ? {
          ok: t.ok,
          ms: t.durationMs,
          protocol: t.protocol,
          cipher: t.cipher,
          alpn: t.alpn,
          error: t.error as unknown as Json,
          alert: t.alert ?? null,
          firstBytes: t.firstBytes ?? null,
          clientCert: t.clientCert ?? null,
          verified: t.verified,
          verifyError: t.verifyError as unknown as Json,
          hostname: { ok: t.hostnameOk, error: t.hostnameError ?? null },
          validity: (t.validity ?? null) as unknown as Json,
          trust: (t.trust ?? null) as unknown as Json,
          chain: t.chain as unknown as Json,
        }
      : null,
    usable: v.usable,
    scheme: v.scheme,
  };
}
