import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { spawnPeer } from "./process";
import { freePort, requireBinary, waitForPort } from "./require";

export interface RegistryOptions {
  /** htpasswd users (bcrypt-hashed here) ⇒ Basic auth. */
  htpasswd?: Record<string, string>;
  /** Token auth: realm URL, service, issuer, and the PEM bundle of the signing cert. */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string };
  /** TLS: PEM paths of the server certificate and key. */
  tls?: { certificate: string; key: string; clientCAs?: string[] };
  /** Pull-through cache of another registry. */
  proxy?: { remoteurl: string; username?: string; password?: string };
  /** Extra top-level config keys merged in. */
  extra?: Record<string, unknown>;
}

export interface RegistryPeer {
  port: number;
  /** host:port */
  host: string;
  url: string;
  dir: string;
  /** The registry's process id (the benchmark reads its CPU time from /proc). */
  pid: number | undefined;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A real CNCF distribution registry (Debian's docker-registry) on 127.0.0.1:<free port>,
 * with its storage in a temp dir. Its config is written as JSON, which its YAML parser reads.
 */
export async function startRegistry(opts: RegistryOptions = {}): Promise<RegistryPeer> {
  const bin = requireBinary("docker-registry", "docker-registry");
  const { dir, cleanup } = tempDir("pd-registry-");
  const port = await freePort();
  const storage = path.join(dir, "storage");
  mkdirSync(storage, { recursive: true });
  const config: Record<string, unknown> = {
    version: 0.1,
    log: { level: "warn", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storage }, delete: { enabled: true }, cache: { blobdescriptor: "inmemory" } },
    http: {
      addr: `127.0.0.1:${port}`,
      headers: { "X-Content-Type-Options": ["nosniff"] },
      ...(opts.tls
        ? {
            tls: { certificate: opts.tls.certificate, key: opts.tls.key, ...(opts.tls.clientCAs ? { clientcas: opts.tls.clientCAs } : {}) },
          }
        : {}),
    },
    ...(opts.extra ?? {}),
  };
  if (opts.htpasswd) {
    const lines: string[] = [];
    for (const [user, pw] of Object.entries(opts.htpasswd)) {
      const hash = await Bun.password.hash(pw, { algorithm: "bcrypt", cost: 4 });
      lines.push(`${user}:${hash.replace(/^\$2b\$/, "$2y$")}`);
    }
    const htpath = path.join(dir, "htpasswd");
    writeFileSync(htpath, `${lines.join("\n")}\n`);
    config.auth = { htpasswd: { realm: "pulldoctor-test", path: htpath } };
  }
  if (opts.token) {
    config.auth = {
      token: { realm: opts.token.realm, service: opts.token.service, issuer: opts.token.issuer, rootcertbundle: opts.token.rootCertBundle },
    };
  }
  if (opts.proxy) config.proxy = opts.proxy;
  const cfgPath = path.join(dir, "config.yml");
  writeFileSync(cfgPath, JSON.stringify(config, null, 1));
  const peer = spawnPeer(bin, ["serve", cfgPath]);
  try {
    await waitForPort(port);
  } catch (e) {
    peer.child.kill("SIGKILL");
    cleanup();
    throw new Error(`docker-registry did not start: ${(e as Error).message}\n${peer.logs()}`);
  }
  const scheme = opts.tls ? "https" : "http";
  return {
    port,
    host: `127.0.0.1:${port}`,
    url: `${scheme}://127.0.0.1:${port}`,
    dir,
    pid: peer.child.pid,
    logs: peer.logs,
    stop: async () => {
      await peer.terminate(3000);
      cleanup();
    },
  };
}
