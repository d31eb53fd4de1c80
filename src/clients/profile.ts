import type { AuthFile } from "../host/auth-json";
import type { Json } from "../model/evidence";
import type { ImageRef } from "../model/facts";
import type { Finding } from "../model/finding";
import type { CredentialReach } from "../net/origin";
import type { KeyringEntry } from "./kube-keyring";

/** The clients the doctor can judge as (SPEC "Clients"). */
export type ClientName = "docker" | "containerd" | "kubelet" | "podman";
export type DockerStore = "classic" | "containerd";
export type Capability = "pull" | "resolve" | "push" | "referrers";

/** One place the client would send requests, in the order it tries them (containerd's RegistryHost as data). */
export interface ClientHost {
  /** scheme://host[:port] */
  url: string;
  host: string;
  scheme: "https" | "http";
  /** API root: "/v2", or a mirror's path + "/v2". */
  path: string;
  capabilities: Capability[];
  /**
   * TLS material from hosts.toml (absolute paths); skipVerify null = not set; certFiles: a directory
   * whose Docker-style *.crt / *.cert+*.key the client reads for this host (certs.d), or null.
   */
  tls: { ca: string[]; client: [string, string][]; skipVerify: boolean | null; certFiles: string | null };
  /** https is tried first and plain http after a TLS-level failure (containerd's HTTPFallback, Docker's insecure rule). */
  httpFallback: boolean;
  role: "mirror" | "upstream";
  /** Where this host came from: "hosts.toml /etc/containerd/certs.d/docker.io/hosts.toml:4", "daemon.json registry-mirrors", "default". */
  source: string;
  /** podman's short-name candidate this host serves (its own registry and repository); absent: the judged reference. */
  ref?: ImageRef;
}

/** Whose pull is judged and how it behaves: stages consult this, never a client's name. */
export interface ClientProfile {
  name: ClientName;
  /** docker only. */
  store: DockerStore | null;
  /** "docker (containerd store)", "kubelet via containerd CRI", … */
  label: string;
  /** The process that sends the HTTP (its environment and CA store are the ones that count). */
  sender: string;
  hosts: ClientHost[];
  credentials: {
    /** Sources in the order the client consults them. */
    from: string[];
    /** Which hosts see them (src/net/origin.ts#endpointGetsCredentials applies it per endpoint). */
    sentTo: CredentialReach;
    /** Where the credential the doctor uses comes from, as data: the config stage reads it, never the client's name. */
    source: CredentialSource;
  };
  /** Where its proxy variables come from. */
  proxyEnvironment: string;
  /** The systemd unit that sends the HTTP and its drop-in dirs, when its environment is not the shell's nor dockerd's. */
  unitProxy: { unit: string; dirs: string[]; files: string[] } | null;
  behaviour: {
    /** GET /v2/ first; challenges are learnt only from it. */
    pingsV2: boolean;
    /** A 401 on a repository request is answered with credentials and re-sent. */
    retries401WithCredentials: boolean;
    plainHttp: string;
    retry: string;
    /** What it does with a 429 when it is not waiting as Retry-After asks; null: nothing to add. */
    on429: string | null;
    shortNames: string;
    /**
     * When every host fails: the last host's error (moby's pull loop keeps lastErr) or the most
     * advanced one (containerd/containerd:core/remotes/docker/resolver.go#dockerResolver.Resolve).
     */
    reportsError: "last" | "most-advanced";
  };
  /** How its fixes are written: daemon.json/certs.d, hosts.toml, registries.conf, Kubernetes objects. */
  fixesFor: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
}

/**
 * How a client finds its credentials:
 * - docker-config: config.json, DOCKER_AUTH_CONFIG and credential helpers, as the docker CLI (src/host/credentials.ts);
 * - auth-files: containers/image's registries.conf credential-helpers in order, "containers-auth.json" being
 *   its auth.json search (src/host/auth-json.ts, the first file with a match wins), any other name a
 *   docker-credential-<name> asked for the registry (src/host/containers-credentials.ts);
 * - keyring: kubelet's keyring, every matching credential in order (pull secrets, then the node's
 *   config.json and credential-provider plugins), tried one after another until one works;
 * - caller: only what the caller passes (ctr --user): --username/--password-stdin.
 */
export type CredentialSource =
  | { kind: "docker-config" }
  | {
      kind: "auth-files";
      files: AuthFile[];
      /** registries.conf `credential-helpers` in order ("containers-auth.json" = the auth files), and where it was set. */
      helpers: string[];
      helpersSource: string | null;
    }
  | {
      kind: "keyring";
      /** The pod's pull secrets, one keyring, in pod order. */
      secrets: KeyringEntry[];
      /** <root-dir>/config.json auths: the node keyring, with the plugins' answers. */
      node: KeyringEntry[];
      /** --image-credential-provider-config and --image-credential-provider-bin-dir, when known. */
      providers: { config: string; binDir: string } | null;
    }
  | { kind: "caller" };

/** What building one profile produced: the profile, the config findings, the evidence of what was read. */
export interface ClientJudgement {
  profile: ClientProfile;
  findings: Finding[];
  evidence: Record<string, Json>;
}

/** File + line of a problem in a config file, as parsers report it. */
export interface FileProblem {
  path: string;
  line: number | null;
  column: number | null;
  message: string;
}

/** 1-based line of the first line containing `needle`, or null. */
export function lineOf(text: string, needle: string): number | null {
  const i = text.indexOf(needle);
  return i < 0 ? null : text.slice(0, i).split("\n").length;
}
