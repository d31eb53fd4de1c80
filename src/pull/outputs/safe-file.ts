import { randomBytes } from "node:crypto";
import { closeSync, constants, fchmodSync, openSync, renameSync, rmSync, writeSync } from "node:fs";
import path from "node:path";

/**
 * Files the tool writes never follow a symlink planted where they go:
 * - a temp file gets an unpredictable name beside its destination and is opened
 *   O_CREAT|O_EXCL|O_NOFOLLOW, so anything already at that name makes open fail instead of
 *   being written through;
 * - its mode is set on the descriptor (the umask neither widens nor narrows it);
 * - rename(2) then replaces the destination entry itself: a symlink at the destination is
 *   replaced by our file, its target never opened; a reader never sees half a file.
 */
const EXCLUSIVE = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Create a new file with an unpredictable name beside `target`; returns its descriptor and path. */
export function createExclusiveBeside(target: string, mode: number): { fd: number; tmp: string } {
  const abs = path.resolve(target);
  for (let attempt = 0; ; attempt++) {
    const tmp = path.join(path.dirname(abs), `.${path.basename(abs)}.${randomBytes(8).toString("hex")}.pulldoctor-tmp`);
    try {
      const fd = openSync(tmp, EXCLUSIVE, mode);
      fchmodSync(fd, mode);
      return { fd, tmp };
    } catch (e) {
      if ((e as { code?: string }).code === "EEXIST" && attempt < 8) continue;
      throw e;
    }
  }
}

/** Write all bytes to a descriptor (writeSync may write less than asked). */
export function writeAllSync(fd: number, bytes: Uint8Array): void {
  for (let off = 0; off < bytes.length; ) off += writeSync(fd, bytes, off, bytes.length - off);
}

/**
 * Write `data` to `file` atomically with exactly `mode`, replacing (never following) a symlink
 * there. The temp file goes beside `tempBeside` (default: `file`), e.g. the store's ingest dir.
 */
export function writeFileAtomic(file: string, data: string | Uint8Array, mode: number, tempBeside = file): void {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const { fd, tmp } = createExclusiveBeside(tempBeside, mode);
  try {
    writeAllSync(fd, bytes);
  } catch (e) {
    abandon(fd, tmp);
    throw e;
  }
  commit(fd, tmp, file);
}

/** The same for content produced as it is written (an archive streamed chunk by chunk). */
export async function writeFileAtomicWith<T>(file: string, mode: number, write: (fd: number) => Promise<T>): Promise<T> {
  const { fd, tmp } = createExclusiveBeside(file, mode);
  let out: T;
  try {
    out = await write(fd);
  } catch (e) {
    abandon(fd, tmp);
    throw e;
  }
  commit(fd, tmp, file);
  return out;
}

function commit(fd: number, tmp: string, file: string): void {
  try {
    closeSync(fd);
    renameSync(tmp, path.resolve(file));
  } catch (e) {
    rmSync(tmp, { force: true });
    throw e;
  }
}

function abandon(fd: number, tmp: string): void {
  try {
    closeSync(fd);
  } catch {}
  rmSync(tmp, { force: true });
}
