import { clientName } from "../model/client-words";
import type { Evidence, Json } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import type { Endpoint } from "../model/stage";
import type { CertsD } from "../net/certs-d";
import { isLoopback } from "../registry/insecure";
import type { Insecurity } from "./connect-insecure";
import { describeOthers, type HopResult, type HopVerdict, type Problem } from "./connect-judge";

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

/** What the connect stage learned about one endpoint, for its findings. */
export interface ConnectFacts {
  ep: Endpoint;
  hops: HopResult[];
  verdicts: HopVerdict[];
  ins: Insecurity;
  certs: CertsD;
  timeoutMs: number;
  /** Whose fixes to write (the judged client's); absent: Docker's. */
  fixesFor?: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
  /** The judged client's label ("containerd (ctr, nerdctl)"); absent: Docker. */
  client?: string;
}

type Override = { severity?: "warning" | "info"; note?: string };

/** The plain-HTTP retry worked: Docker pulls over HTTP, other clients fail on the TLS problem. */
function fallbackSev(hop: HopResult): Override {
  return {
    severity: "warning",
    note: `Docker treats this registry as insecure and retries over plain HTTP, which answered (${hop.httpFallback!.firstLine}); containerd/kubelet, podman and other clients use HTTPS and fail.`,
  };
}

function fallbackEvidence(hop: HopResult): Evidence {
  return hop.httpFallback ? { plainHttpRetry: hop.httpFallback as unknown as Json } : {};
}

/** Every finding of the connect stage: one per problem code, certs.d trouble, and the insecure registry in use. */
export function connectFindings(f: ConnectFacts): Finding[] {
  const { ep, hops, verdicts, ins, certs } = f;
  const anyUsable = verdicts.some((v) => v.usable);
  const out: Finding[] = [];
  const seen = new Set<string>();
  verdicts.forEach((v, i) => {
    for (const p of v.problems) {
      if (seen.has(p.code)) continue;
      seen.add(p.code);
      out.push(problemFinding({ facts: f, problem: p, others: describeOthers(hops, verdicts, p.target), anyUsable, hop: hops[i]! }));
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
  const tlsProblem = out.some((x) => x.code.startsWith("TLS_"));
  if (ins.insecure && anyUsable && !tlsProblem) {
    const scheme = ep.url.startsWith("http://") ? "http" : verdicts.some((v) => v.usable && v.scheme === "https") ? "https" : "http";
    // A loopback registry is Docker's default and its traffic never leaves the host: info.
    out.push(
      finding(
        "TLS_INSECURE_IN_USE",
        { host: ep.host, why: ins.why ?? "insecure", scheme, loopbackOnly: ins.loopbackOnly, client: f.client, fixesFor: f.fixesFor },
        { why: ins.why },
        ins.loopbackOnly ? { severity: "info" } : {},
      ),
    );
  }
  return out;
}

/** One problem of one hop, with what is needed to word it. */
export interface ProblemInput {
  facts: ConnectFacts;
  problem: Problem;
  /** How the other addresses fared ("127.0.0.2:5000 connected"). */
  others: { text: string; ok: boolean };
  anyUsable: boolean;
  hop: HopResult;
}

/** The finding for one problem: TCP trouble, the TLS handshake, or the certificate. */
export function problemFinding(x: ProblemInput): Finding {
  switch (x.problem.code) {
    case "CONNECT_REFUSED":
    case "CONNECT_TIMEOUT":
    case "CONNECT_RESET":
      return tcpFinding(x, x.problem);
    case "TLS_HTTP_ONLY":
    case "TLS_HANDSHAKE_FAILED":
      return handshakeFinding(x, x.problem);
    default:
      return certificateFinding(x, x.problem);
  }
}

type ProblemOf<C extends Problem["code"]> = Extract<Problem, { code: C }>;

function tcpFinding(x: ProblemInput, p: ProblemOf<"CONNECT_REFUSED" | "CONNECT_TIMEOUT" | "CONNECT_RESET">): Finding {
  const { ep, timeoutMs } = x.facts;
  const ev: Evidence = { target: p.target, others: x.others.text };
  // TCP trouble on one address while another works: Go's dialer moves on (slower): a warning.
  const tcpSev: Override = x.anyUsable
    ? { severity: "warning", note: `${clientName(x.facts.fixesFor)} moves on to the next address, so the pull can still work.` }
    : {};
  const tcp = {
    host: ep.host,
    target: p.target,
    others: x.others.text,
    otherOk: x.others.ok,
    port: ep.port,
    mirror: ep.role === "mirror",
    error: p.message,
    fixesFor: x.facts.fixesFor,
  };
  const hop = x.hop;
  if (p.code === "CONNECT_RESET")
    return finding(
      "CONNECT_RESET",
      { ...tcp, phase: p.phase },
      { ...ev, error: p.message, ...fallbackEvidence(hop) },
      hop.httpFallback?.ok ? fallbackSev(hop) : tcpSev,
    );
  if (p.code === "CONNECT_REFUSED")
    return finding("CONNECT_REFUSED", tcp, { ...ev, error: p.message, connectMs: hop.tcp.durationMs }, tcpSev);
  return finding("CONNECT_TIMEOUT", { ...tcp, timeoutMs }, { ...ev, error: p.message, waitedMs: hop.tcp.durationMs }, tcpSev);
}

/**
 * containerd's own loopback rule looks at the host in the reference (localhost or a loopback
 * IP literal), whatever daemon.json says; Docker's also at the resolved addresses. So the note
 * depends on the name, not on why Docker considers it insecure (--insecure-registry 127.0.0.1:5000
 * printed "containerd fails" while the same registry without the flag printed "containerd does the same").
 */
function containerdLoopback(ep: Endpoint): boolean {
  return ep.hostname === "localhost" || isLoopback(ep.hostname);
}

/** Files or dirs that were probably meant for this registry but Docker does not read, added to the note. */
function withNearMiss(certs: CertsD, o: Override): Override {
  const nearMiss = certs.problems.length ? `certs.d: ${certs.problems.join("; ")}.` : "";
  return nearMiss ? { ...o, note: [o.note, nearMiss].filter(Boolean).join(" ") } : o;
}

function handshakeFinding(x: ProblemInput, p: ProblemOf<"TLS_HTTP_ONLY" | "TLS_HANDSHAKE_FAILED">): Finding {
  const { ep, ins, certs, timeoutMs } = x.facts;
  const hop = x.hop;
  const ev: Evidence = { target: p.target, others: x.others.text };
  const loopback = containerdLoopback(ep);
  if (p.code === "TLS_HTTP_ONLY")
    return finding(
      "TLS_HTTP_ONLY",
      { host: ep.host, target: p.target, firstLine: p.firstLine, configured: ins.insecure, loopback, fixesFor: x.facts.fixesFor },
      { ...ev, firstBytes: hop.tls?.firstBytes ?? null },
      ins.insecure ? { severity: "warning", note: loopback ? HTTP_LOOPBACK_NOTE : HTTP_NOTE } : {},
    );
  return finding(
    "TLS_HANDSHAKE_FAILED",
    {
      host: ep.host,
      target: p.target,
      reason: p.reason,
      alert: p.alert,
      clientCert: p.clientCert,
      certsPath: certs.dir,
      timeoutMs,
      fixesFor: x.facts.fixesFor,
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
    withNearMiss(certs, hop.httpFallback?.ok ? fallbackSev(hop) : {}),
  );
}

function certificateFinding(x: ProblemInput, p: ProblemOf<"TLS_EXPIRED" | "TLS_HOSTNAME_MISMATCH" | "TLS_UNKNOWN_CA">): Finding {
  const { ep, ins, certs } = x.facts;
  const tlsSev: Override = ins.insecure ? { severity: "warning", note: containerdLoopback(ep) ? LOOPBACK_NOTE : INSECURE_NOTE } : {};
  const t = p.tls;
  const leaf = t.chain[0];
  const cert = {
    host: ep.host,
    target: p.target,
    certsPath: certs.dir,
    subject: leaf?.subject ?? "?",
    issuer: leaf?.issuer ?? "?",
    fixesFor: x.facts.fixesFor,
  };
  // The facts of this code first, then the chain (support reads the top lines).
  const tail: Evidence = { others: x.others.text, chain: t.chain as unknown as Json };
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
    withNearMiss(certs, tlsSev),
  );
}
