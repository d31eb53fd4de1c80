import type { AuthChallenge, Challenge } from "../model/facts";

/**
 * WWW-Authenticate parsing exactly as the docker/distribution client vendored by Docker
 * (registry/client/auth/challenge/authchallenge.go, identical in distribution v3 and
 * go-containerregistry): one challenge per header LINE (a second challenge after a comma
 * on the same line is lost), scheme and keys lower-cased, values a token or a quoted string
 * with backslash escapes, and parsing of a line stops silently at the first malformed or
 * empty value, keeping what was parsed so far. It works on bytes, like Go.
 */

// RFC 2616 token characters: ASCII, no control characters, no separators.
const SEPARATORS = ' \t"(),/:;<=>?@[]\\{}';
const isToken = (b: number): boolean => b > 31 && b < 127 && !SEPARATORS.includes(String.fromCharCode(b));
const isSpace = (b: number): boolean => b === 0x20 || b === 0x09 || b === 0x0d || b === 0x0a;

const enc = new TextEncoder();
const dec = new TextDecoder();

class Cursor {
  constructor(
    readonly s: Uint8Array,
    public i = 0,
  ) {}
  skipSpace(): void {
    while (this.i < this.s.length && isSpace(this.s[this.i]!)) this.i++;
  }
  token(): string {
    const start = this.i;
    while (this.i < this.s.length && isToken(this.s[this.i]!)) this.i++;
    return dec.decode(this.s.subarray(start, this.i));
  }
  peek(ch: string): boolean {
    return this.i < this.s.length && this.s[this.i] === ch.charCodeAt(0);
  }
  /** A token or a quoted string; "" when malformed (unterminated quote) or empty. */
  tokenOrQuoted(): string {
    if (!this.peek('"')) return this.token();
    const out: number[] = [];
    let escaped = false;
    for (let j = this.i + 1; j < this.s.length; j++) {
      const b = this.s[j]!;
      if (escaped) {
        escaped = false;
        out.push(b);
      } else if (b === 0x5c) {
        escaped = true;
      } else if (b === 0x22) {
        this.i = j + 1;
        return dec.decode(new Uint8Array(out));
      } else {
        out.push(b);
      }
    }
    this.i = this.s.length;
    return "";
  }
}

/** One header line → its challenge, or null when no scheme token starts the line. */
export function parseChallengeLine(line: string): AuthChallenge | null {
  const c = new Cursor(enc.encode(line));
  const scheme = c.token();
  if (!scheme) return null;
  const params: Record<string, string> = {};
  c.skipSpace();
  // Go prepends "," to the rest and loops while it starts with ",".
  let first = true;
  while (first || c.peek(",")) {
    if (!first) c.i++;
    first = false;
    c.skipSpace();
    const key = c.token();
    if (!key || !c.peek("=")) break;
    c.i++;
    const value = c.tokenOrQuoted();
    if (!value) break;
    // defineProperty, not assignment: `__proto__="x"` is a parameter like any other (an
    // assignment would hit Object.prototype's setter and drop it).
    Object.defineProperty(params, key.toLowerCase(), { value, enumerable: true, writable: true, configurable: true });
    c.skipSpace();
  }
  return { scheme: scheme.toLowerCase(), params };
}

/** Every WWW-Authenticate line of a response, in order (lines without a scheme are dropped). */
export function parseChallenges(lines: readonly string[]): AuthChallenge[] {
  const out: AuthChallenge[] = [];
  for (const l of lines) {
    const ch = parseChallengeLine(l);
    if (ch) out.push(ch);
  }
  return out;
}

/**
 * The challenge a Docker client acts on. Docker registers the token handler before the basic
 * handler (distribution/registry/client/auth.NewAuthorizer), so bearer wins over basic
 * whatever the header order; any other scheme is never answered.
 */
export function chooseChallenge(challenges: readonly AuthChallenge[]): AuthChallenge | null {
  return challenges.find((c) => c.scheme === "bearer") ?? challenges.find((c) => c.scheme === "basic") ?? null;
}

/** Why a 401's challenges cannot be answered, or null when the chosen one is usable. */
export function challengeProblem(challenges: readonly AuthChallenge[], chosen: AuthChallenge | null): string | null {
  if (challenges.length === 0) return "the 401 carries no WWW-Authenticate challenge that parses (no scheme token)";
  if (!chosen) return `no Bearer or Basic challenge (got ${challenges.map((c) => c.scheme).join(", ")}); Docker answers only those two`;
  if (chosen.scheme === "bearer") {
    const realm = chosen.params.realm;
    if (!realm) return "the Bearer challenge has no realm (the token server URL), or its value did not parse";
    let u: URL;
    try {
      u = new URL(realm);
    } catch {
      return `the Bearer realm "${realm}" is not an absolute URL`;
    }
    if (u.protocol !== "https:" && u.protocol !== "http:") return `the Bearer realm "${realm}" is not an http(s) URL`;
  }
  return null;
}

/**
 * The challenge fact as the v2 stage provides it: the SPEC's Challenge plus the raw header
 * lines and the registry's Date (for clock-skew checks). Extra fields are a compatible extension.
 */
export interface ProbedChallenge extends Challenge {
  raw: string[];
  date: string | null;
  url: string;
}

export function isProbedChallenge(c: Challenge): c is ProbedChallenge {
  return Array.isArray((c as ProbedChallenge).raw);
}

/** WWW-Authenticate lines of a response's raw header list. */
export function challengeLines(rawHeaders: readonly [string, string][]): string[] {
  return rawHeaders.filter(([k]) => k.toLowerCase() === "www-authenticate").map(([, v]) => v);
}
