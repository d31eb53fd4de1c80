/**
 * The existing tags closest to a missing one, for MANIFEST_UNKNOWN ("did you mean …?").
 * Ranked by Levenshtein distance, with a bonus for sharing a prefix (a version typo such as
 * 1.25.3 → 1.25.4 or a missing suffix such as 3.19 → 3.19-alpine). Only tags within a
 * distance of about half the wanted tag's length are offered, so "nope" suggests nothing
 * silly from a list of versions unless nothing better exists.
 */
export function editDistance(a: string, b: string): number {
  const prev = new Array<number>(b.length + 1);
  for (let j = 0; j <= b.length; j++) prev[j] = j;
  for (let i = 1; i <= a.length; i++) {
    let diag = prev[0]!;
    prev[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const tmp = prev[j]!;
      prev[j] = Math.min(prev[j]! + 1, prev[j - 1]! + 1, diag + (a[i - 1] === b[j - 1] ? 0 : 1));
      diag = tmp;
    }
  }
  return prev[b.length]!;
}

function commonPrefix(a: string, b: string): number {
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  return i;
}

/** At the first difference, how far apart the numbers are there (1.2 is nearer 1.1 than 1.0). */
function numericGap(a: string, b: string, at: number): number {
  const start = (s: string) => {
    let i = at;
    while (i > 0 && /\d/.test(s[i - 1]!)) i--;
    return i;
  };
  const num = (s: string) => /^\d+/.exec(s.slice(start(s)))?.[0];
  const x = num(a);
  const y = num(b);
  return x !== undefined && y !== undefined ? Math.abs(Number(x) - Number(y)) : Number.POSITIVE_INFINITY;
}

export function closestTags(wanted: string, tags: readonly string[], max = 5): string[] {
  const w = wanted.toLowerCase();
  const scored = tags.map((t) => {
    const l = t.toLowerCase();
    const d = editDistance(w, l);
    const p = commonPrefix(w, l);
    const contains = l.includes(w) || (w.length >= 2 && w.includes(l));
    const base = d - Math.min(p, 3) * 0.5 - (contains ? 1 : 0);
    // A variant of the wanted tag (3.19 → 3.19-alpine) ranks with one-character typos.
    return { t, d, p, contains, gap: numericGap(w, l, p), score: l.startsWith(w) ? Math.min(base, 0) : base };
  });
  const limit = Math.max(2, Math.ceil(w.length / 2));
  return scored
    .filter((s) => s.d <= limit || s.p >= 2 || s.contains)
    .sort((a, b) => a.score - b.score || b.p - a.p || a.gap - b.gap || a.t.localeCompare(b.t))
    .slice(0, max)
    .map((s) => s.t);
}

/** The numbers a version tag starts with (v1.2.3, 3.19-alpine, 20240101), or null for a name (latest, edge). */
function versionKey(tag: string): number[] | null {
  const m = /^v?(\d+(?:\.\d+)*)/i.exec(tag);
  return m ? m[1]!.split(".").map(Number) : null;
}

/**
 * Newest first by version order: version tags by their numbers (1.10 after 1.9, 1.2.1 after
 * 1.2), the plain tag before its variants (1.25 before 1.25-alpine); then names, by name.
 */
export function newestFirst(a: string, b: string): number {
  const ka = versionKey(a);
  const kb = versionKey(b);
  if (ka && !kb) return -1;
  if (!ka && kb) return 1;
  if (ka && kb) {
    for (let i = 0; i < Math.max(ka.length, kb.length); i++) {
      const d = (kb[i] ?? -1) - (ka[i] ?? -1);
      if (d !== 0) return d;
    }
    if (a.length !== b.length) return a.length - b.length;
  }
  return a.localeCompare(b);
}

/** The tags a MANIFEST_UNKNOWN names: all of them when there are `max` or fewer, else the newest `max`. */
export function tagsToName(tags: readonly string[], max = 10): string[] {
  return [...tags].sort(newestFirst).slice(0, max);
}
