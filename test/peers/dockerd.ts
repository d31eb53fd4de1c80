import { existsSync, readFileSync, rmSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { spawnPeer } from "./process";
import { requireBinary } from "./require";

export interface DockerdPeer {
  /** unix:///tmp/…/docker.sock, as DOCKER_HOST. */
  host: string;
  socket: string;
  dir: string;
  /** `docker -H <host> ARGS…` through the real CLI. */
  docker(args: string[]): { code: number; stdout: string; stderr: string };
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A real Docker Engine (Debian's docker.io) in a temp dir: vfs storage (works on any
 * filesystem, no overlay mount needed), no iptables, no bridge, its own socket, data-root
 * and exec-root. With no --containerd and no /run/containerd/containerd.sock, dockerd 20.10
 * starts and later stops its own managed containerd under the exec-root. Needs root.
 */
export async function startDockerd(): Promise<DockerdPeer> {
  const dockerd = requireBinary("dockerd", "docker.io");
  const dockerCli = requireBinary("docker", "docker.io");
  requireBinary("containerd", "containerd");
  if (process.getuid?.() !== 0) throw new Error("the dockerd test peer needs root (dockerd manages mounts and namespaces)");
  // A short path: unix socket paths are limited to 108 bytes.
  const { dir, cleanup } = tempDir("pd-dkr-");
  const socket = path.join(dir, "d.sock");
  const pidfile = path.join(dir, "d.pid");
  const peer = spawnPeer(dockerd, [
    "--storage-driver=vfs",
    "--iptables=false",
    "--ip-masq=false",
    "--bridge=none",
    "--host",
    `unix://${socket}`,
    "--data-root",
    path.join(dir, "data"),
    "--exec-root",
    path.join(dir, "exec"),
    "--pidfile",
    pidfile,
    "--log-level",
    "warn",
  ]);
  const child = peer.child;
  const stop = async () => {
    await peer.terminate(15_000);
    // The managed containerd writes its pid here; make sure it is gone too.
    const ctrPid = path.join(dir, "exec", "containerd", "containerd.pid");
    if (existsSync(ctrPid)) {
      const pid = Number(readFileSync(ctrPid, "utf8").trim());
      if (pid > 0) {
        try {
          process.kill(pid, 0);
          process.kill(pid, "SIGTERM");
        } catch {}
      }
    }
    // A container run with --network host leaves dockerd's default netns bind-mounted under
    // the exec-root (exec/netns/default) after dockerd exits: unmount what is left under our dir.
    for (const line of readFileSync("/proc/mounts", "utf8").split("\n").reverse()) {
      const target = line.split(" ")[1];
      if (target?.startsWith(`${dir}/`)) Bun.spawnSync(["umount", "-l", target]);
    }
    try {
      cleanup();
    } catch {
      rmSync(dir, { recursive: true, force: true });
    }
  };
  const deadline = Date.now() + 30_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) break;
    if (existsSync(socket) && (await ping(socket))) break;
    await Bun.sleep(100);
  }
  if (!existsSync(socket) || !(await ping(socket))) {
    await stop();
    throw new Error(`dockerd did not start:\n${peer.logs()}`);
  }
  const host = `unix://${socket}`;
  return {
    host,
    socket,
    dir,
    docker(args) {
      const p = Bun.spawnSync([dockerCli, "-H", host, ...args], {
        stdout: "pipe",
        stderr: "pipe",
        env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: dir },
      });
      return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
    },
    logs: peer.logs,
    stop,
  };
}

function ping(socket: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = http.get({ socketPath: socket, path: "/_ping", timeout: 1000 }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on("error", () => resolve(false));
    req.on("timeout", () => {
      req.destroy();
      resolve(false);
    });
  });
}
