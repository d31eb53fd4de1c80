import { writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { spawnPeer } from "./process";
import { freePort, requireBinary, waitForPort } from "./require";

export interface TinyproxyOptions {
  /** `BasicAuth user pass`: CONNECT without credentials gets 407. */
  basicAuth?: { user: string; password: string };
  /**
   * `ConnectPort` lines: only these ports may be CONNECTed to (others get 403).
   * Omitted = tinyproxy's default with no ConnectPort line: every port allowed.
   */
  connectPorts?: number[];
}

export interface TinyproxyPeer {
  port: number;
  url: string;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A real tinyproxy on 127.0.0.1:<free port>, foreground (-d), config in a temp dir.
 * Run as root, tinyproxy refuses to keep root and switches to `User`/`Group`: nobody/nogroup
 * exist on Debian, and the process needs no file of ours after start (logs go to stderr).
 */
export async function startTinyproxy(opts: TinyproxyOptions = {}): Promise<TinyproxyPeer> {
  const bin = requireBinary("tinyproxy", "tinyproxy");
  const { dir, cleanup } = tempDir("pd-tinyproxy-");
  const port = await freePort();
  const lines = [
    "User nobody",
    "Group nogroup",
    `Port ${port}`,
    "Listen 127.0.0.1",
    "Timeout 30",
    "MaxClients 20",
    "LogLevel Info",
    "Allow 127.0.0.1",
    "DisableViaHeader Yes",
  ];
  if (opts.basicAuth) lines.push(`BasicAuth ${opts.basicAuth.user} ${opts.basicAuth.password}`);
  for (const p of opts.connectPorts ?? []) lines.push(`ConnectPort ${p}`);
  const conf = path.join(dir, "tinyproxy.conf");
  writeFileSync(conf, `${lines.join("\n")}\n`);
  const peer = spawnPeer(bin, ["-d", "-c", conf]);
  try {
    await waitForPort(port, "127.0.0.1", 5000);
  } catch (e) {
    peer.child.kill("SIGKILL");
    cleanup();
    throw new Error(`tinyproxy did not start: ${(e as Error).message}\n${peer.logs()}`);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    logs: peer.logs,
    stop: async () => {
      await peer.terminate(3000);
      cleanup();
    },
  };
}
