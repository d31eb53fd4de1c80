import { capLongStrings, type Evidence, type Json } from "../model/evidence";
import { scrubDeep } from "../model/redact";

// One formatter of sizes for every layer (model/units); the renderers import it from here too.
export { formatBytes } from "../model/units";

/** "12 ms", "1.4 s", "2 min 5 s": durations as people read them. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

function scalar(v: Json): string {
  if (v === null) return "null";
  if (typeof v === "string") return v;
  if (typeof v === "number" || typeof v === "boolean") return String(v);
  return JSON.stringify(v);
}

function short(s: string, max: number): string {
  const one = s.replace(/\s*\n\s*/g, " ");
  return one.length > max ? `${one.slice(0, max - 1)}…` : one;
}

/** Keys that prove a finding (shown first), then the facts around them (next). */
const PROOF = /closest|platforms|errors?$|code$|retry|remaining|location|redirect|subject|issuer|expir|message|outcome|reason/i;
const CONTEXT = /status|limit|address|host|server|digest/i;
const rank = (k: string) => (PROOF.test(k) ? 0 : CONTEXT.test(k) ? 1 : 2);
/** Constant or bulky request details: only with --verbose. */
const NOISE = /^(accept|.*\.accept|.*method)$/i;

/**
 * Evidence as "key: value" lines. Not verbose: the top-level facts, arrays joined,
 * nested objects flattened one level (status, host, header values…), empty values
 * dropped, the proving keys first, long values cut. Verbose: everything, as indented JSON.
 */
export function evidenceLines(ev: Evidence, verbose: boolean, max = 8): string[] {
  // Scrubbed before the cut: a cut through a secret would leave a piece the final scrub cannot recognise.
  if (verbose) return JSON.stringify(capLongStrings(scrubDeep(ev)), null, 2).split("\n");
  const out: { key: string; line: string }[] = [];
  const push = (k: string, v: Json | undefined) => {
    if (v === undefined || v === null || NOISE.test(k)) return;
    if (Array.isArray(v)) {
      if (v.length === 0) return;
      const items = v.map((x) => (x !== null && typeof x === "object" ? JSON.stringify(x) : scalar(x)));
      out.push({ key: k, line: `${k}: ${short(items.join(", "), 160)}` });
    } else if (typeof v === "object") {
      for (const [k2, v2] of Object.entries(v)) {
        if (v2 !== undefined && v2 !== null && typeof v2 === "object" && !Array.isArray(v2)) continue;
        push(`${k}.${k2}`, v2);
      }
    } else out.push({ key: k, line: `${k}: ${short(scalar(v), 160)}` });
  };
  for (const [k, v] of Object.entries(ev)) push(k, v);
  const ranked = [0, 1, 2].flatMap((r) => out.filter((o) => rank(o.key) === r)).map((o) => o.line);
  if (ranked.length > max) return [...ranked.slice(0, max), `… ${ranked.length - max} more (--verbose or the JSON report shows all)`];
  return ranked;
}

/** The endpoint as people name it: the host, plus "(mirror)" for a mirror. */
export function endpointLabel(url: string | null): string {
  if (!url) return "";
  try {
    return new URL(url).host;
  } catch {
    return url;
  }
}
