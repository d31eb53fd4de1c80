/** JSON-safe evidence: what a support engineer needs to see the failing hop without asking. */
export type Json = string | number | boolean | null | Json[] | { [k: string]: Json | undefined };
export type Evidence = { [k: string]: Json | undefined };

/**
 * The longest string a report keeps. A hostile server's 64 KiB WWW-Authenticate (or a 1 MiB
 * header) would otherwise be copied into every stage and finding that quotes it, and a ticket
 * attachment of megabytes helps nobody: the first 8 KiB show what was sent, the rest is counted.
 */
export const MAX_EVIDENCE_STRING = 8 * 1024;

export function capLongStrings<T>(value: T, max = MAX_EVIDENCE_STRING): T {
  if (typeof value === "string") {
    return (value.length > max ? `${value.slice(0, max)}…[${value.length - max} more characters]` : value) as T;
  }
  if (Array.isArray(value)) return value.map((v) => capLongStrings(v, max)) as T;
  if (value !== null && typeof value === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) out[k] = capLongStrings(v, max);
    return out as T;
  }
  return value;
}
