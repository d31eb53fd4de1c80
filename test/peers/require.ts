import { existsSync } from "node:fs";
import net from "node:net";

const SEARCH = ["/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin", "/sbin", "/bin"];

/**
 * The path of a peer's executable, or a loud failure that says how to install it.
 * Tests never skip silently when a peer is missing.
 */
export function requireBinary(name: string, debianPackage: string): string {
  for (const dir of [...(process.env.PATH ?? "").split(":"), ...SEARCH]) {
    if (!dir) continue;
    const p = `${dir}/${name}`;
    if (existsSync(p)) return p;
  }
  throw new Error(
    `test peer '${name}' is missing: install it with 'apt-get install -y ${debianPackage}' (or run 'bash scripts/install-peers', which 'npm test' does)`,
  );
}

/** A free TCP port on 127.0.0.1 (bind to 0, read it, close). */
export async function freePort(): Promise<number> {
  return await new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on("error", reject);
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address();
      const port = typeof addr === "object" && addr ? addr.port : 0;
      srv.close(() => resolve(port));
    });
  });
}

/** Wait until something accepts TCP connections on host:port. */
export async function waitForPort(port: number, host = "127.0.0.1", timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ port, host });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    await Bun.sleep(50);
  }
  throw new Error(`nothing listens on ${host}:${port} after ${timeoutMs} ms`);
}
