/**
 * A password, token or helper secret. It cannot leak by accident: JSON.stringify,
 * String() and util.inspect all give "<redacted>". Only the HTTP layer calls reveal().
 * Every Secret ever made is remembered so the final scrub of reports and --verbose
 * output can replace its value wherever it was copied as a plain string.
 */
export const REDACTED = "<redacted>";

const known = new Set<string>();

export class Secret {
  readonly #value: string;
  constructor(value: string) {
    this.#value = value;
    remember(value);
  }
  reveal(): string {
    return this.#value;
  }
  get empty(): boolean {
    return this.#value.length === 0;
  }
  toJSON(): string {
    return REDACTED;
  }
  toString(): string {
    return REDACTED;
  }
  [Symbol.for("nodejs.util.inspect.custom")](): string {
    return REDACTED;
  }
}

/** Every secret value seen in this process (for the final scrub). */
export function knownSecretValues(): string[] {
  return [...known].sort((a, b) => b.length - a.length);
}

/** Whether any secret value was seen (the scrub has work to do). */
export function hasKnownSecrets(): boolean {
  return known.size > 0;
}

/** Register a value that is secret but never wrapped (e.g. a token inside a URL). */
export function rememberSecret(value: string): void {
  remember(value);
}

/**
 * Values shorter than six characters are not scrubbed from free text: a password such as
 * "test" would otherwise erase that word from every report. They still never appear where
 * they are held (a Secret prints as "<redacted>"), and Authorization values are redacted by
 * header name; the scrub is the last line of defence, not the first.
 */
function remember(value: string): void {
  if (value.length < 6) return;
  known.add(value);
  // The forms a value travels in, so a server echoing one back is scrubbed too: the
  // credential part of an Authorization value ("Basic <base64>", "Bearer <token>"),
  // URL-encoded (a proxy URL, a query) and form-encoded (an OAuth POST body).
  const auth = /^(?:Basic|Bearer)\s+(\S{6,})$/i.exec(value);
  if (auth) known.add(auth[1]!);
  for (const form of [encodeURIComponent(value), new URLSearchParams({ v: value }).toString().slice(2)])
    if (form !== value) known.add(form);
}
