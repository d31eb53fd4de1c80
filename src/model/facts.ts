import type { Evidence } from "./evidence";
import type { HttpAnswer } from "./http-answer";
import type { Secret } from "./secret";

/** What the reference stage established (distribution/reference normalization). */
export interface ImageRef {
  input: string;
  /** Domain as Docker names it: "docker.io", "ghcr.io", "localhost:5000", "[::1]:5000". */
  registry: string;
  /** Path inside the registry: "library/nginx". */
  repository: string;
  /** null only when a digest was given without a tag. */
  tag: string | null;
  digest: string | null;
  canonical: string;
  familiar: string;
}

export interface ProxySettings {
  http?: string;
  https?: string;
  no?: string;
}

/** What the config stage read from the host. */
export interface LocalConfig {
  dockerConfig: { path: string; found: boolean; kind: "config.json" | "dockerconfigjson" | "none" };
  daemon: {
    path: string;
    found: boolean;
    mirrors: string[];
    insecureRegistries: string[];
    proxies: ProxySettings | null;
    /** Proxy of the running daemon (systemd drop-in Environment lines, or the live Engine /info). */
    liveProxies: ProxySettings | null;
    liveSource: string | null;
  };
  certsDir: string;
  /**
   * Why credentials that may exist could not be read (a missing or failing helper, an
   * unreadable config.json), so a later 401 is not blamed on "no credentials configured".
   */
  credentialProblem?: string | null;
}

/** Credentials for the image's registry, and where they came from. null = anonymous. */
export interface Credential {
  /** Human-readable origin: "credHelpers[ghcr.io] → docker-credential-gh", "auths[https://index.docker.io/v1/] in /root/.docker/config.json", "--username". */
  source: string;
  /** Key looked up (`https://index.docker.io/v1/` for Docker Hub, else host[:port]). */
  lookupKey: string;
  username?: string;
  password?: Secret;
  /** OAuth2 refresh token (config.json `identitytoken`, or helper Username "<token>"). */
  identityToken?: Secret;
  /** Bearer token sent as is (config.json `registrytoken`). */
  registryToken?: Secret;
}

export interface ResolvedAddress {
  address: string;
  family: 4 | 6;
}

/** What the dns stage established for one host; connections use exactly these addresses. */
export interface Resolution {
  hostname: string;
  addresses: ResolvedAddress[];
  /** "/etc/hosts", "10.0.0.2:53", "literal" */
  via: string;
}

/** What the proxy stage decided for the endpoint's scheme. */
export interface ProxyRoute {
  /** Proxy URL without credentials, or null for a direct connection. */
  url: string | null;
  /** Basic credentials from the proxy URL's userinfo. */
  auth: { username: string; password: Secret } | null;
  /** "HTTPS_PROXY", "https_proxy", "NO_PROXY matched .corp.example.com", "loopback is never proxied", … */
  reason: string;
}

/** TLS material for one endpoint: what Docker would trust and present. */
export interface TlsSettings {
  /** Extra CA certificates (PEM) from certs.d, added to the system store. */
  ca: string[];
  cert?: string;
  key?: Secret;
  /** false for an insecure registry (Docker skips verification). */
  verify: boolean;
}

/** What the connect stage established. */
export interface LinkInfo {
  scheme: "https" | "http";
  /** Base URL later stages use: "https://host:port" (+ mirror path prefix). */
  baseUrl: string;
  tls: TlsSettings;
  /** Effective insecurity: configured, or every address in 127.0.0.0/8 / ::1 as Docker decides. */
  insecure: boolean;
}

/** One parsed WWW-Authenticate challenge. */
export interface AuthChallenge {
  scheme: string;
  params: Record<string, string>;
}

/** What the v2 stage read from GET /v2/. */
export interface Challenge {
  status: number;
  challenges: AuthChallenge[];
  /** The one a Docker client would use (bearer preferred over basic), or null for an open registry. */
  chosen: AuthChallenge | null;
  /**
   * The judged client never pings /v2/ and the doctor's probe gave no usable answer: its first
   * request is the manifest, sent without Authorization (status is then 0).
   */
  unpinged?: boolean;
}

/** What the auth stage established: how to authorize requests for this repository. */
export interface AuthSession {
  scheme: "bearer" | "basic" | "none";
  /**
   * The Authorization header value for `scope` (default `repository:NAME:pull`), fetching or
   * refreshing a token when it is missing or about to expire. null = send none.
   */
  authorize(scope?: string): Promise<Secret | null>;
  /** Force a new token (after a 401 mid-pull). */
  invalidate(): void;
}

export interface Descriptor {
  mediaType: string;
  digest: string;
  size: number;
  urls?: string[];
  annotations?: Record<string, string>;
  platform?: Platform;
}

export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
  "os.version"?: string;
  "os.features"?: string[];
}

/** What the manifest stage established: the image manifest a pull would use. */
export interface ResolvedManifest {
  /** Digest of what the tag points to (index or manifest). */
  digest: string;
  mediaType: string;
  /** When the tag points to an index: its digest; the chosen child is `image`. */
  index: { digest: string; mediaType: string; platforms: string[] } | null;
  image: {
    digest: string;
    mediaType: string;
    size: number;
    /** The exact bytes as served (needed to write outputs with the same digest). */
    raw: Uint8Array;
    config: Descriptor;
    layers: Descriptor[];
  };
  platform: string;
  /**
   * A single-platform image's config, which the manifest stage reads whole for its platform:
   * still in flight when the manifest is handed on before that read ends (StageContext.handOn).
   * null: the read failed or did not verify, and the blob stage asks for the config itself.
   */
  configRead?: Promise<FetchedBlob | null>;
}

/**
 * A blob fetched whole and verified against its digest, with what the exchange showed. Docker
 * fetches an image's config once; the blob stage judges this exchange rather than asking again.
 */
export interface FetchedBlob {
  digest: string;
  /** The Range header sent. */
  range: string;
  status: number;
  headers: Record<string, string>;
  /** The host that served it (a redirect target's when redirected) and every hop on the way. */
  host: string;
  hops: Evidence[];
  bytes: number;
  transferMs: number;
}

/** Which client's pull is judged (config stage, src/clients/), and what `auto` based it on. */
export interface JudgedClient {
  name: "docker" | "containerd" | "kubelet" | "podman";
  store: "classic" | "containerd" | null;
  label: string;
  basedOn: string;
  /** Auto-detection found no client and took the SPEC's fallback (the interactive doctor may ask). */
  unsure: boolean;
  /** What the network stages consult: the hosts in order and the behaviour flags of the judged profile. */
  wire: ClientWire;
  /** podman's short-name candidates: the credentials it looks up for each (by canonical name), as for its own registry. */
  candidateCredentials?: Record<string, Credential[]>;
  /** --client all: one entry per client, with the code of its config that decides (null = nothing in its config stops it). */
  all:
    | {
        name: JudgedClient["name"];
        store: JudgedClient["store"];
        label: string;
        code: string | null;
        wire: ClientWire;
        /** The credentials this client would try, in its order (its profile's source); set by the config stage. */
        credentials?: Credential[];
        /** Its short-name candidates' credentials (podman), as candidateCredentials above; set by the config stage. */
        candidateCredentials?: Record<string, Credential[]>;
        /** Why credentials that may exist were not read for this client, as LocalConfig's credentialProblem. */
        credentialProblem?: string | null;
      }[]
    | null;
}

/** One host of the judged client's plan, as data (src/clients' ClientHost, without TLS paths). */
export interface WireHost {
  /** scheme://host[:port] */
  url: string;
  host: string;
  /** API root: "/v2", or a mirror's path + "/v2". */
  path: string;
  capabilities: ("pull" | "resolve" | "push" | "referrers")[];
  role: "mirror" | "upstream";
  /** https first, plain http after a TLS-level failure. */
  httpFallback: boolean;
  skipVerify: boolean | null;
  /** TLS material the client reads for this host: hosts.toml `ca`/`client` files, and a certs.d-style dir. */
  tls: HostTls;
  /** "hosts.toml /etc/containerd/certs.d/docker.io/hosts.toml:4", "daemon.json registry-mirrors", … */
  source: string;
  /** A short-name candidate's own reference (podman's search registries); absent: the judged reference. */
  ref?: ImageRef;
}

/** Files, never their contents: the connect stage reads them. `client` pairs are [cert, key] ("" key: one PEM with both). */
export interface HostTls {
  ca: string[];
  client: [string, string][];
  certFiles: string | null;
}

/** The judged client's wire behaviour (SPEC "Clients"): stages read these flags, never the client's name. */
export interface ClientWire {
  /** "containerd (ctr, nerdctl)", as findings name the client. */
  label: string;
  /** The hosts in the order the client tries them; null = Docker's own plan (daemon.json mirrors, then upstream). */
  hosts: WireHost[] | null;
  /** GET /v2/ first, challenges only from it. false: the first request is the manifest HEAD. */
  pingsV2: boolean;
  /** A 401 on a repository request is retried with its challenge and the credentials. */
  retries401WithCredentials: boolean;
  /** Which hosts see the credentials. */
  credentialsTo: "login-host" | "every-host" | "registry";
  /** daemon.json insecure-registries (and Docker's 127.0.0.0/8 rule) apply. */
  daemonInsecure: boolean;
  /** When every host fails: the last host's error (moby's pull loop) or the most advanced one (containerd's resolver). */
  reportsError: "last" | "most-advanced";
  /** Retry rules, in words. */
  retry: string;
  /** What the client does with a 429, when it differs from waiting (a note on RATE_LIMITED); null: nothing to add. */
  on429: string | null;
  /** Where its proxy variables come from, in words. */
  proxyEnvironment: string;
  /** The systemd unit whose environment sends the HTTP (containerd, crio) and its drop-in dirs; null: Docker's daemon logic, or the shell's. */
  unitProxy: { unit: string; dirs: string[]; files: string[] } | null;
  /** How a fix is written for it: Docker's daemon.json/certs.d, hosts.toml, registries.conf, a Kubernetes Secret. */
  fixesFor: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
}

/** The typed blackboard the stages write to. Never serialised. */
export interface Facts {
  ref?: ImageRef;
  local?: LocalConfig;
  /** null = anonymous (no credentials configured). */
  credential?: Credential | null;
  /**
   * Every credential the judged client would try, in its order (kubelet tries each matching one
   * until a pull works; the other clients have at most one). `credential` is the first, or the
   * one the auth stage found working.
   */
  credentials?: Credential[];
  resolution?: Resolution;
  route?: ProxyRoute;
  /**
   * The proxy variables of the process that pulls when they are not the shell's (containerd's
   * or crio's unit environment): every other host of the pull (token realm, blob redirect) is
   * routed with them. Absent: the shell's environment (deps.env).
   */
  proxyEnv?: Readonly<Record<string, string>>;
  link?: LinkInfo;
  challenge?: Challenge;
  session?: AuthSession;
  /** The auth stage's HEAD of the tag, when the registry answered it 200. */
  tagHead?: TagHead;
  manifest?: ResolvedManifest;
  client?: JudgedClient;
}

/**
 * A 200 to the auth stage's HEAD of the tag (Docker's Accept list, the session's Authorization).
 * A client sends one HEAD of the tag per pull; the manifest stage judges this answer as its own
 * HEAD rather than asking again.
 */
export interface TagHead {
  url: string;
  accept: string;
  response: HttpAnswer;
}
