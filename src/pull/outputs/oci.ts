import { chmodSync, constants, copyFileSync, existsSync, linkSync, mkdirSync, readdirSync, renameSync, rmdirSync, rmSync } from "node:fs";
import path from "node:path";
import { readLocalFile } from "../../host/local-file";
import { lstatOrNull } from "../store";
import { OUTPUT_DIR_MODE, symlinkProblem, tempBeside } from "./destination";
import { algOf, hexOf, type ImageContent } from "./image-content";
import { ociManifestFor, type WrittenManifest } from "./oci-convert";
import { writeFileAtomic } from "./safe-file";

export const REF_NAME = "org.opencontainers.image.ref.name";
/** Where the entry came from: the registry's manifest digest and media type (before any OCI rewrite), and its index's. */
export const SOURCE_DIGEST = "org.pulldoctor.source.digest";
export const SOURCE_MEDIA_TYPE = "org.pulldoctor.source.mediaType";
export const SOURCE_INDEX_DIGEST = "org.pulldoctor.source.index.digest";
const LAYOUT = JSON.stringify({ imageLayoutVersion: "1.0.0" });
/** Files inside the layout: readable, as skopeo and umoci write them; DIR itself is owner-only (OUTPUT_DIR_MODE). */
const FILE_MODE = 0o644;

/**
 * An OCI image layout (image-spec layout.md): oci-layout, blobs/<alg>/<hex>, and an
 * index.json whose manifest carries the tag as org.opencontainers.image.ref.name
 * (what `skopeo copy oci:DIR:TAG` and `umoci --image DIR:TAG` look up).
 *
 * Atomic: a new layout is built in a temp dir beside DIR and renamed into place; into
 * an existing layout, blobs go first and index.json is replaced last by rename, so a
 * failed pull never leaves an index naming blobs that are not there.
 */
export async function writeOciLayout(
  dir: string,
  tag: string | null,
  img: ImageContent,
): Promise<{ path: string; merged: boolean; manifest: WrittenManifest }> {
  const r = await writeOciImages(dir, [{ tag, img }]);
  return { path: r.path, merged: r.merged, manifest: r.manifests[0]! };
}

/** One image of a layout and the name its index entry carries (org.opencontainers.image.ref.name). */
export interface LayoutEntry {
  tag: string | null;
  img: ImageContent;
}

/**
 * Several images into one layout (`pull -f`, `pull --all-tags`): one index entry per image,
 * each blob once (blobs/ is by digest), all made to appear at once as for one image.
 */
export async function writeOciImages(
  dir: string,
  entries: readonly LayoutEntry[],
): Promise<{ path: string; merged: boolean; manifests: WrittenManifest[] }> {
  const target = path.resolve(dir);
  // A Docker schema 2 manifest becomes OCI here (oci-convert.ts); the blobs are the same either way.
  const manifests = entries.map((e) => ociManifestFor(e.img));
  const descs = entries.map((e, i) => indexEntry(e.tag, e.img, manifests[i]!));
  // Never merge into (or replace) a directory reached through a symlink planted at DIR.
  const link = symlinkProblem(target, "oci:");
  if (link) throw new Error(link);
  if (existsSync(target) && readdirSync(target).length > 0) {
    if (!existsSync(path.join(target, "oci-layout")))
      throw new Error(`${target} exists and is not an OCI image layout (no oci-layout file); choose an empty or new directory`);
    // Read before anything is written: a layout that cannot be merged is refused untouched.
    const index = readExistingIndex(target);
    for (const [i, e] of entries.entries()) placeBlobs(target, e.img, manifests[i]!);
    const tags = new Set(entries.map((e) => e.tag).filter((t) => t !== null));
    const kept = (index.manifests ?? []).filter((m) => !tags.has(m.annotations?.[REF_NAME] ?? "\u0000"));
    writeFileAtomic(path.join(target, "index.json"), indexJson([...kept, ...descs]), FILE_MODE);
    return { path: target, merged: true, manifests };
  }
  mkdirSync(path.dirname(target), { recursive: true });
  const tmp = tempBeside(target);
  try {
    // mkdir fails on anything already at the temp name (a planted symlink included).
    mkdirSync(tmp, { mode: OUTPUT_DIR_MODE });
    chmodSync(tmp, OUTPUT_DIR_MODE);
    writeFileAtomic(path.join(tmp, "oci-layout"), LAYOUT, FILE_MODE);
    for (const [i, e] of entries.entries()) placeBlobs(tmp, e.img, manifests[i]!);
    writeFileAtomic(path.join(tmp, "index.json"), indexJson(descs), FILE_MODE);
    if (existsSync(target)) rmdirSync(target);
    renameSync(tmp, target);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return { path: target, merged: false, manifests };
}

/** An existing layout's index.json: a regular file (never through a planted symlink) that is JSON. */
function readExistingIndex(target: string): { manifests?: { annotations?: Record<string, string> }[] } {
  const file = path.join(target, "index.json");
  const refuse = (why: string) => new Error(`${file} ${why}; pulldoctor does not merge into this layout: choose an empty or new directory`);
  const st = lstatOrNull(file);
  if (!st) throw refuse("is missing (the directory has an oci-layout file but no index)");
  if (!st.isFile()) throw refuse(st.isSymbolicLink() ? "is a symbolic link" : "is not a regular file");
  const r = readLocalFile(file, MAX_INDEX_BYTES);
  if (!r.ok) throw refuse("error" in r ? `cannot be read (${r.error.code ?? r.error.message})` : `cannot be read: ${r.refused}`);
  try {
    const index = JSON.parse(new TextDecoder().decode(r.bytes)) as unknown;
    if (index && typeof index === "object" && !Array.isArray(index))
      return index as { manifests?: { annotations?: Record<string, string> }[] };
  } catch {
    // Its content is not quoted: whatever the file is, it is not ours to print.
  }
  throw refuse("is not a JSON object (an OCI index is)");
}

/** A layout's index of many images is still small; this only bounds a hostile one. */
const MAX_INDEX_BYTES = 16 * 1024 * 1024;

/** blobs/ and blobs/<alg>/ must be real directories of the layout, not links that lead elsewhere. */
function realDirOrAbsent(dir: string): void {
  const st = lstatOrNull(dir);
  if (st && !st.isDirectory())
    throw new Error(
      `${dir} is ${st.isSymbolicLink() ? "a symbolic link" : "not a directory"}: pulldoctor does not write blobs through it; choose an empty or new directory`,
    );
}

function indexEntry(tag: string | null, img: ImageContent, m: WrittenManifest): Record<string, unknown> {
  const desc: Record<string, unknown> = { mediaType: m.mediaType, digest: m.digest, size: m.size };
  if (img.platform) desc.platform = img.platform;
  // The written digest is the descriptor's own; the registry's digests sit beside it (they differ after an OCI rewrite).
  const annotations: Record<string, string> = { [SOURCE_DIGEST]: img.manifest.digest, [SOURCE_MEDIA_TYPE]: img.manifest.mediaType };
  if (img.sourceIndex) annotations[SOURCE_INDEX_DIGEST] = img.sourceIndex.digest;
  if (tag) annotations[REF_NAME] = tag;
  desc.annotations = annotations;
  return desc;
}

function indexJson(manifests: unknown[]): string {
  return JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests });
}

/**
 * Blobs: hard links to the store when on the same filesystem (no copy), else copies. A file
 * already in a merged layout under a blob's name is replaced unless it is the store's own
 * (verified) file: what the output holds is always what this pull verified.
 */
function placeBlobs(root: string, img: ImageContent, m: WrittenManifest): void {
  realDirOrAbsent(path.join(root, "blobs"));
  const write = (digest: string, from: string) => {
    const dirOf = path.join(root, "blobs", algOf(digest));
    realDirOrAbsent(dirOf);
    mkdirSync(dirOf, { recursive: true });
    const dst = path.join(dirOf, hexOf(digest));
    // lstat: a symlink at a blob's name is replaced, not trusted as the blob.
    if (sameFile(dst, from)) return;
    const tmp = `${dst}.pulldoctor-${process.pid}`;
    rmSync(tmp, { force: true });
    try {
      linkSync(from, tmp);
    } catch {
      // COPYFILE_EXCL: fails on anything (a symlink included) that appeared at the temp name.
      copyFileSync(from, tmp, constants.COPYFILE_EXCL);
    }
    renameSync(tmp, dst);
  };
  for (const d of [img.config, ...img.layers]) write(d.digest, img.store.blobPath(d.digest));
  const dirOf = path.join(root, "blobs", algOf(m.digest));
  realDirOrAbsent(dirOf);
  mkdirSync(dirOf, { recursive: true });
  writeFileAtomic(path.join(dirOf, hexOf(m.digest)), m.raw, FILE_MODE);
}

/** The same inode: a regular file at `p` that is the store's blob itself (a hard link made by an earlier pull). */
function sameFile(p: string, storeFile: string): boolean {
  const a = lstatOrNull(p);
  const b = lstatOrNull(storeFile);
  return a?.isFile() === true && b !== null && a.ino === b.ino && a.dev === b.dev;
}
