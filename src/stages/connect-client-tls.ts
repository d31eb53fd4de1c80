import { readFileSync } from "node:fs";
import path from "node:path";
import type { HostTls } from "../model/facts";
import { Secret } from "../model/secret";
import { type CertsD, loadCertsD } from "../net/certs-d";

/**
 * The TLS material the judged client reads for one host (hosts.toml `ca` and `client`, then a
 * certs.d-style dir), in the shape the connect stage already judges with. containerd adds the
 * `ca` files to the system pool and presents the first `client` pair
 * (containerd/containerd:core/remotes/docker/config/hosts.go#ConfigureHosts); a `client` entry
 * given as one path is a PEM holding both the certificate and its key.
 */
export function clientCerts(tls: HostTls): CertsD {
  const base: CertsD = tls.certFiles
    ? loadCertsD(path.dirname(tls.certFiles), path.basename(tls.certFiles))
    : { dir: "", exists: false, ca: [], client: null, problems: [], dockerError: null, files: [] };
  const read = (file: string): string | null => {
    try {
      return readFileSync(file, "utf8");
    } catch (e) {
      base.problems.push(`${file}: ${(e as NodeJS.ErrnoException).code ?? "unreadable"} (the client fails to load it)`);
      return null;
    }
  };
  for (const file of tls.ca) {
    const pem = read(file);
    if (pem !== null) base.ca.push({ file, pem });
  }
  const pair = tls.client[0];
  if (pair && !base.client) {
    const cert = read(pair[0]);
    const key = pair[1] ? read(pair[1]) : cert;
    if (cert !== null && key !== null) base.client = { cert, key: new Secret(key), certFile: pair[0], keyFile: pair[1] || pair[0] };
  }
  return base;
}
