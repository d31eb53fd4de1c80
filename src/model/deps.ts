import os from "node:os";
import type { Platform } from "./facts";

/**
 * Everything a stage would otherwise read from globals. Tests pass their own
 * (a temp HOME, a resolv.conf of their own, a frozen clock).
 */
export interface Deps {
  env: Readonly<Record<string, string | undefined>>;
  now(): Date;
  homeDir: string;
  /** Files Docker's resolver and daemon read; overridable for tests. */
  paths: {
    resolvConf: string;
    hosts: string;
    /** systemd drop-in dirs searched for http-proxy.conf (docker.service.d). */
    systemdDropIns: string[];
    /** Default Engine socket when DOCKER_HOST is unset. */
    dockerSocket: string;
    /** What `--client auto` looks at and the clients' default files; absent (tests) = nothing is there. */
    clients?: ClientPaths;
  };
  hostPlatform: Platform;
  /** Cancels every network step when the user presses Ctrl-C. */
  signal: AbortSignal;
  /**
   * The system resolver (getaddrinfo via node:dns lookup), compared with the direct DNS
   * queries. Tests replace it so they never ask the machine's own nameserver.
   */
  systemLookup?: (hostname: string) => Promise<{ address: string; family: 4 | 6 }[]>;
}

/** The other clients' sockets and default files (SPEC "Clients"). */
export interface ClientPaths {
  containerdSocket: string;
  containerdConfig: string;
  /** ctr/nerdctl's default hosts dir. */
  containerdCertsD: string;
  /** kubelet --root-dir (its config.json lives there). */
  kubeletDir: string;
  crioSocket: string;
  crioConfig: string;
  /** /etc/containers: registries.conf(.d), policy.json, registries.d, certs.d. */
  containersDir: string;
  /** systemd drop-in dirs of containerd.service and crio.service (their Environment= proxies). */
  containerdDropIns?: string[];
  crioDropIns?: string[];
  /** The unit files themselves, earliest first (the first that exists is systemd's). */
  containerdUnits?: string[];
  crioUnits?: string[];
}

export const DEFAULT_CLIENT_PATHS: ClientPaths = {
  containerdSocket: "/run/containerd/containerd.sock",
  containerdConfig: "/etc/containerd/config.toml",
  containerdCertsD: "/etc/containerd/certs.d",
  kubeletDir: "/var/lib/kubelet",
  crioSocket: "/var/run/crio/crio.sock",
  crioConfig: "/etc/crio/crio.conf",
  containersDir: "/etc/containers",
  containerdDropIns: [
    "/etc/systemd/system/containerd.service.d",
    "/run/systemd/system/containerd.service.d",
    "/usr/lib/systemd/system/containerd.service.d",
  ],
  crioDropIns: ["/etc/systemd/system/crio.service.d", "/run/systemd/system/crio.service.d", "/usr/lib/systemd/system/crio.service.d"],
  containerdUnits: [
    "/etc/systemd/system/containerd.service",
    "/lib/systemd/system/containerd.service",
    "/usr/lib/systemd/system/containerd.service",
  ],
  crioUnits: ["/etc/systemd/system/crio.service", "/lib/systemd/system/crio.service", "/usr/lib/systemd/system/crio.service"],
};

const GOARCH: Record<string, string> = {
  x64: "amd64",
  arm64: "arm64",
  arm: "arm",
  ia32: "386",
  ppc64: "ppc64le",
  s390x: "s390x",
  riscv64: "riscv64",
};

export function hostPlatform(): Platform {
  const arch = GOARCH[process.arch] ?? process.arch;
  const p: Platform = { os: process.platform === "win32" ? "windows" : process.platform, architecture: arch };
  if (arch === "arm") p.variant = "v7";
  return p;
}

export function realDeps(signal: AbortSignal = new AbortController().signal): Deps {
  return {
    env: { ...process.env },
    now: () => new Date(),
    homeDir: os.homedir(),
    paths: {
      resolvConf: "/etc/resolv.conf",
      hosts: "/etc/hosts",
      systemdDropIns: [
        "/etc/systemd/system/docker.service.d",
        "/run/systemd/system/docker.service.d",
        "/usr/lib/systemd/system/docker.service.d",
      ],
      dockerSocket: "/var/run/docker.sock",
      clients: DEFAULT_CLIENT_PATHS,
    },
    hostPlatform: hostPlatform(),
    signal,
  };
}
