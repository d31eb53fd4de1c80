import { randomBytes } from "node:crypto";
import { closeSync, copyFileSync, linkSync, lstatSync, openSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";

/**
 * One writer per partial across processes: `<partial>.lock` holds the owner's token
 * ("pid:random"). A token, not a bare pid, tells two pulls of one process apart and
 * survives pid reuse; the owner checks it before each attempt and before it commits, so a
 * pull that was paused (Ctrl-Z, a suspended VM or CI job) while another took over notices
 * that it lost the blob instead of writing or renaming what is no longer its own.
 */
export class LostOwnership extends Error {
  constructor(digest: string) {
    super(`another pulldoctor took over ${digest} while this one was paused or stalled`);
  }
}

export function newToken(): string {
  return `${process.pid}:${randomBytes(8).toString("hex")}`;
}

export function readToken(lock: string): string {
  try {
    return readFileSync(lock, "utf8").trim();
  } catch {
    return "";
  }
}

/** Older pulldoctors wrote the bare pid; both forms start with it. */
function ownerPid(token: string): number {
  return Number(token.split(":")[0]) || 0;
}

/** A lock file that appears with its content (a reader never sees it empty): written aside, then linked into place. */
function createLock(lock: string, token: string): boolean {
  const tmp = `${lock}.${randomBytes(6).toString("hex")}.tmp`;
  writeFileSync(tmp, token, { flag: "wx", mode: 0o600 });
  try {
    linkSync(tmp, lock);
    return true;
  } catch (e) {
    if ((e as { code?: string }).code === "EEXIST") return false;
    throw e;
  } finally {
    rmSync(tmp, { force: true });
  }
}

/** A takeover lasts microseconds; a marker older than this was left by a process that died in it. */
const TAKEOVER_STALE_MS = 10_000;

/** Takeovers one at a time: two waiters of one dead owner must not both believe they won. */
function takeoverMutex(lock: string): (() => void) | null {
  const marker = `${lock}.takeover`;
  for (let i = 0; i < 2; i++) {
    try {
      closeSync(openSync(marker, "wx", 0o600));
      return () => rmSync(marker, { force: true });
    } catch (e) {
      if ((e as { code?: string }).code !== "EEXIST") throw e;
      const st = lstatOrNull(marker);
      if (st && Date.now() - st.mtimeMs < TAKEOVER_STALE_MS) return null;
      rmSync(marker, { force: true });
    }
  }
  return null;
}

/**
 * The new owner's partial is a new file: the bytes so far are copied and the copy renamed over
 * the partial's name. A previous owner that resumes still holds the old file open; whatever
 * it writes then goes to that orphan, never into the file this owner hashes and commits.
 */
function detach(partial: string): void {
  if (!lstatOrNull(partial)?.isFile()) return;
  const tmp = `${partial}.${randomBytes(6).toString("hex")}.detach`;
  try {
    copyFileSync(partial, tmp);
    renameSync(tmp, partial);
  } catch (e) {
    rmSync(tmp, { force: true });
    // The partial went away meanwhile (its owner committed it): nothing to detach.
    if ((e as { code?: string }).code !== "ENOENT") throw e;
  }
}

/**
 * Take the lock with `token`, or say who holds it. A holder whose process is gone is stale;
 * `force` (its partial stopped growing for the idle timeout: it hangs or is paused) takes
 * over a live one. Owner -1: the lock is being taken over by someone else right now.
 */
export function acquireLock(lock: string, partial: string, token: string, force: boolean): { token: string } | { owner: number } {
  if (createLock(lock, token)) return { token };
  const held = readToken(lock);
  const owner = ownerPid(held);
  if (held === token) return { token };
  if (!force && owner > 0 && alive(owner)) return { owner };
  const done = takeoverMutex(lock);
  if (!done) return { owner: -1 };
  try {
    // Changed since it was read: another waiter took over first; look again at the next poll.
    if (readToken(lock) !== held) return { owner: ownerPid(readToken(lock)) || -1 };
    detach(partial);
    const tmp = `${lock}.${randomBytes(6).toString("hex")}.tmp`;
    writeFileSync(tmp, token, { flag: "wx", mode: 0o600 });
    renameSync(tmp, lock);
    return { token };
  } finally {
    done();
  }
}

function lstatOrNull(p: string): import("node:fs").Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
  // A killed process its parent has not reaped yet still answers kill(0): a zombie writes nothing.
  let stat = "";
  try {
    stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  } catch {}
  return !/^\d+ \(.*\) Z/s.test(stat);
}
