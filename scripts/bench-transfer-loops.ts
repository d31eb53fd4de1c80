/**
 * The receive loops compared by scripts/bench-transfer.ts. Each one is split the way
 * src/pull/blob-worker.ts splits a transfer: `open` sends the GET and resolves with the
 * status and headers; `toFile` then streams the body into a file while hashing it. So a
 * loop that wins here can take the Worker's place without changing its contract with
 * lanes.ts (head first, then consume; progress totals; "too-long" when the body exceeds
 * the descriptor's size; a cut reported with how many bytes arrived). The fetch loops are
 * here, the raw HTTP/1.1 ones in bench-transfer-raw.ts.
 */
import { closeSync, openSync, readSync, writeSync } from "node:fs";
import { bunConnect, nodeNet, rawLoop } from "./bench-transfer-raw";

export interface Head {
  status: number;
  headers: Record<string, string>;
}
export interface Done {
  total: number;
  digest: string;
  chunks: number;
}
export interface Opened {
  head: Head;
  toFile(path: string, size: number, onProgress: (total: number) => void): Promise<Done>;
  cancel(): void;
}
export type Loop = (url: string, headers: Record<string, string>) => Promise<Opened>;

/** What fetch-blob.ts passes to the Worker for a blob GET (requestInit). */
const INIT: BunFetchRequestInit = { method: "GET", redirect: "manual", decompress: false };
/** The benchmark's https registry has a self-signed certificate (bench-transfer.ts --tls). */
const init = (url: string, headers: Record<string, string>): BunFetchRequestInit => ({
  ...INIT,
  headers,
  ...(url.startsWith("https:") ? { tls: { rejectUnauthorized: false } } : {}),
});

export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
export const tooLong = () => Object.assign(new Error("too long"), { kind: "too-long" });
const headOf = (res: Response): Head => {
  const headers: Record<string, string> = {};
  res.headers.forEach((v, k) => (headers[k] = v));
  return { status: res.status, headers };
};

/**
 * Which halves of the work a loop does: both for the candidates; one or none for the
 * decomposition runs (receive only, receive + hash, receive + write).
 */
export interface Parts {
  write: boolean;
  hash: boolean;
}
export const BOTH: Parts = { write: true, hash: true };

/** A: today's loop (blob-worker.ts consume): fetch, a reader, writeSync of each chunk, then hash it. */
const fetchWriteSync =
  (parts: Parts): Loop =>
  async (url, headers) => {
    const res = await fetch(url, init(url, headers));
    return {
      head: headOf(res),
      cancel: () => void res.body?.cancel().catch(() => {}),
      async toFile(path, size, onProgress) {
        const hasher = new Bun.CryptoHasher("sha256");
        const fd = parts.write ? openSync(path, "w") : -1;
        let total = 0;
        let chunks = 0;
        try {
          const reader = res.body!.getReader();
          for (;;) {
            const c = await reader.read();
            if (c.done) break;
            const buf = c.value;
            if (total + buf.length > size) throw (void reader.cancel().catch(() => {}), tooLong());
            if (parts.write) writeAll(fd, buf);
            if (parts.hash) hasher.update(buf);
            total += buf.length;
            chunks++;
            onProgress(total);
          }
        } catch (e) {
          throw Object.assign(e as Error, { total });
        } finally {
          if (fd >= 0) closeSync(fd);
        }
        return { total, digest: hasher.digest("hex"), chunks };
      },
    };
  };

/** B: the same with Bun's FileSink (Bun.file().writer()) instead of writeSync. */
const fetchFileSink: Loop = async (url, headers) => {
  const res = await fetch(url, init(url, headers));
  return {
    head: headOf(res),
    cancel: () => void res.body?.cancel().catch(() => {}),
    async toFile(path, size, onProgress) {
      const hasher = new Bun.CryptoHasher("sha256");
      const sink = Bun.file(path).writer({ highWaterMark: 1 << 20 });
      let total = 0;
      let chunks = 0;
      const reader = res.body!.getReader();
      for (;;) {
        const c = await reader.read();
        if (c.done) break;
        const buf = c.value;
        if (total + buf.length > size) throw (void reader.cancel().catch(() => {}), tooLong());
        sink.write(buf);
        hasher.update(buf);
        total += buf.length;
        chunks++;
        onProgress(total);
      }
      await sink.end();
      return { total, digest: hasher.digest("hex"), chunks };
    },
  };
};

/**
 * E (whole-body native write): Bun.write(path, response) moves the body to the file in
 * native code with no JS per chunk; the file is hashed afterwards from the page cache.
 * No progress while it runs and no size check until the end.
 */
const fetchBunWrite: Loop = async (url, headers) => {
  const res = await fetch(url, init(url, headers));
  return {
    head: headOf(res),
    cancel: () => void res.body?.cancel().catch(() => {}),
    async toFile(path, size, onProgress) {
      const total = await Bun.write(path, res);
      if (total > size) throw tooLong();
      onProgress(total);
      const hasher = new Bun.CryptoHasher("sha256");
      const fd = openSync(path, "r");
      const buf = Buffer.allocUnsafe(1 << 20);
      let chunks = 0;
      try {
        for (let off = 0; off < total; chunks++) {
          const n = readSync(fd, buf, 0, buf.length, off);
          if (n <= 0) throw new Error("short read");
          hasher.update(buf.subarray(0, n));
          off += n;
        }
      } finally {
        closeSync(fd);
      }
      return { total, digest: hasher.digest("hex"), chunks };
    },
  };
};

export const LOOPS: Record<string, Loop> = {
  "fetch-writesync": fetchWriteSync(BOTH),
  "fetch-recv": fetchWriteSync({ write: false, hash: false }),
  "fetch-recv-hash": fetchWriteSync({ write: false, hash: true }),
  "fetch-recv-write": fetchWriteSync({ write: true, hash: false }),
  "raw-recv": rawLoop(bunConnect, { write: false, hash: false }),
  "raw-recv-hash": rawLoop(bunConnect, { write: false, hash: true }),
  "raw-recv-write": rawLoop(bunConnect, { write: true, hash: false }),
  "fetch-filesink": fetchFileSink,
  "fetch-bunwrite": fetchBunWrite,
  "raw-bunconnect": rawLoop(bunConnect),
  "raw-nodenet": rawLoop(nodeNet),
};
