import type { Evidence } from "../model/evidence";
import type { Trace, TraceEvent } from "../model/trace";

/** One request a stage made, as its stage evidence keeps it (issue 15: where a diagnosis's time goes). */
export interface RequestTiming {
  /** "GET https://host/v2/" or "dns A host @server"; URLs as the trace has them (redacted). */
  request: string;
  /** The HTTP status or DNS rcode, or "error: …". */
  result: string;
  ms: number;
}

/**
 * A trace that passes every event on and notes each request's duration, so the runner can put
 * the stage's requests, with their times, in the stage's evidence (`timing`) and --verbose can
 * print them under the stage's line.
 */
export function timedTrace(outer: Trace): { trace: Trace; evidence(): Evidence } {
  const requests: RequestTiming[] = [];
  const trace: Trace = {
    record(e: TraceEvent) {
      const t = timingOf(e);
      if (t) requests.push(t);
      outer.record(e);
    },
  };
  return {
    trace,
    evidence: () =>
      requests.length === 0
        ? {}
        : {
            timing: {
              requests: requests.map((r) => ({ ...r })),
              requestMs: Math.round(requests.reduce((a, r) => a + r.ms, 0)),
            },
          },
  };
}

function timingOf(e: TraceEvent): RequestTiming | null {
  if (e.kind === "http")
    return {
      request: `${e.method} ${e.url}`,
      result: e.error ? `error: ${e.error}` : String(e.status ?? "?"),
      ms: Math.round(e.durationMs),
    };
  if (e.kind === "dns")
    return {
      request: `dns ${e.type} ${e.name} @${e.server}`,
      result: e.error ? `error: ${e.error}` : (e.rcode ?? "?"),
      ms: Math.round(e.durationMs),
    };
  return null;
}

/** The `timing` a stage result's evidence carries, when it made requests. */
export function stageTiming(evidence: Evidence): RequestTiming[] {
  const t = evidence.timing as { requests?: RequestTiming[] } | undefined;
  return Array.isArray(t?.requests) ? t.requests : [];
}
