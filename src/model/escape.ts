/**
 * Text from a response body (an error message, a page title, a tag, a platform name) with the
 * characters a terminal acts on shown escaped: C0 controls but tab and newline, DEL, and the C1
 * range (CSI). A hostile registry cannot clear a screen or recolour a ticket through it.
 */
const UNSAFE = /[\x00-\x08\x0b-\x1f\x7f-\x9f]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g;

export function escapeControls(s: string): string {
  UNSAFE.lastIndex = 0;
  if (!UNSAFE.test(s)) return s;
  // A lone surrogate (JSON's "\ud800") is no character at all: it is shown as its escape too.
  return s.replace(UNSAFE, (c) => {
    const n = c.charCodeAt(0);
    return n > 0xff ? `\\u${n.toString(16)}` : `\\x${n.toString(16).padStart(2, "0")}`;
  });
}
