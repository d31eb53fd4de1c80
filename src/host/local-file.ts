import { closeSync, constants, fstatSync, openSync, readSync } from "node:fs";

/**
 * Reading a local config file (config.json, daemon.json, a systemd drop-in) without ever
 * blocking or reading forever. Docker reads these with a plain open + read-all: a named pipe
 * planted at ~/.docker/config.json blocks it (and blocked the doctor), /dev/zero never ends.
 * The doctor opens without blocking, reads regular files up to a limit far above any real
 * config, and reports anything else as a read problem instead of waiting.
 */

/** No real config.json or daemon.json comes near this (as large as a manifest may be); Docker itself has no limit. */
export const MAX_LOCAL_CONFIG_BYTES = 4 * 1024 * 1024;

export type LocalRead =
  | { ok: true; bytes: Uint8Array }
  /** open/read failed: the errno as Node gives it (ENOENT, EACCES, EISDIR, ENOTDIR…). */
  | { ok: false; error: NodeJS.ErrnoException }
  /** Not read on purpose: why, in words that follow "read PATH: ". */
  | { ok: false; refused: string };

export function readLocalFile(file: string, maxBytes = MAX_LOCAL_CONFIG_BYTES): LocalRead {
  let fd: number;
  try {
    // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer.
    fd = openSync(file, constants.O_RDONLY | constants.O_NONBLOCK);
  } catch (e) {
    return { ok: false, error: e as NodeJS.ErrnoException };
  }
  try {
    const st = fstatSync(fd);
    if (st.isDirectory())
      return { ok: false, error: Object.assign(new Error(`EISDIR: illegal operation on a directory, read`), { code: "EISDIR" }) };
    if (st.isFIFO() || st.isSocket())
      return { ok: false, refused: `not a regular file (a ${st.isFIFO() ? "named pipe" : "socket"}): Docker would block reading it` };
    if (st.isFile() && st.size > maxBytes) return { ok: false, refused: tooLarge(st.size, maxBytes) };
    // A device is probed with one byte: /dev/null reads as empty (as for Docker), /dev/zero is refused.
    const r = readUpTo(fd, st.isFile() ? maxBytes + 1 : 1);
    if ("error" in r) return { ok: false, error: r.error };
    if (!st.isFile() && r.bytes.length > 0)
      return { ok: false, refused: "not a regular file (a device that keeps giving bytes): Docker would read it forever" };
    if (r.bytes.length > maxBytes) return { ok: false, refused: tooLarge(r.bytes.length, maxBytes, "at least ") };
    return { ok: true, bytes: r.bytes };
  } finally {
    closeSync(fd);
  }
}

function tooLarge(size: number, max: number, prefix = ""): string {
  return `${prefix}${size} bytes, over pulldoctor's ${max / (1024 * 1024)} MiB limit for a config file (Docker reads it all)`;
}

function readUpTo(fd: number, limit: number): { bytes: Uint8Array } | { error: NodeJS.ErrnoException } {
  const chunks: Buffer[] = [];
  let total = 0;
  while (total < limit) {
    const buf = Buffer.alloc(Math.min(64 * 1024, limit - total));
    let n: number;
    try {
      n = readSync(fd, buf, 0, buf.length, null);
    } catch (e) {
      const err = e as NodeJS.ErrnoException;
      // A device with nothing to give right now (a terminal): nothing more to read.
      if (err.code === "EAGAIN") break;
      return { error: err };
    }
    if (n === 0) break;
    chunks.push(buf.subarray(0, n));
    total += n;
  }
  return { bytes: new Uint8Array(Buffer.concat(chunks)) };
}
