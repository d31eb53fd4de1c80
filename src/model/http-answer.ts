/**
 * An HTTP answer as plain data: what the HTTP layer returns (registry/http-types.ts calls it
 * HttpResponse), and what a stage may hand the next one in the facts (model/facts.ts, TagHead).
 */
export interface HttpAnswer {
  status: number;
  statusText: string;
  /** Lower-case names; repeated headers joined with ", ". */
  headers: Record<string, string>;
  /** One entry per header line (WWW-Authenticate is one challenge per line). */
  rawHeaders: [string, string][];
  body: Uint8Array;
  truncated: boolean;
  url: string;
  durationMs: number;
  remoteAddress: string | null;
}
