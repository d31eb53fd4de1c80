import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { spawnPeer } from "./process";
import { requireBinary, waitForPort } from "./require";

export interface NginxPeer {
  dir: string;
  /** nginx's stderr/stdout (the error log goes to stderr). */
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A real nginx (Debian's nginx-light) in the foreground with everything in a temp dir.
 * The caller's text goes inside `http { … }`: its own `server { listen 127.0.0.1:PORT; … }`
 * blocks with ports from freePort(). Resolves once every `listen` port accepts.
 */
export async function startNginx(opts: { httpBlock: string }): Promise<NginxPeer> {
  const bin = requireBinary("nginx", "nginx-light");
  const { dir, cleanup } = tempDir("pd-nginx-");
  const tmp = path.join(dir, "tmp");
  mkdirSync(tmp, { recursive: true });
  const user = process.getuid?.() === 0 ? "user root;\n" : "";
  const conf = `${user}daemon off;
master_process on;
worker_processes 1;
pid ${path.join(dir, "nginx.pid")};
error_log stderr warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path ${path.join(tmp, "body")};
  proxy_temp_path ${path.join(tmp, "proxy")};
  fastcgi_temp_path ${path.join(tmp, "fastcgi")};
  uwsgi_temp_path ${path.join(tmp, "uwsgi")};
  scgi_temp_path ${path.join(tmp, "scgi")};
  default_type application/octet-stream;
${opts.httpBlock}
}
`;
  const confPath = path.join(dir, "nginx.conf");
  writeFileSync(confPath, conf);
  // -e: the error log used before the config is read (else /var/log/nginx/error.log).
  const peer = spawnPeer(bin, ["-p", dir, "-e", "stderr", "-c", confPath]);
  const child = peer.child;
  const stop = async () => {
    // SIGTERM = fast shutdown for nginx (SIGQUIT would wait for connections).
    await peer.terminate(3000);
    cleanup();
  };
  const listens = [...opts.httpBlock.matchAll(/^\s*listen\s+([^\s;]+)/gm)].map((m) => m[1]!);
  try {
    const early = new Promise<never>((_, reject) => child.once("exit", (code, sig) => reject(new Error(`nginx exited (${code ?? sig})`))));
    early.catch(() => {});
    // The master writes its pid file only after it has bound every listen socket; waiting for
    // it first avoids mistaking a still-closing freePort() probe socket for nginx.
    const pidFile = path.join(dir, "nginx.pid");
    const deadline = Date.now() + 10_000;
    while (!existsSync(pidFile)) {
      if (Date.now() > deadline) throw new Error("no nginx.pid after 10 s");
      await Promise.race([Bun.sleep(20), early]);
    }
    for (const l of listens) {
      const { host, port } = parseListen(l);
      await Promise.race([waitForPort(port, host, 10_000), early]);
    }
  } catch (e) {
    await stop();
    throw new Error(`nginx did not start: ${(e as Error).message}\n${peer.logs()}\n--- nginx.conf ---\n${conf}`);
  }
  return { dir, logs: peer.logs, stop };
}

function parseListen(l: string): { host: string; port: number } {
  const v6 = l.match(/^\[([^\]]+)\]:(\d+)$/);
  if (v6) return { host: v6[1]!, port: Number(v6[2]) };
  const hp = l.match(/^([^:]+):(\d+)$/);
  if (hp) return { host: hp[1]!, port: Number(hp[2]) };
  return { host: "127.0.0.1", port: Number(l) };
}

/**
 * `n` distinct free ports on 127.0.0.1: all are bound at once before any is released, so
 * two server blocks never get the same port (calling freePort() n times can repeat one, and
 * nginx then silently serves both names from the first block).
 */
export async function freePorts(n: number): Promise<number[]> {
  const net = await import("node:net");
  const servers: import("node:net").Server[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const srv = net.createServer();
      await new Promise<void>((resolve, reject) => {
        srv.once("error", reject);
        srv.listen(0, "127.0.0.1", () => resolve());
      });
      servers.push(srv);
    }
    return servers.map((s) => (s.address() as import("node:net").AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  }
}
