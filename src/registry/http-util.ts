import { escapeControls } from "../model/escape";
import type { ResolvedAddress } from "../model/facts";
import { scrubDeep } from "../model/redact";
import { resolveHost } from "../net/dns";
import { isIP } from "../net/ip";
import { bareHost } from "../net/origin";
import { NetError } from "./http-errors";
import type { HttpClientConfig } from "./http-types";

/** The addresses to dial for a host: the dns stage's answer for its host, literals as is, else a lookup. */
export async function addressesFor(hostname: string, cfg: HttpClientConfig): Promise<ResolvedAddress[]> {
  const bare = bareHost(hostname);
  const fam = isIP(bare);
  if (fam) return [{ address: bare, family: fam as 4 | 6 }];
  if (cfg.resolution && cfg.resolution.hostname.toLowerCase() === bare.toLowerCase() && cfg.resolution.addresses.length) {
    return cfg.resolution.addresses;
  }
  // Other hosts (a token realm, a blob CDN, a proxy) are resolved as the daemon would, with the same --dns servers.
  const r = await resolveHost(bare, { servers: cfg.dnsServers, deps: cfg.deps, timeoutMs: cfg.timeoutMs, trace: cfg.trace });
  if (r.outcome === "ok" && r.addresses.length) return r.addresses;
  const code = r.outcome === "ok" ? "NOANSWER" : r.outcome.toUpperCase();
  throw new NetError(`cannot resolve ${bare}: ${r.message || code}`, { kind: "dns", phase: "dns", host: bare, code });
}

/**
 * A header value as text that is safe everywhere it goes (evidence, JSON, a terminal): undici
 * hands bytes over as latin1, so anything outside printable ASCII (invalid UTF-8, C1 controls
 * such as CSI) is shown escaped as \xNN. Backslashes stay as they are: a challenge's quoted
 * strings use them as escapes.
 */
export function safeHeaderValue(v: string): string {
  if (/^[\x20-\x7e\t]*$/.test(v)) return v;
  return v.replace(/[^\x20-\x7e\t]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `\\x${n.toString(16).padStart(2, "0")}` : `\\u${n.toString(16).padStart(4, "0")}`;
  });
}

/**
 * A Location is followed, not only shown: escaping its bytes as text (\xff) would make the URL
 * parser read the backslash as a path separator and request a path the server never named. Its
 * bytes outside printable ASCII are percent-encoded instead, as Go's client sends them (url.Parse
 * keeps bytes >= 0x80 and EscapedPath encodes them); the result is safe in evidence too.
 */
export function safeLocation(v: string): string {
  if (/^[\x21-\x7e]*$/.test(v)) return v;
  return v.replace(/[^\x21-\x7e]/g, (c) => {
    const n = c.charCodeAt(0);
    return n <= 0xff ? `%${n.toString(16).toUpperCase().padStart(2, "0")}` : encodeURIComponent(c);
  });
}

export function joinHeaders(h: Record<string, string | string[] | undefined>): {
  headers: Record<string, string>;
  raw: [string, string][];
} {
  const headers: Record<string, string> = {};
  const raw: [string, string][] = [];
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined) continue;
    const name = k.toLowerCase();
    const vals = (Array.isArray(v) ? v : [v]).map((x) => (name === "location" ? safeLocation(String(x)) : safeHeaderValue(String(x))));
    for (const x of vals) raw.push([name, x]);
    headers[name] = vals.join(", ");
  }
  return { headers, raw };
}

export function preview(body: Uint8Array, contentType: string | undefined): string | undefined {
  if (!body.length) return undefined;
  if (contentType && !/text|json|html|xml/i.test(contentType)) return undefined;
  const text = new TextDecoder().decode(body.subarray(0, 512));
  return escapeControls(scrubDeep(text));
}

// Kept here for its many importers; it lives in model so main.ts can use it without loading the network layer.
export { escapeControls };
