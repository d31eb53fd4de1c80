/**
 * Exchanges recorded for --verbose. Sinks redact before writing: the HTTP layer passes
 * headers through redactHeaders() and URLs through redactUrl() before calling record.
 */
export type TraceEvent =
  | {
      kind: "http";
      method: string;
      url: string;
      status: number | null;
      requestHeaders: Record<string, string | string[]>;
      responseHeaders: Record<string, string | string[]>;
      durationMs: number;
      error?: string;
      bodyPreview?: string;
      /** The proxy (host:port, no credentials) the request went through; absent when direct. */
      proxy?: string;
      /** The address the connection was made to (the proxy's when through one). */
      address?: string;
    }
  | { kind: "dns"; server: string; name: string; type: string; rcode: string | null; answers: string[]; durationMs: number; error?: string }
  | { kind: "note"; text: string };

export interface Trace {
  record(e: TraceEvent): void;
}

export const nullTrace: Trace = { record() {} };

export class MemoryTrace implements Trace {
  readonly events: TraceEvent[] = [];
  record(e: TraceEvent): void {
    this.events.push(e);
  }
}
