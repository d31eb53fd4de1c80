import type { Trace } from "../model/trace";
import { RETRY_STATUS } from "../registry/blob";
import type { Lanes } from "./lanes";

/** Why one attempt at one blob failed; the retry loop decides what happens next. */
export class TransferError extends Error {
  constructor(
    readonly kind: "transport" | "status" | "short-read" | "mismatch" | "too-long" | "range" | "no-space" | "aborted",
    message: string,
    readonly info: {
      host: string;
      bytes: number;
      resumedFrom: number;
      status?: number;
      actual?: string;
      code?: string;
      retryAfterMs?: number;
      retryAfter?: string;
    },
  ) {
    super(message);
  }
  get retryable(): boolean {
    if (this.kind === "status") return RETRY_STATUS.has(this.info.status ?? 0);
    return this.kind === "transport" || this.kind === "short-read" || this.kind === "range";
  }
}

export interface AttemptContext {
  signal: AbortSignal;
  idleTimeoutMs: number;
  trace: Trace;
  onBytes: (total: number) => void;
  /** After a transport failure: a new connection, not one from the pool the failed server may have closed. */
  fresh?: boolean;
  /** Blob Workers for first attempts (the engine's; absent: everything on this thread). */
  lanes?: Lanes;
}

export interface AttemptResult {
  host: string;
  bytes: number;
  resumedFrom: number;
}

export type Fail = (kind: TransferError["kind"], msg: string, extra?: Partial<TransferError["info"]>) => TransferError;

export function errText(e: unknown): string {
  if (e instanceof Error) {
    const code = (e as { code?: string }).code;
    // Bun appends advice about its `verbose` option; it means nothing to a user.
    const msg = e.message.replace(/\s*For more information, pass `verbose: true`.*$/s, "");
    return code && !msg.includes(code) ? `${msg} (${code})` : msg;
  }
  return String(e);
}
