import type { X509Certificate } from "node:crypto";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

/*
 * The system trust store as Go reads it on Linux (crypto/x509 root_unix.go, loadSystemRoots):
 * the first bundle file that exists, plus every file in the certificate directories except a
 * symlink to a file of the same directory (readUniqueDirectoryEntries: /etc/ssl/certs's hash
 * links). That is what dockerd trusts, including a corporate CA installed with
 * update-ca-certificates, which the runtime's bundled Mozilla list would not know. Without any
 * of them, the bundled list stands in.
 *
 * Certificates are parsed only when a chain could lead to them: Go's CertPool finds the
 * candidate parents of a certificate by its raw issuer name (findPotentialParents, byName), and
 * so does `issuersOf`; parsing all 140-odd roots with node:crypto cost ≈ 6 ms of every check of
 * a TLS registry (docs/performance.md, "A TLS 1.3 probe that waited 100 ms").
 */

const X509 = () => (require("node:crypto") as typeof import("node:crypto")).X509Certificate;
// The runtime's bundled roots, only where the host has no store: node:tls is not otherwise loaded by a check.
const bundledRoots = () => (require("node:tls") as typeof import("node:tls")).rootCertificates;

const CERT_FILES = [
  "/etc/ssl/certs/ca-certificates.crt",
  "/etc/pki/tls/certs/ca-bundle.crt",
  "/etc/ssl/ca-bundle.pem",
  "/etc/pki/tls/cacert.pem",
  "/etc/pki/ca-trust/extracted/pem/tls-ca-bundle.pem",
  "/etc/ssl/cert.pem",
];
const CERT_DIRS = ["/etc/ssl/certs", "/etc/pki/tls/certs"];
const BEGIN = "-----BEGIN CERTIFICATE-----";
const END = "-----END CERTIFICATE-----";

/** A trusted certificate, parsed on first use. */
export class Anchor {
  #x509: X509Certificate | null | undefined;
  constructor(
    readonly der: Buffer,
    readonly fromExtra: boolean,
  ) {}
  /** null: unparsable (it cannot anchor anything; Go skips it too). */
  x509(): X509Certificate | null {
    if (this.#x509 === undefined) {
      try {
        this.#x509 = new (X509())(this.der);
      } catch {
        this.#x509 = null;
      }
    }
    return this.#x509;
  }
}

/**
 * Anchors found by their DER, or as the possible issuers of a certificate: those whose subject is
 * the certificate's raw issuer name. Nothing is indexed ahead: a store is read once per run and
 * asked about one chain, so the candidates are found by a native byte search of each anchor's DER
 * for that name, then confirmed by its subject field.
 */
export class AnchorSet {
  #byDer = new Map<string, Anchor>();
  readonly all: Anchor[] = [];
  add(a: Anchor): void {
    const key = a.der.toString("latin1");
    if (this.#byDer.has(key)) return;
    this.#byDer.set(key, a);
    this.all.push(a);
  }
  exact(der: Buffer): Anchor | undefined {
    return this.#byDer.get(der.toString("latin1"));
  }
  issuersOf(der: Buffer): Anchor[] {
    const issuer = rawNames(der)?.issuer;
    if (issuer === undefined) return [];
    const name = Buffer.from(issuer, "latin1");
    return this.all.filter((a) => a.der.indexOf(name) >= 0 && rawNames(a.der)?.subject === issuer);
  }
}

let system: { anchors: AnchorSet; source: string } | null = null;

export function systemAnchors(): { anchors: AnchorSet; source: string } {
  if (system) return system;
  const anchors = new AnchorSet();
  const sources: string[] = [];
  const addPems = (text: string | null) => {
    for (const der of pemDers(text ?? "")) anchors.add(new Anchor(der, false));
  };
  for (const f of CERT_FILES) {
    const text = readText(f);
    if (text === null) continue;
    addPems(text);
    sources.push(f);
    break;
  }
  for (const d of CERT_DIRS) {
    const names = uniqueEntries(d);
    if (!names) continue;
    sources.push(`${d}/*`);
    for (const n of names) addPems(readText(`${d}/${n}`));
  }
  const found = anchors.all.length > 0;
  if (!found) for (const pem of bundledRoots()) addPems(pem);
  system = { anchors, source: found ? sources.join(" + ") : "the runtime's bundled Mozilla roots (no system CA file found)" };
  return system;
}

/** A directory's entries, less symlinks to a file of the same directory (Go's readUniqueDirectoryEntries); null when unreadable. */
export function uniqueEntries(dir: string): string[] | null {
  try {
    return readdirSync(dir, { withFileTypes: true })
      .filter((e) => {
        if (!e.isSymbolicLink()) return true;
        try {
          return readlinkSync(`${dir}/${e.name}`).includes("/");
        } catch {
          return true;
        }
      })
      .map((e) => e.name);
  } catch {
    return null;
  }
}

/** The DER of every PEM certificate in a text (base64 decoding skips the line breaks). */
export function pemDers(text: string): Buffer[] {
  const out: Buffer[] = [];
  for (let at = text.indexOf(BEGIN); at >= 0; at = text.indexOf(BEGIN, at)) {
    const end = text.indexOf(END, at + BEGIN.length);
    if (end < 0) break;
    out.push(Buffer.from(text.slice(at + BEGIN.length, end), "base64"));
    at = end + END.length;
  }
  return out;
}

function readText(file: string): string | null {
  try {
    return readFileSync(file, "latin1");
  } catch {
    return null;
  }
}

/**
 * The raw DER of a certificate's issuer and subject names (Go's RawIssuer and RawSubject), as
 * latin1 strings to key maps by; undefined when the DER is not a certificate's shape.
 * Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version OPTIONAL, serialNumber,
 * signature, issuer, validity, subject, … }, … } (RFC 5280 §4.1).
 */
export function rawNames(der: Uint8Array): { issuer: string; subject: string } | undefined {
  const tlv = (at: number): { start: number; body: number; end: number } | undefined => {
    if (at + 2 > der.length) return undefined;
    let len = der[at + 1] as number;
    let body = at + 2;
    if (len & 0x80) {
      const n = len & 0x7f;
      if (n < 1 || n > 4 || body + n > der.length) return undefined;
      len = 0;
      for (let i = 0; i < n; i++) len = len * 256 + (der[body + i] as number);
      body += n;
    }
    return body + len > der.length ? undefined : { start: at, body, end: body + len };
  };
  const cert = tlv(0);
  const tbs = cert && der[cert.body] === 0x30 ? tlv(cert.body) : undefined;
  if (!tbs || der[0] !== 0x30) return undefined;
  let at = tbs.body;
  if (der[at] === 0xa0) at = tlv(at)?.end ?? -1; // [0] version
  const fields: { start: number; end: number }[] = [];
  for (let i = 0; i < 5 && at >= 0 && at < tbs.end; i++) {
    const f = tlv(at);
    if (!f) return undefined;
    fields.push(f);
    at = f.end;
  }
  // serialNumber, signature, issuer, validity, subject
  const [, , issuer, , subject] = fields;
  if (!issuer || !subject || der[issuer.start] !== 0x30 || der[subject.start] !== 0x30) return undefined;
  const text = (f: { start: number; end: number }) => Buffer.from(der.buffer, der.byteOffset + f.start, f.end - f.start).toString("latin1");
  return { issuer: text(issuer), subject: text(subject) };
}
