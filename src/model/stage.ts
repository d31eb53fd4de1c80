import type { SharedConnections } from "./connections";
import type { Deps } from "./deps";
import type { Evidence } from "./evidence";
import type { Facts, HostTls, ImageRef } from "./facts";
import type { Finding } from "./finding";
import type { Options } from "./options";
import type { Trace } from "./trace";

export const STAGE_IDS = ["reference", "config", "dns", "proxy", "connect", "v2", "auth", "manifest", "blob", "pull"] as const;
export type StageId = (typeof STAGE_IDS)[number];
export type StageStatus = "pass" | "warn" | "fail" | "skip";

/**
 * One place a pull talks to: a mirror or the upstream registry. `url` is the base URL
 * Docker would try first (https://host[:port]); for an insecure registry the connect
 * stage may fall back to http, and later stages use `facts.link.baseUrl`.
 */
export interface Endpoint {
  url: string;
  /** host[:port] as written in the URL authority (IPv6 in brackets). */
  host: string;
  /** hostname without brackets or port. */
  hostname: string;
  port: number;
  role: "mirror" | "upstream";
  /** Insecure by configuration (insecure-registries / --insecure-registry). Loopback is decided by the connect stage. */
  insecure: boolean;
  /** Path prefix for a mirror URL with a path (e.g. https://mirror.example.com/v2-proxy), "" otherwise. */
  pathPrefix: string;
  /** Where the judged client's config put this host ("hosts.toml …:4", "registries.conf …"); absent for Docker's own plan. */
  source?: string;
  /** The TLS files the judged client reads for this host; absent: Docker's certs.d. */
  tls?: HostTls;
  /** The reference this host is asked for when it differs from the judged one (a podman short-name candidate). */
  ref?: ImageRef;
}

/** One question about the pull. A stage never prints, never times itself, never catches-all. */
export interface Stage {
  id: StageId;
  title: string;
  scope: "local" | "endpoint";
  /** A missing fact (undefined) ⇒ the runner records `skip` with the reason. */
  needs: readonly (keyof Facts)[];
  run(ctx: StageContext): Promise<StageOutcome>;
}

export interface StageContext {
  options: Options;
  endpoint: Endpoint | null;
  facts: Readonly<Facts>;
  deps: Deps;
  trace: Trace;
  /** The run's kept-alive connections (one per endpoint's settings); the runner closes them when it ends. */
  connections?: SharedConnections;
  /**
   * Facts this stage knows before it ends, which nothing left in its run can take back: the
   * runner may start the next stage with them, beside the rest of this one (its events come
   * after this stage's result). What a stage hands on it also provides when it ends.
   */
  handOn?(facts: Partial<Facts>): void;
}

export interface StageOutcome {
  /** One line: "registry-1.docker.io → 3 addresses via 10.0.0.2 (4 ms)". */
  summary: string;
  /** JSON-safe; enough that support never has to ask. */
  evidence: Evidence;
  /** Status comes from these: error ⇒ fail, warning ⇒ warn, else pass. */
  findings: Finding[];
  provides?: Partial<Facts>;
  /**
   * The stage found it has nothing to check (e.g. connect with no address and no proxy):
   * the runner records `skip` with this reason instead of a pass.
   */
  skipped?: string;
}

export interface StageResult {
  id: StageId;
  endpoint: string | null;
  status: StageStatus;
  durationMs: number;
  summary: string;
  evidence: Evidence;
}
