import type { ClientWire } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { EndpointRun } from "./run";

/**
 * The client goes on from a failing host to the next (containerd: every transport error, 404
 * and ≥400 falls through, core/remotes/docker/resolver.go#dockerResolver.Resolve; Docker:
 * any registry error, moby daemon/internal/distribution/errors.go#continueOnError): one
 * MIRROR_FALLBACK per host it left, on that host, naming the host that finally answered.
 * Called before a later host's success turns the left hosts' errors into warnings.
 */
export function fallbackFindings(
  runs: readonly EndpointRun[],
  chosen: EndpointRun | null,
  wire: ClientWire | undefined,
  registry: string,
): void {
  const end = chosen ? runs.indexOf(chosen) : runs.length - 1;
  for (const r of runs.slice(0, Math.max(end, 0))) {
    const err = r.findings.find((f) => f.severity === "error");
    if (!err) continue;
    const f = finding(
      "MIRROR_FALLBACK",
      {
        mirror: `${r.endpoint.url}${r.endpoint.pathPrefix}/v2`,
        source: r.endpoint.source ?? (r.endpoint.role === "mirror" ? "daemon.json registry-mirrors or --mirror" : null),
        code: err.code,
        why: err.detail,
        answered: chosen ? `${chosen.facts.link?.baseUrl ?? chosen.endpoint.url}/v2` : null,
        client: wire?.label ?? "docker (classic store)",
        fixesFor: wire?.fixesFor ?? "docker",
        registry,
      },
      { failed: r.endpoint.url, code: err.code, answered: chosen?.endpoint.url ?? null },
    );
    r.findings.push({ ...f, endpoint: r.endpoint.url });
  }
}

/**
 * containerd's rank of a failed host's error (resolver.go#Resolve keeps the first error of the
 * highest rank): a size limit > any other HTTP status ≥ 400 (3) > 404 "not found" (2) > a
 * transport error (1). The doctor has no size-limit code of its own (an oversized manifest is
 * MANIFEST_INVALID, rank 3). Codes are ranked by the stage that produced them.
 */
export function errorRank(f: Finding): number {
  if (f.code === "MANIFEST_UNKNOWN" || f.code === "NAME_UNKNOWN") return 2;
  if (["dns", "proxy", "connect"].includes(f.stage) || f.code.endsWith("_NO_RESPONSE")) return 1;
  if (f.code === "MANIFEST_FETCH_FAILED" && (f.evidence as { error?: unknown }).error !== undefined) return 1;
  return 3;
}

/**
 * What containerd before 2.0 prints when every host failed: the first error that is not a 404
 * (a 404 only when every host said so). The ranking came with containerd/containerd#8861, first
 * released in 2.0 (1.6 and 1.7 keep `lastErr`, set once, remotes/docker/resolver.go).
 */
export function firstNot404(errors: readonly Finding[]): Finding | undefined {
  return errors.find((e) => errorRank(e) !== 2) ?? errors[0];
}

/** The error containerd 2.0+ prints when every host failed: the most advanced one, the first of its rank. */
export function mostAdvanced(errors: readonly Finding[]): Finding | undefined {
  let best: Finding | undefined;
  for (const e of errors) if (!best || errorRank(e) > errorRank(best)) best = e;
  return best;
}
