import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { requireBinaryBuilt } from "../helpers/binary";
import { requireBinary } from "../peers/require";

/** What makes one simulated node: its host name and the files its clients read. */
export interface SimNode {
  name: string;
  resolvConf: string;
  hosts: string;
  /** /etc/docker/daemon.json of this node (passed as --daemon-config). */
  daemonJson: object;
}

export interface SimRun {
  node: string;
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `pulldoctor ARGS` as on a node: a UTS namespace (`unshare -u`, its own host name, which
 * the report's host.hostname then says) and a private mount namespace (`unshare -m`) where the
 * node's resolv.conf, hosts and nsswitch.conf are bind-mounted over the machine's. Nothing
 * outside the child sees either. The environment is the fleet pod's (PULLDOCTOR_JSON_LINES).
 */
export async function runOnNode(node: SimNode, args: string[], root: string): Promise<SimRun> {
  const bin = requireBinaryBuilt();
  const unshare = requireBinary("unshare", "util-linux");
  requireBinary("hostname", "hostname");
  const dir = path.join(root, node.name);
  mkdirSync(path.join(dir, "home"), { recursive: true });
  const files = { hosts: path.join(dir, "hosts"), resolv: path.join(dir, "resolv.conf"), nss: path.join(dir, "nsswitch.conf") };
  writeFileSync(files.hosts, node.hosts);
  writeFileSync(files.resolv, node.resolvConf);
  writeFileSync(files.nss, "hosts: files dns\n");
  const daemon = path.join(dir, "daemon.json");
  writeFileSync(daemon, JSON.stringify(node.daemonJson));
  // Our temp paths have no quotes or spaces; "$@" carries the arguments.
  const script =
    `hostname '${node.name}' && mount --bind '${files.hosts}' /etc/hosts && mount --bind '${files.resolv}' /etc/resolv.conf` +
    ` && mount --bind '${files.nss}' /etc/nsswitch.conf && exec "$@"`;
  const argv = [...args, "--daemon-config", daemon, "--certs-dir", path.join(dir, "certs.d")];
  const proc = Bun.spawn([unshare, "-u", "-m", "--propagation", "private", "sh", "-c", script, "sh", bin, ...argv], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: path.join(dir, "home"), NO_COLOR: "1", PULLDOCTOR_JSON_LINES: "1" },
    cwd: dir,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { node: node.name, code, stdout, stderr };
}

/** Headless Chromium (Debian's) with its own profile dir; no network, no first-run. */
export function chromium(args: string[], profile: string): { code: number; stdout: string; stderr: string } {
  const bin = requireBinary("chromium", "chromium");
  const p = Bun.spawnSync(
    [
      bin,
      "--headless",
      "--no-sandbox",
      "--disable-gpu",
      "--disable-background-networking",
      "--no-first-run",
      `--user-data-dir=${profile}`,
      ...args,
    ],
    { stdout: "pipe", stderr: "pipe", env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: profile } },
  );
  return { code: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}
