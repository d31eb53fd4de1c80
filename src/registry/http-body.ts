import type { NetError } from "./http-errors";

/* The response body helpers of http.ts (the undici client). */

/** A body read up to `max` bytes; beyond it the rest is left unread and `truncated` is set. */
export async function readCapped(body: AsyncIterable<Uint8Array>, max: number): Promise<{ body: Buffer; truncated: boolean }> {
  const chunks: Uint8Array[] = [];
  let size = 0;
  for await (const chunk of body) {
    const room = max - size;
    if (chunk.length > room) {
      if (room > 0) chunks.push(chunk.subarray(0, room));
      return { body: Buffer.concat(chunks), truncated: true };
    }
    chunks.push(chunk);
    size += chunk.length;
  }
  return { body: Buffer.concat(chunks), truncated: false };
}

/**
 * undici's body as a web stream whose errors are NetErrors. A reader that cancels (the blob
 * probe stops after its range) aborts a pull in flight: that is our own doing, not a failed
 * request, so it must not be traced as one (--verbose showed a second "GET … Request aborted"
 * for every probed blob).
 */
export function bodyStream(
  raw: AsyncIterable<Uint8Array> & { destroy(): unknown },
  fail: (e: unknown) => NetError,
): ReadableStream<Uint8Array> {
  const it = raw[Symbol.asyncIterator]();
  let cancelled = false;
  return new ReadableStream<Uint8Array>({
    async pull(ctl) {
      try {
        const r = await it.next();
        if (r.done) ctl.close();
        else ctl.enqueue(r.value instanceof Uint8Array ? r.value : new Uint8Array(r.value));
      } catch (e) {
        if (cancelled) return;
        ctl.error(fail(e));
      }
    },
    cancel() {
      cancelled = true;
      raw.destroy();
    },
  });
}
