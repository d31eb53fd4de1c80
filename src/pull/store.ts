import {
  closeSync,
  constants,
  fchmodSync,
  fstatSync,
  lstatSync,
  mkdirSync,
  openSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeSync,
} from "node:fs";
import path from "node:path";
import type { Deps } from "../model/deps";
import type { Descriptor } from "../model/facts";
import { writeFileAtomic } from "./outputs/safe-file";
import { parseDigest } from "./verify";

/**
 * The store holds image content pulled with the user's credentials (possibly private): its
 * directories are created owner-only, so no other user can read blobs or plant a symlink
 * where a partial is about to be written.
 */
export const STORE_DIR_MODE = 0o700;

/**
 * Where blobs live between pulls. Like containerd's content store (blobs by digest,
 * `ingest/` partials beside them) but in the user's cache: a re-run reuses whole blobs
 * and resumes partials with Range. PULLDOCTOR_STORE overrides (tests, air-gapped hosts
 * that want the store on a bigger disk).
 */
export function defaultStoreDir(deps: Deps): string {
  const env = deps.env;
  if (env.PULLDOCTOR_STORE) return env.PULLDOCTOR_STORE;
  const cache = env.XDG_CACHE_HOME && path.isAbsolute(env.XDG_CACHE_HOME) ? env.XDG_CACHE_HOME : path.join(deps.homeDir, ".cache");
  return path.join(cache, "pulldoctor", "blobs");
}

export class BlobStore {
  constructor(readonly root: string) {}

  /** Final location of a verified blob: <root>/<algorithm>/<hex>. */
  blobPath(digest: string): string {
    const d = parseDigest(digest);
    if (!d) throw new Error(`invalid digest ${JSON.stringify(digest)}`);
    return path.join(this.root, d.algorithm, d.hex);
  }

  /** Bytes received so far for a blob not yet verified. */
  partialPath(digest: string): string {
    const d = parseDigest(digest);
    if (!d) throw new Error(`invalid digest ${JSON.stringify(digest)}`);
    return path.join(this.root, "ingest", `${d.algorithm}-${d.hex}.partial`);
  }

  ensure(): void {
    // mkdir's mode applies to every directory it creates (the umask may narrow it further);
    // directories that already exist keep theirs (PULLDOCTOR_STORE may be shared on purpose).
    for (const sub of ["sha256", "sha512", "ingest"]) mkdirSync(path.join(this.root, sub), { recursive: true, mode: STORE_DIR_MODE });
  }

  /**
   * A blob is reused only when its file has the descriptor's size. Its digest was
   * verified before it was renamed into place, and nothing else writes there.
   */
  has(d: Descriptor): boolean {
    // lstat: a symlink planted at a blob's path is not a verified blob (an oci: output would hard-link the link).
    const st = lstatOrNull(this.blobPath(d.digest));
    return st?.isFile() === true && st.size === d.size;
  }

  /**
   * Bytes already received for a blob; the writer opens the partial right after asking. Anything
   * at the partial's path that is not a regular file (a planted symlink, a FIFO, a directory) is
   * removed first, so the writer creates a fresh file instead of writing through it.
   */
  partialSize(digest: string): number {
    const p = this.partialPath(digest);
    const st = lstatOrNull(p);
    if (st === null) return 0;
    if (!st.isFile()) {
      rmSync(p, { recursive: st.isDirectory(), force: true });
      return 0;
    }
    return st.size;
  }

  /** Move a verified partial into place (same directory tree ⇒ atomic rename). */
  commit(digest: string): void {
    const p = this.partialPath(digest);
    // O_NOFOLLOW: never chmod or rename a link; only the regular file we wrote becomes a blob.
    const fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW);
    try {
      if (!fstatSync(fd).isFile()) throw new Error(`${p} is not a regular file; not committing it to the store`);
      // Read-only: content-addressed files never change, and an oci: output hard-links them.
      fchmodSync(fd, 0o444);
    } finally {
      closeSync(fd);
    }
    renameSync(p, this.blobPath(digest));
  }

  discardPartial(digest: string): void {
    rmSync(this.partialPath(digest), { force: true });
  }

  /**
   * One writer per partial across processes (two pulls of images sharing a layer): an
   * O_EXCL lock file holding the owner's pid. A lock whose process is gone is stale and
   * taken over. Returns a release function, or the live owner's pid.
   */
  tryLock(digest: string, force = false): { release: () => void } | { owner: number } {
    const lock = `${this.partialPath(digest)}.lock`;
    for (let i = 0; i < 3; i++) {
      try {
        const fd = openSync(lock, "wx");
        writeSync(fd, String(process.pid));
        closeSync(fd);
        return { release: () => rmSync(lock, { force: true }) };
      } catch (e) {
        if ((e as { code?: string }).code !== "EEXIST") throw e;
      }
      const owner = Number(readText(lock).trim());
      if (!force && owner > 0 && owner !== process.pid && alive(owner)) return { owner };
      rmSync(lock, { force: true });
    }
    return { owner: -1 };
  }

  /** Put small bytes we already hold and verified (the manifest) into the store. */
  async putBytes(digest: string, bytes: Uint8Array): Promise<string> {
    const p = this.blobPath(digest);
    // An unpredictable temp name opened O_EXCL|O_NOFOLLOW, then renamed over whatever was there.
    if (!lstatOrNull(p)?.isFile()) writeFileAtomic(p, bytes, 0o444, this.partialPath(digest));
    return p;
  }
}

export function lstatOrNull(p: string): import("node:fs").Stats | null {
  try {
    return lstatSync(p);
  } catch {
    return null;
  }
}

export function statOrNull(p: string): import("node:fs").Stats | null {
  try {
    return statSync(p);
  } catch {
    return null;
  }
}

function readText(p: string): string {
  try {
    return readFileSync(p, "utf8");
  } catch {
    return "";
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as { code?: string }).code === "EPERM";
  }
  // A killed process its parent has not reaped yet still answers kill(0): a zombie writes nothing.
  const stat = readText(`/proc/${pid}/stat`);
  return !/^\d+ \(.*\) Z/s.test(stat);
}
