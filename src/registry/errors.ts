import { escapeControls } from "./http-util";

/**
 * The error body of the distribution API (docs/spec/api.md "Errors"): {"errors":[{code,message,detail}]}.
 * Docker Hub's token/rate-limit answers sometimes carry {"details":"…"} instead; both are read,
 * as go-containerregistry's transport.Error does.
 */
export interface Diagnostic {
  code: string;
  message: string;
  detail?: unknown;
}

export function parseRegistryErrors(body: Uint8Array, contentType?: string): Diagnostic[] {
  if (!body.length) return [];
  // An HTML page is never an errors document, whatever it contains.
  if (contentType && /html/i.test(contentType)) return [];
  let doc: unknown;
  try {
    doc = JSON.parse(new TextDecoder().decode(body));
  } catch {
    return [];
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) return [];
  const o = doc as Record<string, unknown>;
  if (Array.isArray(o.errors)) {
    const out: Diagnostic[] = [];
    for (const e of o.errors) {
      if (!e || typeof e !== "object") continue;
      const r = e as Record<string, unknown>;
      // The registry's words reach findings and terminals: control characters are shown, not sent.
      const d: Diagnostic = {
        code: typeof r.code === "string" ? escapeControls(r.code) : "UNKNOWN",
        message: typeof r.message === "string" ? escapeControls(r.message) : "",
      };
      if (r.detail !== undefined && r.detail !== null) d.detail = r.detail;
      out.push(d);
    }
    return out;
  }
  if (typeof o.details === "string") return [{ code: "UNKNOWN", message: escapeControls(o.details) }];
  return [];
}

/** "DENIED: requested access to the resource is denied" — the line docker prints for a diagnostic. */
export function formatDiagnostic(d: Diagnostic): string {
  return d.message ? `${d.code}: ${d.message}` : d.code;
}
