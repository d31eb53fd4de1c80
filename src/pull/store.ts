import { closeSync, constants, fchmodSync, fstatSync, lstatSync, mkdirSync, openSync, renameSync, rmSync, statSync } from "node:fs";
import path from "node:path";
import type { Deps } from "../model/deps";
import type { Descriptor } from "../model/facts";
import { acquireLock, LostOwnership, newToken, readToken } from "./ingest-lock";
import { writeFileAtomic } from "./outputs/safe-file";
import { digestFile, parseDigest } from "./verify";

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
   * A candidate for reuse: a regular file of the descriptor's size. Only a candidate: its bytes
   * were verified when they were committed, but a disk, another program or a user may have
   * changed them since, so reuse goes through `verifyStored` first.
   */
  has(d: Descriptor): boolean {
    // lstat: a symlink planted at a blob's path is not a verified blob (an oci: output would hard-link the link).
    const st = lstatOrNull(this.blobPath(d.digest));
    return st?.isFile() === true && st.size === d.size;
  }

  /**
   * The store's verification rule (docs/security.md): a stored blob is hashed again before it
   * is reused, so no corrupted byte reaches an output as verified. Null when it matches; else
   * the blob is removed (to be downloaded again) and what it hashed to is returned.
   */
  async verifyStored(d: Descriptor): Promise<string | null> {
    const p = this.blobPath(d.digest);
    let actual: string;
    try {
      actual = await digestFile(p, parseDigest(d.digest)!.algorithm);
    } catch (e) {
      actual = `unreadable (${(e as { code?: string }).code ?? (e as Error).message})`;
    }
    if (actual === d.digest) return null;
    rmSync(p, { force: true });
    return actual;
  }

  /**
   * A partial that already has every byte (its writer was paused or died before committing):
   * hashed from disk and committed when it matches, else dropped. True when it became the blob.
   */
  async adoptComplete(d: Descriptor): Promise<boolean> {
    if (this.partialSize(d.digest) !== d.size) return false;
    const actual = await digestFile(this.partialPath(d.digest), parseDigest(d.digest)!.algorithm).catch(() => null);
    if (actual !== d.digest) {
      this.discardPartial(d.digest);
      return false;
    }
    this.commit(d.digest);
    return true;
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

  /**
   * Move a verified partial into place (same directory tree ⇒ atomic rename), only while it is
   * still ours: a pull that lost the blob to another never renames the new owner's partial.
   */
  commit(digest: string): void {
    const p = this.partialPath(digest);
    this.assertOwner(digest);
    let fd: number;
    try {
      // O_NOFOLLOW: never chmod or rename a link; only the regular file we wrote becomes a blob.
      fd = openSync(p, constants.O_RDONLY | constants.O_NOFOLLOW);
    } catch (e) {
      // Gone while we held the lock: whoever took it over has committed it.
      if ((e as { code?: string }).code === "ENOENT" && this.held.has(digest)) throw new LostOwnership(digest);
      throw e;
    }
    try {
      if (!fstatSync(fd).isFile()) throw new Error(`${p} is not a regular file; not committing it to the store`);
      // Read-only: content-addressed files never change, and an oci: output hard-links them.
      fchmodSync(fd, 0o444);
    } finally {
      closeSync(fd);
    }
    try {
      renameSync(p, this.blobPath(digest));
    } catch (e) {
      if ((e as { code?: string }).code === "ENOENT" && this.held.has(digest)) throw new LostOwnership(digest);
      throw e;
    }
  }

  discardPartial(digest: string): void {
    if (this.lost(digest)) return;
    rmSync(this.partialPath(digest), { force: true });
  }

  /** This store's lock token, and the blobs it holds the lock of (ingest-lock.ts). */
  readonly token = newToken();
  private readonly held = new Set<string>();

  /**
   * One writer per partial across processes (two pulls of images sharing a layer). A holder
   * whose process is gone is taken over; `force` takes over a live one that stopped making
   * progress. Returns a release function, or the live owner's pid.
   */
  tryLock(digest: string, force = false): { release: () => void } | { owner: number } {
    const lock = `${this.partialPath(digest)}.lock`;
    const r = acquireLock(lock, this.partialPath(digest), this.token, force);
    if ("owner" in r) return r;
    this.held.add(digest);
    return {
      release: () => {
        // Only our own lock: after a takeover the file is the new owner's.
        if (!this.lost(digest)) rmSync(lock, { force: true });
        this.held.delete(digest);
      },
    };
  }

  /** This store took the lock of `digest` and another process has taken it over since. */
  lost(digest: string): boolean {
    return this.held.has(digest) && readToken(`${this.partialPath(digest)}.lock`) !== this.token;
  }

  /** The lock and token a blob Worker checks once it has opened the partial; undefined when this store holds no lock for it. */
  ownerOf(digest: string): { lock: string; token: string } | undefined {
    return this.held.has(digest) ? { lock: `${this.partialPath(digest)}.lock`, token: this.token } : undefined;
  }

  /** Throws LostOwnership when the blob's partial is no longer ours to write. */
  assertOwner(digest: string): void {
    if (this.lost(digest)) throw new LostOwnership(digest);
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
