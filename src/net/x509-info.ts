import type { X509Certificate } from "node:crypto";
import { isIP } from "./ip";
import { Anchor, AnchorSet, pemDers, systemAnchors } from "./trust-store";

export interface CertInfo {
  subject: string;
  issuer: string;
  sans: string[];
  notBefore: string;
  notAfter: string;
  fingerprint256: string;
  serialNumber: string;
  selfSigned: boolean;
}

/** One-line DN as Go prints it in x509 errors ("CN=registry.test,O=Example"). */
export function oneLineDn(dn: string): string {
  return dn.split("\n").filter(Boolean).join(",");
}

export function certInfo(x: X509Certificate): CertInfo {
  return {
    subject: oneLineDn(x.subject),
    issuer: oneLineDn(x.issuer),
    sans: parseSans(x.subjectAltName),
    notBefore: new Date(x.validFrom).toISOString(),
    notAfter: new Date(x.validTo).toISOString(),
    fingerprint256: x.fingerprint256,
    serialNumber: x.serialNumber,
    selfSigned: x.subject === x.issuer && safeVerify(x, x),
  };
}

/** "DNS:a, IP Address:1.2.3.4" → ["DNS:a", "IP:1.2.3.4"] (openssl's spelling of SANs). */
export function parseSans(s: string | undefined): string[] {
  if (!s) return [];
  return s
    .split(/,\s*/)
    .map((p) => p.trim().replace(/^IP Address:/, "IP:"))
    .filter(Boolean);
}

function safeVerify(cert: X509Certificate, issuer: X509Certificate): boolean {
  try {
    return cert.verify(issuer.publicKey);
  } catch {
    return false;
  }
}

export interface TrustResult {
  trusted: boolean;
  /** Subject of the trust anchor reached (system store or an extra CA). */
  anchor: string | null;
  /** The anchor came from the extra CAs (certs.d), not the system store. */
  anchorFromExtra: boolean;
  /** When untrusted: the DN whose certificate is missing (the issuer of the topmost certificate). */
  missingIssuer: string | null;
  /** When untrusted and the chain ends in a self-signed root the client does not trust. */
  untrustedRoot: string | null;
  /** The topmost certificate we could build to. */
  top: string | null;
  /** When an issuer is missing: where the topmost certificate says it can be fetched (AIA CA Issuers). */
  issuerUrl?: string | null;
  /** Where the system trust store was read from. */
  store?: string;
}

/**
 * Chain trust, judged without the clock (expiry is reported separately, against opts.now):
 * walk from the leaf through the served certificates and the trusted CAs, as Go's x509
 * chain building does, and say which issuer is missing when no anchor is reached.
 */
export function judgeTrust(chain: X509Certificate[], extraCa: string[]): TrustResult {
  const extra = new AnchorSet();
  // An unparsable one anchors nothing (certs.d reports it itself).
  for (const pem of extraCa) for (const der of pemDers(pem)) extra.add(new Anchor(der, true));
  const system = systemAnchors();
  return { ...judgeChain(chain, [extra, system.anchors]), store: system.source };
}

/** Nothing established yet: the verdicts below each fill in what they found. */
const NO_TRUST: TrustResult = { trusted: false, anchor: null, anchorFromExtra: false, missingIssuer: null, untrustedRoot: null, top: null };

function judgeChain(chain: X509Certificate[], sets: AnchorSet[]): TrustResult {
  const exact = (c: X509Certificate) => sets.map((s) => s.exact(c.raw)).find((a) => a?.x509());
  // The anchors whose subject is c's issuer (Go's candidate parents), certs.d first, that did issue it.
  const issuer = (c: X509Certificate) =>
    sets
      .flatMap((s) => s.issuersOf(c.raw))
      .find((a) => {
        const x = a.x509();
        return x !== null && c.checkIssued(x) && safeVerify(c, x);
      });
  let cur = chain[0];
  const seen = new Set<string>();
  while (cur && !seen.has(cur.fingerprint256)) {
    seen.add(cur.fingerprint256);
    const c: X509Certificate = cur;
    const top = oneLineDn(c.subject);
    // Trusted when this certificate is an anchor, or an anchor issued it.
    const anchor = exact(c) ?? issuer(c);
    const ax = anchor?.x509();
    if (anchor && ax) return { ...NO_TRUST, trusted: true, anchor: oneLineDn(ax.subject), anchorFromExtra: anchor.fromExtra, top };
    if (c.subject === c.issuer && safeVerify(c, c)) return { ...NO_TRUST, untrustedRoot: top, top };
    // A served certificate signs the one below only as a CA (basicConstraints CA:TRUE), as Go
    // requires of an intermediate (crypto/x509/verify.go#isValid, NotAuthorizedToSign).
    const next = chain.find((x) => x !== c && x.ca && c.checkIssued(x) && safeVerify(c, x));
    if (!next) return { ...NO_TRUST, missingIssuer: oneLineDn(c.issuer), top, issuerUrl: caIssuersUrl(c) };
    cur = next;
  }
  return { ...NO_TRUST };
}

/** The AIA "CA Issuers" URL: a certificate that names one was issued by an intermediate the server should send. */
export function caIssuersUrl(x: X509Certificate): string | null {
  const m = /CA Issuers - URI:(\S+)/.exec(x.infoAccess ?? "");
  return m ? m[1]! : null;
}

export interface ValidityResult {
  state: "valid" | "expired" | "not-yet-valid";
  /** The certificate outside its window (leaf first), or null. */
  subject: string | null;
  notBefore: string | null;
  notAfter: string | null;
  now: string;
}

/** Validity against the injected clock (Go checks every certificate of the chain). */
export function judgeValidity(chain: X509Certificate[], now: Date): ValidityResult {
  for (const x of chain) {
    const nb = new Date(x.validFrom);
    const na = new Date(x.validTo);
    const state = now < nb ? "not-yet-valid" : now > na ? "expired" : null;
    if (state)
      return { state, subject: oneLineDn(x.subject), notBefore: nb.toISOString(), notAfter: na.toISOString(), now: now.toISOString() };
  }
  return { state: "valid", subject: null, notBefore: null, notAfter: null, now: now.toISOString() };
}

/** Go's x509 error texts for the name check; null when the name is covered. */
export function judgeHostname(servername: string, leaf: X509Certificate): string | null {
  const sans = parseSans(leaf.subjectAltName);
  if (isIP(servername)) {
    if (!sans.some((s) => s.startsWith("IP:")))
      return `x509: cannot validate certificate for ${servername} because it doesn't contain any IP SANs`;
    return leaf.checkIP(servername)
      ? null
      : `x509: certificate is valid for ${sans
          .filter((s) => s.startsWith("IP:"))
          .map((s) => s.slice(3))
          .join(", ")}, not ${servername}`;
  }
  const dns = sans.filter((s) => s.startsWith("DNS:")).map((s) => s.slice(4));
  // Go ≥1.15 ignores the Common Name entirely.
  if (dns.length === 0) return "x509: certificate relies on legacy Common Name field, use SANs instead";
  return leaf.checkHost(servername, { subject: "never" }) ? null : `x509: certificate is valid for ${dns.join(", ")}, not ${servername}`;
}
