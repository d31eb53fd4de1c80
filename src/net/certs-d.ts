import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { Secret } from "../model/secret";

export interface CertsD {
  /** The directory Docker reads for this registry: <certsDir>/<host[:port]>. */
  dir: string;
  exists: boolean;
  /** *.crt files: extra CAs, added to the system pool. */
  ca: { file: string; pem: string }[];
  /** The first *.cert + *.key pair (the client certificate for mTLS). */
  client: { cert: string; key: Secret; certFile: string; keyFile: string } | null;
  /** Everything that looks wrong or almost right: near-miss dirs, .pem files, unpaired files. */
  problems: string[];
  /** The error dockerd itself stops with for this dir (unpaired .cert/.key), or null. */
  dockerError?: string | null;
  /** Every file found in the dir (names only). */
  files?: string[];
}

function isDir(p: string): boolean {
  try {
    return statSync(p).isDirectory();
  } catch {
    return false;
  }
}

function list(dir: string): string[] {
  try {
    return readdirSync(dir).sort();
  } catch {
    return [];
  }
}

/**
 * Docker's certs.d rules (moby daemon/pkg/registry/registry.go, ReadCertsDirectory): in
 * <certsDir>/<host[:port]>/ — the registry name exactly as written in the image reference —
 * every `*.crt` is a CA; every `*.cert` needs a `*.key` of the same base name and vice versa,
 * else the pull fails with "missing key …" / "missing client certificate …". Other files are
 * ignored, which is why a `ca.pem` silently does nothing.
 */
export function loadCertsD(certsDir: string, hostPort: string): CertsD {
  const dir = path.join(certsDir, hostPort);
  const out: CertsD = { dir, exists: isDir(dir), ca: [], client: null, problems: [], dockerError: null, files: [] };
  nearMisses(certsDir, hostPort, out);
  // Most registries have no certs.d dir: reading one is a function of its own, compiled only then.
  if (out.exists) readCertsDir(dir, out);
  return out;
}

/** The files of an existing certs.d dir, as Docker's ReadCertsDirectory reads them. */
function readCertsDir(dir: string, out: CertsD): void {
  const files = list(dir);
  out.files = files;
  for (const f of files) {
    const full = path.join(dir, f);
    if (f.endsWith(".crt")) {
      const pem = readFileSync(full, "utf8");
      if (!pem.includes("-----BEGIN CERTIFICATE-----"))
        out.problems.push(`${full} is not a PEM certificate: Docker fails to load it ("unable to parse certificate")`);
      else out.ca.push({ file: full, pem });
    } else if (f.endsWith(".cert")) {
      const keyName = `${f.slice(0, -".cert".length)}.key`;
      if (!files.includes(keyName)) {
        const msg = `missing key ${keyName} for client certificate ${f}. CA certificates must use the extension .crt`;
        out.dockerError ??= msg;
        out.problems.push(`${full}: Docker stops with "${msg}"`);
        continue;
      }
      if (out.client) {
        out.problems.push(
          `${full}: a second client pair; Docker offers all of them, pulldoctor tests with the first (${out.client.certFile})`,
        );
        continue;
      }
      out.client = {
        cert: readFileSync(full, "utf8"),
        key: new Secret(readFileSync(path.join(dir, keyName), "utf8")),
        certFile: full,
        keyFile: path.join(dir, keyName),
      };
    } else if (f.endsWith(".key")) {
      const certName = `${f.slice(0, -".key".length)}.cert`;
      if (!files.includes(certName)) {
        const msg = `missing client certificate ${certName} for key ${f}`;
        out.dockerError ??= msg;
        out.problems.push(`${full}: Docker stops with "${msg}"`);
      }
    } else if (/\.(pem|cer|der|ca-bundle)$/i.test(f)) {
      out.problems.push(
        `${full} is ignored by Docker: only *.crt (CA), *.cert and *.key (client pair) are read; rename a CA to ${f.replace(/\.[^.]+$/, "")}.crt`,
      );
    } else if (f === "hosts.toml") {
      out.problems.push(
        `${full} is read by containerd (and Docker with the containerd image store), not by Docker's classic registry client`,
      );
    }
  }
  if (files.length > 0 && out.ca.length === 0 && !out.client && !out.dockerError)
    out.problems.push(`${dir} exists but holds no *.crt, *.cert or *.key file Docker would use`);
}

/** Dirs a user probably meant for this registry but Docker never reads. */
function nearMisses(certsDir: string, hostPort: string, out: CertsD): void {
  const host = hostPort.replace(/:\d+$/, "");
  const hasPort = host !== hostPort;
  const candidates: [string, string][] = [];
  if (hasPort) {
    candidates.push([path.join(certsDir, host), `the dir has no port; Docker reads ${out.dir} for ${hostPort}`]);
    // Windows-style name without the colon (Docker strips it only on Windows).
    candidates.push([path.join(certsDir, hostPort.replace(":", "")), `Docker on Linux keeps the colon: ${out.dir}`]);
    candidates.push([
      path.join(certsDir, hostPort.replace(":", "_")),
      `Docker reads ${out.dir} (containerd's host_port_ naming is not Docker's)`,
    ]);
  } else {
    for (const d of list(certsDir)) {
      if (d.startsWith(`${host}:`))
        candidates.push([path.join(certsDir, d), `the image reference has no port, so Docker reads ${out.dir}, not ${d}`]);
    }
  }
  const parent = path.dirname(certsDir);
  const base = path.basename(certsDir);
  for (const typo of ["cert.d", "certs", "cert", "certs.d.bak", "certificates.d"]) {
    if (typo === base) continue;
    const d = path.join(parent, typo, hostPort);
    candidates.push([d, `${path.join(parent, typo)} is not read by Docker; it reads ${certsDir}`]);
    if (hasPort) candidates.push([path.join(parent, typo, host), `${path.join(parent, typo)} is not read by Docker; it reads ${out.dir}`]);
  }
  for (const [d, why] of candidates) {
    if (d !== out.dir && existsSync(d) && isDir(d)) out.problems.push(`${d} exists but is ignored: ${why}`);
  }
}
