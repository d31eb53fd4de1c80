import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { requireBinary } from "../peers/require";
import { tempDir } from "./context";

/**
 * A throwaway PKI built with the real `openssl` CLI. OpenSSL 3.0 (Debian bookworm) has no
 * `x509 -not_before/-not_after`, so certificates are signed with `openssl ca`, whose
 * -startdate/-enddate take any window, past or future: that is how tests get expired and
 * not-yet-valid certificates without faking the clock.
 */

export interface KeyPair {
  /** Paths of the PEM files. */
  certFile: string;
  keyFile: string;
  /** The PEM texts. */
  cert: string;
  key: string;
  /** Subject CN. */
  cn: string;
}

export interface CA extends KeyPair {
  dir: string;
  /** Clean up every file of this PKI (the CA and everything it issued). */
  cleanup(): void;
}

export interface ServerCertOptions {
  cn: string;
  /** Subject alternative names as openssl writes them: "DNS:registry.test", "IP:127.0.0.1". */
  sans: string[];
  /** Validity window; defaults to one hour ago … one day from now. */
  notBefore?: Date;
  notAfter?: Date;
  /** Authority Information Access "CA Issuers" URL (where the issuer certificate can be fetched). */
  caIssuersUrl?: string;
}

let serial = 0;

function openssl(args: string[], cwd: string): void {
  const bin = requireBinary("openssl", "openssl");
  const r = spawnSync(bin, args, { cwd, encoding: "utf8" });
  if (r.status !== 0) throw new Error(`openssl ${args.join(" ")} failed (${r.status}):\n${r.stderr}${r.stdout}`);
}

/** openssl ca wants YYYYMMDDHHMMSSZ (GeneralizedTime) for dates after 2049 too. */
function asn1Time(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:T]/g, "")
    .replace(/\.\d+Z$/, "Z");
}

/** Distinct serials across CAs, so tests can tell certificates apart by serial too. */
function randomSerial(): string {
  return `${randomBytes(8).toString("hex").replace(/^./, "1")}\n`;
}

function safe(name: string): string {
  return name.replace(/[^A-Za-z0-9._-]/g, "_");
}

/** A new root CA (self-signed, CA:true) in its own temp dir. */
export function makeCA(name: string): CA {
  const { dir, cleanup } = tempDir("pd-pki-");
  const keyFile = path.join(dir, `${safe(name)}-ca.key`);
  const certFile = path.join(dir, `${safe(name)}-ca.crt`);
  selfSignedPair(dir, keyFile, certFile, 3650, `/CN=${name}/O=pulldoctor tests`, [
    "basicConstraints=critical,CA:TRUE",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  mkdirSync(path.join(dir, "issued"), { recursive: true });
  writeFileSync(path.join(dir, "index.txt"), "");
  writeFileSync(path.join(dir, "serial"), randomSerial());
  return { dir, cleanup, certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), cn: name };
}

/**
 * An intermediate CA signed by `parent` (for missing-intermediate cases). `extensions` replaces
 * a CA's (a certificate that signs without being a CA, for chain-building cases).
 */
export function makeIntermediate(parent: CA, name: string, extensions?: string[]): CA {
  const sub = issue(parent, { cn: name, sans: [] }, "ca", extensions);
  const dir = path.join(parent.dir, `sub-${safe(name)}`);
  mkdirSync(path.join(dir, "issued"), { recursive: true });
  writeFileSync(path.join(dir, "index.txt"), "");
  writeFileSync(path.join(dir, "serial"), randomSerial());
  return { ...sub, dir, cleanup: parent.cleanup };
}

/** A server certificate (serverAuth) for `cn` with the given SANs and validity window. */
export function issueServerCert(ca: CA, opts: ServerCertOptions): KeyPair {
  return issue(ca, opts, "server");
}

/** A client certificate (clientAuth) for mTLS. */
export function issueClientCert(ca: CA, cn: string): KeyPair {
  return issue(ca, { cn, sans: [] }, "client");
}

/** A self-signed server certificate (its own issuer, not a CA anyone trusts). */
export function selfSigned(opts: ServerCertOptions): KeyPair & { cleanup(): void } {
  const { dir, cleanup } = tempDir("pd-pki-self-");
  const keyFile = path.join(dir, `${safe(opts.cn)}.key`);
  const certFile = path.join(dir, `${safe(opts.cn)}.crt`);
  selfSignedPair(dir, keyFile, certFile, 30, `/CN=${opts.cn}`, opts.sans.length ? [`subjectAltName=${opts.sans.join(",")}`] : []);
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), cn: opts.cn, cleanup };
}

/** `openssl req -x509` with a new P-256 key: the one way every self-signed certificate here is made. */
function selfSignedPair(dir: string, keyFile: string, certFile: string, days: number, subj: string, exts: string[]): void {
  const args = ["req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];
  args.push("-keyout", keyFile, "-out", certFile, "-days", String(days), "-subj", subj);
  for (const e of exts) args.push("-addext", e);
  openssl(args, dir);
}

/** The leaf followed by its chain, as a server sends it (nginx ssl_certificate takes this). */
export function fullChain(leaf: KeyPair, ...intermediates: KeyPair[]): string {
  const file = `${leaf.certFile.replace(/\.crt$/, "")}-fullchain.crt`;
  const pem = [leaf.cert, ...intermediates.map((i) => i.cert)].map((p) => `${p.trim()}\n`).join("");
  writeFileSync(file, pem);
  return file;
}

function issue(ca: CA, opts: ServerCertOptions, kind: "server" | "client" | "ca", extensions?: string[]): KeyPair {
  const base = path.join(ca.dir, "issued", `${safe(opts.cn)}-${++serial}`);
  const keyFile = `${base}.key`;
  const csrFile = `${base}.csr`;
  const certFile = `${base}.crt`;
  const extFile = `${base}.cnf`;
  openssl(
    [
      "req",
      "-new",
      "-newkey",
      "ec",
      "-pkeyopt",
      "ec_paramgen_curve:prime256v1",
      "-nodes",
      "-keyout",
      keyFile,
      "-out",
      csrFile,
      "-subj",
      `/CN=${opts.cn}`,
    ],
    ca.dir,
  );
  const ext =
    extensions ??
    (kind === "ca"
      ? ["basicConstraints=critical,CA:TRUE", "keyUsage=critical,keyCertSign,cRLSign"]
      : [
          "basicConstraints=critical,CA:FALSE",
          "keyUsage=critical,digitalSignature,keyEncipherment",
          `extendedKeyUsage=${kind === "server" ? "serverAuth" : "clientAuth"}`,
          ...(opts.sans.length ? [`subjectAltName=${opts.sans.join(",")}`] : []),
          ...(opts.caIssuersUrl ? [`authorityInfoAccess=caIssuers;URI:${opts.caIssuersUrl}`] : []),
        ]);
  const notBefore = opts.notBefore ?? new Date(Date.now() - 3600_000);
  const notAfter = opts.notAfter ?? new Date(Date.now() + 86_400_000);
  // A minimal `openssl ca` config: it lets us set any validity window (past or future).
  writeFileSync(
    extFile,
    [
      "[ ca ]",
      "default_ca = local",
      "[ local ]",
      `database = ${path.join(ca.dir, "index.txt")}`,
      `new_certs_dir = ${path.join(ca.dir, "issued")}`,
      `serial = ${path.join(ca.dir, "serial")}`,
      "default_md = sha256",
      "policy = any",
      "unique_subject = no",
      "copy_extensions = none",
      "email_in_dn = no",
      "[ any ]",
      "commonName = supplied",
      "[ ext ]",
      ...ext,
      "",
    ].join("\n"),
  );
  openssl(
    [
      "ca",
      "-batch",
      "-notext",
      "-config",
      extFile,
      "-extensions",
      "ext",
      "-cert",
      ca.certFile,
      "-keyfile",
      ca.keyFile,
      "-in",
      csrFile,
      "-out",
      certFile,
      "-startdate",
      asn1Time(notBefore),
      "-enddate",
      asn1Time(notAfter),
    ],
    ca.dir,
  );
  return { certFile, keyFile, cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), cn: opts.cn };
}
