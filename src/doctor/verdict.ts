import type { ClientWire } from "../model/facts";
import type { Finding } from "../model/finding";
import type { Verdict } from "../model/report";
import { firstNot404, mostAdvanced } from "./fallback";
import type { EndpointRun } from "./run";

/*
 * The verdict of a run, apart from the runner: `ref` needs it but no endpoint plan (whose
 * insecure-registry rules load node:net, ≈ 2.5 ms of its start; docs/performance.md, "Start-up, diagnosis and small blobs").
 */

/** "a", "a and b", "a, b and c". */
export function listing(items: readonly string[]): string {
  return items.length <= 1 ? (items[0] ?? "") : `${items.slice(0, -1).join(", ")} and ${items.at(-1)}`;
}

export function verdictOf(
  findings: readonly Finding[],
  chosen: EndpointRun | null,
  runs: readonly EndpointRun[],
  crashed: boolean,
  wire?: ClientWire,
): Verdict {
  // When every endpoint fails, docker pull falls back from each mirror and reports the error of
  // the last endpoint it tried, the upstream registry (moby's pull loop keeps `lastErr`);
  // containerd reports the most advanced error of all its hosts (resolver.go#Resolve). The
  // verdict leads with that one, and names what the other hosts failed with.
  const errorOf = (r: EndpointRun) => r.findings.find((f) => f.severity === "error");
  const localError = findings.find((f) => f.severity === "error" && f.endpoint === null);
  const advanced = wire?.reportsError === "most-advanced";
  const failed = !chosen && runs.length > 1;
  const upstreamError = failed
    ? advanced
      ? mostAdvanced(runs.flatMap((r) => errorOf(r) ?? []))
      : errorOf(runs[runs.length - 1]!)
    : undefined;
  const who = wire && wire.fixesFor !== "docker" ? wire.label : "Docker";
  const firstError = localError ?? upstreamError ?? findings.find((f) => f.severity === "error");
  if (firstError) {
    const before =
      firstError === upstreamError
        ? runs.flatMap((r) => {
            const e = errorOf(r);
            return e && e !== upstreamError ? [`${r.endpoint.url} (${e.code})`] : [];
          })
        : [];
    const older = advanced && firstError === upstreamError ? firstNot404(runs.flatMap((r) => errorOf(r) ?? [])) : undefined;
    const tried = before.length
      ? advanced
        ? ` ${who} also tried ${listing(before)}; it reports the most advanced error of its hosts, not the last one (containerd 2.0+)${older && older !== firstError ? `; containerd 1.x prints the first error that is not a 404 instead: ${older.code} from ${older.endpoint}` : ""}.`
        : ` ${who} tried ${listing(before)} first; it reports this last error.`
      : "";
    return {
      ok: false,
      code: firstError.code,
      summary: `${firstError.title}: ${firstError.detail}${tried}`,
      endpoint: chosen ? usedUrl(chosen) : null,
    };
  }
  if (crashed)
    return { ok: false, code: null, summary: "A check crashed (a bug in pulldoctor); see the stage marked fail.", endpoint: null };
  if (runs.length > 0 && !chosen) {
    return { ok: false, code: null, summary: "No endpoint passed every stage.", endpoint: null };
  }
  const warnings = findings.filter((f) => f.severity === "warning").length;
  const used = chosen ? usedUrl(chosen) : null;
  const where = used ? ` via ${used}` : "";
  return {
    ok: true,
    code: null,
    summary: `The pull should succeed${where}${warnings ? ` (${warnings} warning${warnings > 1 ? "s" : ""})` : ""}.`,
    endpoint: used,
  };
}

/** What a pull really talks to: an insecure registry may have fallen back to plain HTTP. */
function usedUrl(run: EndpointRun): string {
  return run.facts.link?.baseUrl ?? run.endpoint.url;
}
