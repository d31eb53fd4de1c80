import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { spawnPeer } from "../peers/process";
import { requireBinary } from "../peers/require";
import { tempDir } from "./context";
import { bindEtcScript, type NsFiles } from "./run-in-ns";

/**
 * A network namespace of the test's own, for what loopback cannot show: Docker treats every
 * 127.0.0.0/8 registry as insecure, so its TLS problems are only warnings there. Inside,
 * a veth pair carries two addresses of 10.213.0.0/16 that exist nowhere else; the registry
 * and the binary both run inside, and nothing outside the namespace is ever addressed.
 */
export interface Netns {
  name: string;
  /** The address a server inside listens on (the veth peer's). */
  address: string;
  /** argv prefix: run a command inside the namespace. */
  exec: string[];
  /**
   * argv prefix: run a command inside the namespace with /etc/hosts, resolv.conf and
   * nsswitch.conf bind-mounted from `dir` (a private mount namespace, as runInNs does).
   */
  withFiles(dir: string, files: NsFiles): string[];
  /** Deletes the namespace (its interfaces go with it). Safe to call twice. */
  remove(): void;
}

export function createNetns(): Netns {
  const ip = requireBinary("ip", "iproute2");
  const unshare = requireBinary("unshare", "util-linux");
  const name = `pd-test-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
  const run = (...args: string[]) => {
    const r = spawnSync(ip, args, { encoding: "utf8" });
    if (r.status !== 0) throw new Error(`ip ${args.join(" ")} failed (root and CAP_NET_ADMIN are needed): ${r.stderr}`);
  };
  run("netns", "add", name);
  let removed = false;
  const remove = () => {
    if (removed) return;
    removed = true;
    spawnSync(ip, ["netns", "del", name]);
  };
  try {
    run("-n", name, "link", "set", "lo", "up");
    run("-n", name, "link", "add", "pd0", "type", "veth", "peer", "name", "pd1");
    run("-n", name, "addr", "add", "10.213.0.1/30", "dev", "pd0");
    run("-n", name, "addr", "add", "10.213.0.2/30", "dev", "pd1");
    run("-n", name, "link", "set", "pd0", "up");
    run("-n", name, "link", "set", "pd1", "up");
  } catch (e) {
    remove();
    throw e;
  }
  const exec = [ip, "netns", "exec", name];
  return {
    name,
    address: "10.213.0.2",
    exec,
    withFiles: (dir, files) => [...exec, unshare, "-m", "--propagation", "private", "sh", "-c", bindEtcScript(dir, files), "sh"],
    remove,
  };
}

/** Polls a TCP connect from inside the namespace until something listens. */
export async function waitInNetns(ns: Netns, address: string, port: number, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const p = Bun.spawn([...ns.exec, "bash", "-c", `exec 3<>/dev/tcp/${address}/${port}`], { stdout: "ignore", stderr: "ignore" });
    if ((await p.exited) === 0) return;
    await Bun.sleep(100);
  }
  throw new Error(`nothing listens on ${address}:${port} in ${ns.name} after ${timeoutMs} ms`);
}

/** A docker-registry with TLS inside the namespace, listening on its address. */
export async function startTlsRegistryInNetns(
  ns: Netns,
  port: number,
  tls: { certificate: string; key: string },
): Promise<{ logs(): string; stop(): Promise<void> }> {
  const bin = requireBinary("docker-registry", "docker-registry");
  const { dir, cleanup } = tempDir("pd-netns-registry-");
  const storage = path.join(dir, "storage");
  mkdirSync(storage);
  const config = {
    version: 0.1,
    log: { level: "warn", accesslog: { disabled: true } },
    storage: { filesystem: { rootdirectory: storage } },
    http: { addr: `${ns.address}:${port}`, tls },
  };
  const cfg = path.join(dir, "config.yml");
  writeFileSync(cfg, JSON.stringify(config));
  // `ip netns exec` execs the registry, so the peer's pid is the registry's.
  const peer = spawnPeer(ns.exec[0]!, [...ns.exec.slice(1), bin, "serve", cfg]);
  const stop = async () => {
    await peer.terminate(3000);
    cleanup();
  };
  try {
    await waitInNetns(ns, ns.address, port);
  } catch (e) {
    await stop();
    throw new Error(`${(e as Error).message}\n${peer.logs()}`);
  }
  return { logs: peer.logs, stop };
}
