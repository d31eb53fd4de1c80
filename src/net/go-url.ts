/**
 * The parts of Go's net/url that decide proxy behaviour. Docker parses HTTP(S)_PROXY and
 * request URLs with Go's url.Parse, which differs from WHATWG URL (used by `new URL`):
 * it keeps host case ("LocalHost" is then proxied), accepts "foo://host", rejects
 * "  http://…" (leading space) and "%zz", and parses "http://proxy corp:3128" only
 * after "http://" is prepended. Only what httpproxy needs is implemented.
 */
export interface GoUrl {
  scheme: string;
  opaque: string;
  user: { username: string; password: string | null } | null;
  /** As in the URL, after unescaping (brackets and port kept): "[::1]:3128". */
  host: string;
  path: string;
  rawQuery: string;
  forceQuery: boolean;
  fragment: string;
}

type Mode = "host" | "path" | "userinfo";

const HOST_OK = new Set("!$&'()*+,;=:[]<>\"");

function shouldEscape(c: number, mode: Mode): boolean {
  const ch = String.fromCharCode(c);
  if (/[A-Za-z0-9]/.test(ch)) return false;
  if (mode === "host" && HOST_OK.has(ch)) return false;
  if ("-_.~".includes(ch)) return false;
  if ("$&+,/:;=?@".includes(ch)) {
    if (mode === "userinfo") return "@/?:".includes(ch);
    if (mode === "path") return ch === "?";
    return false;
  }
  return true;
}

function isHex(c: string | undefined): boolean {
  return c !== undefined && /^[0-9a-fA-F]$/.test(c);
}

/** Go's unescape (goUnescape: the global name is taken): percent-decoding that validates escapes and (for hosts) characters. */
function goUnescape(s: string, mode: Mode): string {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  for (let i = 0; i < s.length; ) {
    const ch = s[i]!;
    if (ch === "%") {
      if (!isHex(s[i + 1]) || !isHex(s[i + 2])) throw new Error(`invalid URL escape "${s.slice(i, i + 3)}"`);
      if (mode === "host" && parseInt(s[i + 1]!, 16) < 8 && s.slice(i, i + 3) !== "%25")
        throw new Error(`invalid URL escape "${s.slice(i, i + 3)}"`);
      bytes.push(parseInt(s.slice(i + 1, i + 3), 16));
      i += 3;
      continue;
    }
    const code = ch.charCodeAt(0);
    if (mode === "host" && code < 0x80 && shouldEscape(code, mode)) throw new Error(`invalid character "${ch}" in host name`);
    const cp = s.codePointAt(i)!;
    const chunk = String.fromCodePoint(cp);
    bytes.push(...enc.encode(chunk));
    i += chunk.length;
  }
  return new TextDecoder().decode(Uint8Array.from(bytes));
}

function goEscape(s: string, mode: Mode): string {
  let out = "";
  for (const ch of s) {
    const code = ch.codePointAt(0)!;
    // Go leaves non-ASCII bytes of a host as they are; elsewhere they are %-encoded.
    if (code >= 0x80 && mode === "host") out += ch;
    else if (code < 0x80 && !shouldEscape(code, mode)) out += ch;
    else for (const b of new TextEncoder().encode(ch)) out += `%${b.toString(16).toUpperCase().padStart(2, "0")}`;
  }
  return out;
}

function validOptionalPort(port: string): boolean {
  return port === "" || /^:[0-9]*$/.test(port);
}

function parseHost(host: string): string {
  if (host.startsWith("[")) {
    const i = host.lastIndexOf("]");
    if (i < 0) throw new Error("missing ']' in host");
    if (!validOptionalPort(host.slice(i + 1))) throw new Error(`invalid port "${host.slice(i + 1)}" after host`);
    const zone = host.slice(0, i).indexOf("%25");
    if (zone >= 0)
      return goUnescape(host.slice(0, zone), "host") + goUnescape(host.slice(zone, i), "path") + goUnescape(host.slice(i), "host");
  } else {
    const i = host.lastIndexOf(":");
    if (i >= 0 && !validOptionalPort(host.slice(i))) throw new Error(`invalid port "${host.slice(i)}" after host`);
  }
  return goUnescape(host, "host");
}

function getScheme(raw: string): [string, string] {
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i]!;
    if (/[A-Za-z]/.test(c)) continue;
    if (/[0-9+\-.]/.test(c)) {
      if (i === 0) return ["", raw];
      continue;
    }
    if (c === ":") {
      if (i === 0) throw new Error("missing protocol scheme");
      return [raw.slice(0, i), raw.slice(i + 1)];
    }
    return ["", raw];
  }
  return ["", raw];
}

/** Go's url.Parse. Throws an Error with Go's reason when Go would return an error. */
export function parseGoUrl(raw: string): GoUrl {
  const hash = raw.indexOf("#");
  const fragment = hash >= 0 ? raw.slice(hash + 1) : "";
  const u0 = hash >= 0 ? raw.slice(0, hash) : raw;
  if (/[\x00-\x1f\x7f]/.test(u0)) throw new Error("net/url: invalid control character in URL");
  const url: GoUrl = { scheme: "", opaque: "", user: null, host: "", path: "", rawQuery: "", forceQuery: false, fragment };
  if (u0 === "*") return { ...url, path: "*" };
  let [scheme, rest] = getScheme(u0);
  url.scheme = scheme.toLowerCase();
  if (rest.endsWith("?") && rest.split("?").length === 2) {
    url.forceQuery = true;
    rest = rest.slice(0, -1);
  } else {
    const q = rest.indexOf("?");
    if (q >= 0) {
      url.rawQuery = rest.slice(q + 1);
      rest = rest.slice(0, q);
    }
  }
  if (!rest.startsWith("/")) {
    if (url.scheme !== "") return { ...url, opaque: rest };
    if (rest.split("/")[0]!.includes(":")) throw new Error("first path segment in URL cannot contain colon");
  }
  if ((url.scheme !== "" || !rest.startsWith("///")) && rest.startsWith("//")) {
    let authority = rest.slice(2);
    rest = "";
    const slash = authority.indexOf("/");
    if (slash >= 0) {
      rest = authority.slice(slash);
      authority = authority.slice(0, slash);
    }
    const at = authority.lastIndexOf("@");
    url.host = parseHost(at < 0 ? authority : authority.slice(at + 1));
    if (at >= 0) {
      const info = authority.slice(0, at);
      if (!/^[A-Za-z0-9\-._:~!$&'()*+,;=%@]*$/.test(info)) throw new Error("net/url: invalid userinfo");
      const colon = info.indexOf(":");
      url.user =
        colon < 0
          ? { username: goUnescape(info, "userinfo"), password: null }
          : { username: goUnescape(info.slice(0, colon), "userinfo"), password: goUnescape(info.slice(colon + 1), "userinfo") };
    }
  }
  url.path = goUnescape(rest, "path");
  return url;
}

/** Go's URL.String(). `withUser: false` drops the userinfo (for display and ProxyRoute.url). */
export function goUrlString(u: GoUrl, withUser = true): string {
  let out = u.scheme ? `${u.scheme}:` : "";
  if (u.opaque) out += u.opaque;
  else {
    const user = withUser ? u.user : null;
    if (u.scheme || u.host || user) {
      if (u.host || u.path || user) out += "//";
      if (user)
        out += `${goEscape(user.username, "userinfo") + (user.password !== null ? `:${goEscape(user.password, "userinfo")}` : "")}@`;
      if (u.host) out += goEscape(u.host, "host");
    }
    const path = goEscape(u.path, "path");
    if (path && !path.startsWith("/") && u.host) out += "/";
    out += path;
  }
  if (u.forceQuery || u.rawQuery) out += `?${u.rawQuery}`;
  if (u.fragment) out += `#${u.fragment}`;
  return out;
}

/** URL.Hostname() and URL.Port(): brackets removed, port only when valid. */
export function goHostPort(u: GoUrl): { hostname: string; port: string } {
  let host = u.host;
  let port = "";
  const colon = host.lastIndexOf(":");
  if (colon >= 0 && validOptionalPort(host.slice(colon))) {
    port = host.slice(colon + 1);
    host = host.slice(0, colon);
  }
  if (host.startsWith("[") && host.endsWith("]")) host = host.slice(1, -1);
  return { hostname: host, port };
}
