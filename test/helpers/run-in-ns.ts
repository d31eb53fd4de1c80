import { writeFileSync } from "node:fs";
import path from "node:path";
import { requireBinary } from "../peers/require";
import { pinClient, type RunOutput, requireBinaryBuilt } from "./binary";

/**
 * The compiled binary reads the machine's /etc/hosts, /etc/resolv.conf and (through
 * getaddrinfo, its "system resolver") /etc/nsswitch.conf. A test must never let it ask
 * this machine's real nameserver, so every e2e run of the network stages goes through
 * here: a private mount namespace (`unshare -m`) where those files are bind-mounted from
 * the test's temp dir. Nothing outside the child process sees the change.
 *
 * The default resolv.conf names a loopback address where nothing listens: a query there is
 * refused at once (ECONNREFUSED), never sent anywhere else.
 */
export const DEAD_NAMESERVER = "127.77.88.99";

export interface NsFiles {
  /** /etc/hosts content (default: localhost only). */
  hosts?: string;
  /** /etc/resolv.conf content (default: a dead loopback nameserver). */
  resolvConf?: string;
  /** /etc/nsswitch.conf content (default: "hosts: files dns", Debian's). */
  nsswitch?: string;
  /**
   * /etc/ssl/certs/ca-certificates.crt content (default: the machine's own): the system trust
   * store that Go, and so dockerd, containerd and podman, reads first.
   */
  caBundle?: string;
}

export interface NsRun extends RunOutput {
  /** The parsed JSON report when --json was given and stdout parsed. */
  report: any;
}

/**
 * A `sh -c` script that bind-mounts /etc/hosts, /etc/resolv.conf and /etc/nsswitch.conf
 * from files written into `dir`, then execs "$@". Run it in a private mount namespace.
 */
export function bindEtcScript(dir: string, f: NsFiles): string {
  const hosts = path.join(dir, "ns-hosts");
  const resolv = path.join(dir, "ns-resolv.conf");
  const nss = path.join(dir, "ns-nsswitch.conf");
  writeFileSync(hosts, f.hosts ?? "127.0.0.1 localhost\n::1 localhost ip6-localhost\n");
  writeFileSync(resolv, f.resolvConf ?? `nameserver ${DEAD_NAMESERVER}\noptions attempts:1 timeout:1\n`);
  writeFileSync(nss, f.nsswitch ?? "hosts: files dns\n");
  const mounts = [
    `mount --bind '${hosts}' /etc/hosts`,
    `mount --bind '${resolv}' /etc/resolv.conf`,
    `mount --bind '${nss}' /etc/nsswitch.conf`,
  ];
  if (f.caBundle !== undefined) {
    const bundle = path.join(dir, "ns-ca-certificates.crt");
    writeFileSync(bundle, f.caBundle);
    mounts.push(`mount --bind '${bundle}' /etc/ssl/certs/ca-certificates.crt`);
  }
  // The paths are ours (temp dirs without spaces or quotes); "$@" carries the arguments.
  return `${mounts.join(" && ")} && exec "$@"`;
}

/**
 * Run `dist/pulldoctor ARGS` in a private mount namespace, with the hermetic environment of
 * runCli() (temp HOME, NO_COLOR, only the env given). `dir` holds the bind-mounted files.
 */
export async function runInNs(
  args: string[],
  opts: { home: string; dir: string; files?: NsFiles; env?: Record<string, string>; timeoutMs?: number },
): Promise<NsRun> {
  const { code, stdout, stderr } = await execInNs([requireBinaryBuilt(), ...pinClient(args)], opts);
  let report: any = null;
  if (args.includes("--json")) {
    try {
      report = JSON.parse(stdout);
    } catch {
      throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\n--- stderr ---\n${stderr}`);
    }
  }
  return { code, stdout, stderr, report };
}

/**
 * Run any command (a peer client such as skopeo, or the binary) in such a namespace, with only
 * the environment given: PATH, HOME, NO_COLOR and `env` (no SSL_CERT_FILE from the machine).
 */
export async function execInNs(
  argv: string[],
  opts: { home: string; dir: string; files?: NsFiles; env?: Record<string, string>; timeoutMs?: number },
): Promise<RunOutput> {
  const unshare = requireBinary("unshare", "util-linux");
  const script = bindEtcScript(opts.dir, opts.files ?? {});
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: opts.home, NO_COLOR: "1", ...opts.env };
  const proc = Bun.spawn([unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh", ...argv], {
    env,
    cwd: opts.home,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
