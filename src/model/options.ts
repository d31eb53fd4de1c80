import type { Secret } from "./secret";

/** --client: whose pull is judged (SPEC "Clients"). */
export const CLIENT_CHOICES = ["auto", "docker", "containerd", "kubelet", "podman", "all"] as const;
export type ClientChoice = (typeof CLIENT_CHOICES)[number];

export type Command = "interactive" | "check" | "pull" | "ref" | "explain" | "demo" | "egress" | "version" | "help";

/** Everything the command line said, parsed and checked (cli/args.ts). */
export interface Options {
  command: Command;
  image: string | null;
  /** explain CODE */
  code: string | null;
  /** explain --error TEXT ("-": read standard input). */
  errorText: string | null;
  json: boolean;
  reportFile: string | null;
  platform: string | null;
  username: string | null;
  password: Secret | null;
  /** --docker-config: a dir, a config.json or a .dockerconfigjson file; null = $DOCKER_CONFIG or ~/.docker */
  dockerConfig: string | null;
  daemonConfig: string;
  certsDir: string;
  dns: string[];
  insecureRegistries: string[];
  mirrors: string[];
  timeoutMs: number;
  output: string | null;
  concurrency: number | null;
  verbose: boolean;
  color: boolean;
  yes: boolean;
  /** demo --tour */
  tour: boolean;
  /** demo --port */
  port: number | null;
  /** demo --faults: list the named faults (each served at fault/<name>) */
  faults?: boolean;
  /** --client (default auto: detected from this host, see src/clients/detect.ts). */
  client: ClientChoice;
  /** --docker-store: null = the live Engine's /info says, else containerd (Docker 29's default). */
  dockerStore: "classic" | "containerd" | null;
  /** --containerd-config: null = /etc/containerd/config.toml. */
  containerdConfig: string | null;
  /** --hosts-dir (repeatable): hosts.toml roots; empty = from config_path, else the client's default. */
  hostsDirs: string[];
  /** --pull-secret (repeatable, in the pod's order): kubelet only. */
  pullSecrets: string[];
  /** --registries-conf: null = /etc/containers/registries.conf plus registries.conf.d/. */
  registriesConf: string | null;
  /** --plain-http: ctr's flag, plain HTTP for every host except docker.io (containerd only). */
  plainHttp?: boolean;
  /** egress IMAGE...: every image named on the command line (`image` is the first). */
  images?: string[];
  /** -f/--file: images from compose, Kubernetes or kubectl files (`-` is standard input). */
  files?: string[];
  /** --all: kubectl output gives every container, not only those waiting on a pull. */
  all?: boolean;
  /** pull --all-tags/-a: every tag of the repository (tags/list), as `docker pull --all-tags`. */
  allTags?: boolean;
  /** pull --quiet/-q: only the pulled references with their digests. */
  quiet?: boolean;
  /** pull --limit-rate: the whole pull's download cap, bytes per second. */
  limitRate?: number | null;
  /** egress --format */
  format?: "plain" | "json" | "csv";
}

export function defaultOptions(over: Partial<Options> = {}): Options {
  return {
    command: "check",
    image: null,
    code: null,
    errorText: null,
    json: false,
    reportFile: null,
    platform: null,
    username: null,
    password: null,
    dockerConfig: null,
    daemonConfig: "/etc/docker/daemon.json",
    certsDir: "/etc/docker/certs.d",
    dns: [],
    insecureRegistries: [],
    mirrors: [],
    timeoutMs: 15_000,
    output: null,
    concurrency: null,
    verbose: false,
    color: false,
    yes: false,
    tour: false,
    port: null,
    client: "auto",
    dockerStore: null,
    containerdConfig: null,
    hostsDirs: [],
    pullSecrets: [],
    registriesConf: null,
    ...over,
  };
}
