import { chmodSync, closeSync, existsSync, mkdirSync, openSync, readFileSync, renameSync, rmSync, statSync, writeSync } from "node:fs";
import path from "node:path";
import type { Deps } from "../model/deps";
import type { Descriptor } from "../model/facts";
import { parseDigest } from "./verify";

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
    mkdirSync(path.join(this.root, "sha256"), { recursive: true });
    mkdirSync(path.join(this.root, "sha512"), { recursive: true });
    mkdirSync(path.join(this.root, "ingest"), { recursive: true });
  }

  /**
   * A blob is reused only when its file has the descriptor's size. Its digest was
   * verified before it was renamed into place, and nothing else writes there.
   */
  has(d: Descriptor): boolean {
    const st = statOrNull(this.blobPath(d.digest));
    return st !== null && st.isFile() && st.size === d.size;
  }

  partialSize(digest: string): number {
    return statOrNull(this.partialPath(digest))?.size ?? 0;
  }

  /** Move a verified partial into place (same directory tree ⇒ atomic rename). */
  commit(digest: string): void {
    // Read-only: content-addressed files never change, and an oci: output hard-links them.
    chmodSync(this.partialPath(digest), 0o444);
    renameSync(this.partialPath(digest), this.blobPath(digest));
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
    if (!existsSync(p)) {
      const tmp = `${this.partialPath(digest)}.${process.pid}`;
      await Bun.write(tmp, bytes);
      renameSync(tmp, p);
    }
    return p;
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
