/**
 * The header lines of an HTTP/1.1 head as one map: names lower-cased, a repeated field
 * joined with ", " (RFC 9110 §5.3, as Go's Header.Values would be read), lines without a
 * name skipped. Shared by the CONNECT reply reader and the lab's request reader.
 */
export function parseHeaderLines(lines: readonly string[]): Record<string, string> {
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const i = line.indexOf(":");
    if (i <= 0) continue;
    const k = line.slice(0, i).trim().toLowerCase();
    const v = line.slice(i + 1).trim();
    headers[k] = headers[k] ? `${headers[k]}, ${v}` : v;
  }
  return headers;
}
