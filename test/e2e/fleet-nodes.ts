import { copyFileSync, existsSync, linkSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { requireBinaryBuilt } from "../helpers/binary";
import { requireBinary } from "../peers/require";

/**
 * What makes one simulated node: its host name, resolver, hosts file, and the files its clients
 * read (absolute paths on the node, e.g. /etc/containerd/config.toml, /etc/docker/daemon.json,
 * /etc/systemd/system/containerd.service.d/proxy.conf, /var/lib/kubelet/config.json).
 */
export interface SimNode {
  name: string;
  resolvConf: string;
  hosts: string;
  files?: Record<string, string>;
}

export interface SimRun {
  node: string;
  code: number;
  stdout: string;
  stderr: string;
}

/** The parts of a Job's pod `fleet manifest` writes that say what runs and what it sees. */
export interface JobPod {
  args: string[];
  env: Record<string, string>;
  /** Each volume mount: its path in the container, and its source (a hostPath's type, or a Secret's or ConfigMap's data). */
  mounts: { path: string; hostPathType: string | null; data: Record<string, string> | null }[];
}

/**
 * Where a mount path is made on this machine: a path whose parent does not exist here (e.g.
 * /var/lib/kubelet/config.json) is made inside a node-owned copy of an ancestor that does, bound
 * over it, which hides the machine's own content there (its /run/containerd too, which a fleet
 * pod does not see either). Only these ancestors are ever covered.
 */
const COVER = ["/etc/containerd", "/etc/docker", "/etc/containers", "/etc/systemd/system", "/var/lib", "/run", "/tmp"];
const FILE_BINDS = new Set(["/etc/hosts", "/etc/resolv.conf"]);

/**
 * Runs a Job's container as on its node: a UTS namespace (`unshare -u`, its own host name, which
 * the report's host.hostname then says) and a private mount namespace (`unshare -m`) where every
 * volume the Job mounts is the node's own: its files where it has them, else what the CRI makes
 * of a missing hostPath (an empty directory; an empty file for FileOrCreate). The arguments and
 * environment are the Job's, exactly. Nothing outside the child sees any of it.
 */
export async function runJobOnNode(node: SimNode, pod: JobPod, root: string): Promise<SimRun> {
  const bin = requireBinaryBuilt();
  const unshare = requireBinary("unshare", "util-linux");
  requireBinary("hostname", "hostname");
  const dir = path.join(root, node.name);
  const fs = path.join(dir, "root");
  const put = (p: string, text: string) => {
    mkdirSync(path.dirname(path.join(fs, p)), { recursive: true });
    writeFileSync(path.join(fs, p), text);
  };
  const covered = new Set<string>();
  const binds: string[] = [];
  for (const m of pod.mounts) {
    if (FILE_BINDS.has(m.path)) continue;
    // /var/run is a link to /run here, as on the nodes.
    const at = m.path.replace(/^\/var\/run\//, "/run/");
    const cover = COVER.find((c) => at === c || at.startsWith(`${c}/`));
    if (!cover) {
      // e.g. /etc/crio: this machine has none, so the namespace has none: what an empty hostPath means.
      if (existsSync(m.path)) throw new Error(`fleet-nodes: ${m.path} exists on this machine and cannot be covered`);
      continue;
    }
    covered.add(cover);
    if (m.data) for (const [k, v] of Object.entries(m.data)) put(path.join(at, k), v);
    else if (m.hostPathType === "FileOrCreate") put(at, node.files?.[m.path] ?? "");
    else mkdirSync(path.join(fs, at), { recursive: true });
  }
  for (const [p, text] of Object.entries(node.files ?? {})) {
    if (![...covered].some((c) => p.startsWith(`${c}/`))) throw new Error(`fleet-nodes: the Job mounts nothing that holds ${p}`);
    put(p, text);
  }
  // The node's files live under /tmp: /tmp (the pod's emptyDir) is covered last, after every source under it is bound.
  for (const c of [...covered].sort((a, b) => Number(a === "/tmp") - Number(b === "/tmp"))) {
    mkdirSync(path.join(fs, c), { recursive: true });
    binds.push(`mount --bind '${path.join(fs, c)}' '${c}'`);
  }
  // A checkout under a covered directory (a CI clone may sit in /tmp) is hidden once the node's
  // own is bound: the binary then runs from the node's /tmp, as the image's /pulldoctor runs from the image.
  let run = bin;
  if ([...covered].some((c) => bin.startsWith(`${c}/`))) {
    if (!covered.has("/tmp")) throw new Error(`fleet-nodes: ${bin} is hidden by the node's mounts and the Job has no /tmp to run it from`);
    const own = path.join(fs, "tmp", "pulldoctor");
    mkdirSync(path.dirname(own), { recursive: true });
    try {
      linkSync(bin, own);
    } catch {
      copyFileSync(bin, own);
    }
    run = "/tmp/pulldoctor";
  }
  const files = { hosts: path.join(dir, "hosts"), resolv: path.join(dir, "resolv.conf"), nss: path.join(dir, "nsswitch.conf") };
  writeFileSync(files.hosts, node.hosts);
  writeFileSync(files.resolv, node.resolvConf);
  writeFileSync(files.nss, "hosts: files dns\n");
  mkdirSync(path.join(dir, "home"), { recursive: true });
  const script = [
    `hostname '${node.name}'`,
    `mount --bind '${files.hosts}' /etc/hosts`,
    `mount --bind '${files.resolv}' /etc/resolv.conf`,
    `mount --bind '${files.nss}' /etc/nsswitch.conf`,
    ...binds,
    'exec "$@"',
  ].join(" && ");
  const proc = Bun.spawn([unshare, "-u", "-m", "--propagation", "private", "sh", "-c", script, "sh", run, ...pod.args], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: path.join(dir, "home"), ...pod.env },
    cwd: "/",
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 30_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { node: node.name, code, stdout, stderr };
}

/**
 * A Job of `fleet manifest` (parsed YAML) → what its check container runs and mounts. `secrets`:
 * the Secrets' data as the user created them; ConfigMaps come from the manifest's own objects.
 */
export function jobPod(job: any, secrets: Record<string, Record<string, string>>, objects: any[]): JobPod {
  const spec = job.spec.template.spec;
  const c = spec.containers[0];
  const volumes = new Map<string, any>(spec.volumes.map((v: any) => [v.name, v]));
  return {
    args: c.args,
    env: Object.fromEntries(c.env.map((e: any) => [e.name, e.value])),
    mounts: c.volumeMounts.map((m: any) => {
      const v = volumes.get(m.name);
      const data = v.secret
        ? secrets[v.secret.secretName]
        : v.configMap
          ? objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === v.configMap.name)?.data
          : null;
      if ((v.secret || v.configMap) && !data) throw new Error(`no data for volume ${v.name}`);
      return { path: m.mountPath, hostPathType: v.hostPath ? v.hostPath.type : null, data: data ?? null };
    }),
  };
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
