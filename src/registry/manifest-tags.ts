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
