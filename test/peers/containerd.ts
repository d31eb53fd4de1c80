import { writeFileSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { spawnPeer } from "./process";
import { requireBinary } from "./require";

export interface ContainerdPeer {
  socket: string;
  /** Run ctr against this daemon; resolves with its exit code and output. */
  ctr(args: string[]): Promise<{ code: number; out: string }>;
  logs(): string;
  stop(): Promise<void>;
}

/**
 * A real containerd (Debian's package) with its own socket, root and state under a temp dir,
 * the CRI plugin off. Never the host's /run/containerd.
 */
export async function startContainerd(): Promise<ContainerdPeer> {
  const bin = requireBinary("containerd", "containerd");
  const ctrBin = requireBinary("ctr", "containerd");
  const { dir, cleanup } = tempDir("pd-containerd-");
  const socket = path.join(dir, "c.sock");
  const config = path.join(dir, "config.toml");
  writeFileSync(
    config,
    [
      "version = 2",
      `root = "${dir}/root"`,
      `state = "${dir}/state"`,
      'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
      "[grpc]",
      `  address = "${socket}"`,
      "[ttrpc]",
      `  address = "${socket}.ttrpc"`,
      "",
    ].join("\n"),
  );
  const proc = spawnPeer(bin, ["--config", config]);
  const ctr = async (args: string[]) => {
    const p = Bun.spawn([ctrBin, "--address", socket, ...args], { stdout: "pipe", stderr: "pipe" });
    const [o, e, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    return { code, out: o + e };
  };
  const deadline = Date.now() + 15_000;
  while ((await ctr(["version"])).code !== 0) {
    if (Date.now() > deadline) {
      await proc.terminate(2000);
      cleanup();
      throw new Error(`containerd did not start on ${socket}:\n${proc.logs()}`);
    }
    await Bun.sleep(200);
  }
  return {
    socket,
    ctr,
    logs: proc.logs,
    stop: async () => {
      await proc.terminate(5000);
      cleanup();
    },
  };
}
