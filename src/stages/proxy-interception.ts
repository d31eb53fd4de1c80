import type { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync } from "node:fs";
import type net from "node:net";
import path from "node:path";
import type { Evidence } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import type { Endpoint, StageContext } from "../model/stage";
import type { TlsPeek } from "../net/tls-peek";

// Constructed only once a certificate is in hand: node:crypto is not loaded (and compiled) by a
// check whose TLS probe meets a plain-HTTP registry.
const X509 = () => (require("node:crypto") as typeof import("node:crypto")).X509Certificate;

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
        cas.push(new (X509())(block));
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

export async function checkInterception(
  ctx: StageContext,
  ep: Endpoint,
  proxy: string,
  socket: net.Socket,
  evidence: Evidence,
): Promise<Finding | null> {
  const timeoutMs = ctx.options.timeoutMs;
  // Through a proxy only: tls-peek loads node:tls.
  const { chainTrustedBy, peekTls, systemRootCas } = await import("../net/tls-peek");
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
      fixesFor: ctx.facts.client?.wire.fixesFor,
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
