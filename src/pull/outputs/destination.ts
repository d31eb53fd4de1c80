import { randomBytes } from "node:crypto";
import { existsSync, lstatSync, mkdtempSync, readdirSync, readlinkSync, rmdirSync, type Stats, statfsSync, statSync } from "node:fs";
import path from "node:path";

/**
 * Output permissions. The bytes may come from a private repository pulled with the user's
 * credentials, and the tool cannot tell public from private content, so outputs are the
 * owner's only: `docker save -o` writes its tar 0600 (docker/cli CopyToFile uses
 * os.CreateTemp), and a new oci: DIR is 0700 (the files inside keep ordinary modes; the
 * directory alone keeps other users out). chmod them to share.
 */
export const ARCHIVE_MODE = 0o600;
export const OUTPUT_DIR_MODE = 0o700;

/**
 * A symlink planted at an output path: a directory output is refused (writing through it
 * would put or merge the image wherever the link points), with the real path to use instead.
 */
export function symlinkProblem(p: string, what: string): string | null {
  let st: Stats;
  try {
    st = lstatSync(p);
  } catch {
    return null;
  }
  if (!st.isSymbolicLink()) return null;
  let to = "?";
  try {
    to = readlinkSync(p);
  } catch {}
  return `${p} is a symbolic link (to ${to}); pulldoctor does not write an ${what} output through a link: give the real directory instead`;
}

export type OutputSpec = { kind: "oci"; dir: string; tag: string | null } | { kind: "docker-archive"; file: string } | { kind: "docker" };

/**
 * `oci:DIR[:TAG]`, `docker-archive:FILE`, `docker`: skopeo's transport syntax. Like
 * skopeo's oci transport, the first ':' after the directory starts the tag, so DIR
 * cannot contain ':'.
 */
export function parseOutput(s: string): OutputSpec | { error: string } {
  const v = s.trim();
  if (v === "docker" || v === "docker:") return { kind: "docker" };
  if (v.startsWith("oci:")) {
    const rest = v.slice(4);
    const i = rest.indexOf(":");
    const dir = i < 0 ? rest : rest.slice(0, i);
    const tag = i < 0 ? null : rest.slice(i + 1);
    if (!dir) return { error: `oci: needs a directory, e.g. oci:./image:latest` };
    if (tag && !/^[A-Za-z0-9_.\-:/@+]+$/.test(tag)) return { error: `invalid tag ${JSON.stringify(tag)} (letters, digits, _ . - : / @ +)` };
    return { kind: "oci", dir, tag: tag || null };
  }
  if (v.startsWith("docker-archive:")) {
    const file = v.slice("docker-archive:".length);
    if (!file) return { error: `docker-archive: needs a file, e.g. docker-archive:./image.tar` };
    return { kind: "docker-archive", file };
  }
  return { error: "expected oci:DIR[:TAG], docker-archive:FILE or docker" };
}

/** The nearest existing directory at or above p (where statfs can look). */
export function existingAncestor(p: string): string {
  let cur = path.resolve(p);
  while (!existsSync(cur)) {
    const up = path.dirname(cur);
    if (up === cur) break;
    cur = up;
  }
  return cur;
}

export interface SpaceNeed {
  /** What the bytes are for: "blob store", "output". */
  what: string;
  path: string;
  bytes: number;
  /** Files (inodes) to be created there. */
  files?: number;
}

export interface SpaceCheck {
  path: string;
  device: number;
  needed: number;
  free: number;
  /** Inodes: a filesystem can be full of files with bytes to spare (docker's "no space left on device" either way). */
  filesNeeded: number;
  filesFree: number | null;
  what: string[];
  ok: boolean;
}

/**
 * Free space per filesystem vs the bytes still to be written there (needs on the same
 * device are summed). statfs's bavail is what an unprivileged writer may use.
 */
export function checkSpace(needs: SpaceNeed[]): SpaceCheck[] {
  const byDev = new Map<number, SpaceCheck>();
  for (const n of needs) {
    const dir = existingAncestor(n.path);
    const dev = statSync(dir).dev;
    let c = byDev.get(dev);
    if (!c) {
      const fs = statfsSync(dir);
      // Some filesystems (btrfs, some FUSE) report 0 total inodes: no inode limit to check.
      const filesFree = Number(fs.files) > 0 ? Number(fs.ffree) : null;
      c = { path: dir, device: dev, needed: 0, free: Number(fs.bavail) * Number(fs.bsize), filesNeeded: 0, filesFree, what: [], ok: true };
      byDev.set(dev, c);
    }
    c.needed += n.bytes;
    c.filesNeeded += n.files ?? 0;
    c.what.push(`${n.what} ${n.path}`);
  }
  for (const c of byDev.values()) c.ok = c.needed <= c.free && (c.filesFree === null || c.filesNeeded <= c.filesFree);
  return [...byDev.values()];
}

export function sameDevice(a: string, b: string): boolean {
  return statSync(existingAncestor(a)).dev === statSync(existingAncestor(b)).dev;
}

/** A temp name beside the target, so the final rename stays on one filesystem (atomic). */
export function tempBeside(target: string): string {
  const abs = path.resolve(target);
  // Unpredictable: nobody can plant something at the name before we create it.
  return path.join(path.dirname(abs), `.${path.basename(abs)}.pulldoctor-${process.pid}-${randomBytes(6).toString("hex")}`);
}

/**
 * What would make the output unwritable, found before any byte is downloaded: an existing
 * directory that is not an OCI layout (never mixed into), a directory where a file should go.
 */
export function outputProblem(spec: OutputSpec): string | null {
  if (spec.kind === "oci") {
    const dir = path.resolve(spec.dir);
    const link = symlinkProblem(dir, "oci:");
    if (link) return link;
    if (!existsSync(dir)) return null;
    if (!statSync(dir).isDirectory()) return `${dir} exists and is not a directory`;
    if (readdirSync(dir).length > 0 && !existsSync(path.join(dir, "oci-layout")))
      return `${dir} exists and is not an OCI image layout (no oci-layout file); choose a new or empty directory`;
  }
  if (spec.kind === "docker-archive") {
    const file = path.resolve(spec.file);
    // lstat: a symlink at FILE is replaced by the finished archive (its target is never written).
    if (existsSync(file) && lstatSync(file).isDirectory())
      return `${file} is a directory; docker-archive: needs a file name, e.g. ${path.join(file, "image.tar")}`;
  }
  return placeProblem(spec);
}

const CANNOT: Record<string, string> = {
  EROFS: "a read-only file system",
  EACCES: "not writable by this user",
  EPERM: "not permitted",
  ENOTDIR: "not a directory",
};

/**
 * Whether anything can be created where the output goes: a temp directory made and removed in
 * the nearest existing directory. statfs alone cannot tell: a read-only mount or /proc reports
 * 0 bytes free, which read as "no space" (PULL_NO_SPACE) though no space would help.
 */
export function placeProblem(spec: OutputSpec): string | null {
  if (spec.kind === "docker") return null;
  const dir = existingAncestor(spec.kind === "oci" ? spec.dir : path.dirname(path.resolve(spec.file)));
  try {
    rmdirSync(mkdtempSync(path.join(dir, ".pulldoctor-probe-")));
    return null;
  } catch (e) {
    const code = (e as { code?: string }).code ?? "";
    // /proc answers ENOENT: a file system that takes no new entries.
    const why = code ? `${code}: ${CANNOT[code] ?? "it takes no new entries"}` : (e as Error).message;
    return `nothing can be created in ${dir} (${why}); choose a writable place`;
  }
}
