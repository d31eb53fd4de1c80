import { maskUserinfo } from "../model/redact";

// Its home is model/redact; src/cli/args.ts still names it here.
/**
 * Docker's check of a registry mirror URL (moby registry.ValidateMirror, run when dockerd loads
 * daemon.json or --registry-mirror): the error text dockerd refuses to start with, or null.
 * Facts taken from moby: the scheme is required and must be http or https; no query or fragment;
 * no userinfo (the password is printed as "xxxxx").
 */
export function mirrorUrlError(raw: string): string | null {
  // Every message shows the URL with its password as "xxxxx" (a rejected mirror is still a secret's carrier).
  const value = maskUserinfo(raw);
  const i = value.indexOf("://");
  if (i <= 0) return `invalid mirror: no scheme specified for ${JSON.stringify(value)}: must use either 'https://' or 'http://'`;
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `invalid mirror: ${JSON.stringify(value)} is not a valid URI`;
  }
  const scheme = value.slice(0, i).toLowerCase();
  if (scheme !== "http" && scheme !== "https")
    return `invalid mirror: unsupported scheme ${JSON.stringify(scheme)} in ${JSON.stringify(value)}: must use either 'https://' or 'http://'`;
  if (u.search || u.hash || value.includes("?") || value.includes("#"))
    return `invalid mirror: query or fragment at end of the URI ${JSON.stringify(value)}`;
  if (u.username || u.password) {
    const shown = `${scheme}://${u.username}:xxxxx@${value.slice(value.indexOf("@") + 1)}`;
    return `invalid mirror: username/password not allowed in URI ${JSON.stringify(shown)}`;
  }
  return null;
}

/** As Docker's ValidateMirror: a scheme is required; no userinfo, query or fragment. */
export function parseMirror(value: string): { url: URL } | { reason: string } {
  const v = value.trim();
  if (!/^https?:\/\//i.test(v)) return { reason: `no scheme specified for "${v}": must use either 'https://' or 'http://'` };
  let url: URL;
  try {
    url = new URL(v);
  } catch {
    return { reason: `"${v}" is not a valid URL` };
  }
  if (url.username || url.password) return { reason: `"${v}" must not contain credentials` };
  if (url.search || url.hash) return { reason: `"${v}": query or fragment at end of the URI` };
  return { url };
}
