import { PROTOCOL_FAULTS } from "./fault-catalogue-protocol";
import { TRANSFER_FAULTS } from "./fault-catalogue-transfer";
import type { LabRegistry } from "./server";

/**
 * Every fault the hardening work reproduces, by a stable name: `pulldoctor demo` serves each
 * as repository `fault/<name>` and the fault tests run `check` and `pull` against each.
 * A fault is a misbehaving registry, CDN, proxy or token server; what the doctor must do is
 * end in the named finding (or a verified success) within --timeout-bounded time, and leave
 * no destination or store entry that is wrong.
 */
export interface FaultOutcome {
  /** pulldoctor's exit status: 0 (no error finding; for pull, the image verified) or 1. */
  exit: 0 | 1;
  /** Codes the report must contain (any severity). */
  codes: readonly string[];
}

export interface NamedFault {
  /** kebab-case, stable (tests, docs and `demo` use it): e.g. "blob-truncated". */
  name: string;
  /** One line: what the server does wrong. */
  title: string;
  group: "transfer" | "protocol";
  /** What `pulldoctor check` and `pulldoctor pull` must end in. */
  expect: { check: FaultOutcome; pull: FaultOutcome };
  /**
   * Installs the fault on `lab` (usually as repository fault/<name>:latest; a fault that needs
   * its own listener, such as a host that never answers, starts it on 127.0.0.1 and stops it
   * in `stop`). Returns the full image reference to diagnose and the hosts to pass as
   * --insecure-registry.
   */
  install(lab: LabRegistry): Promise<InstalledFault>;
}

export interface InstalledFault {
  image: string;
  insecure: string[];
  /** The repository wants a login (pass with --username and --password-stdin). */
  credentials?: { username: string; password: string };
  /** A second host the fault started (a CDN) and every request it received, headers included. */
  observed?: { host: string; requests: readonly { method: string; path: string; headers: Record<string, string> }[] };
  stop?: () => Promise<void>;
}

export const FAULTS: readonly NamedFault[] = [...TRANSFER_FAULTS, ...PROTOCOL_FAULTS];

export function faultByName(name: string): NamedFault | undefined {
  return FAULTS.find((f) => f.name === name);
}
