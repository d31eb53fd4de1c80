import path from "node:path";
import type { OutputSpec } from "./destination";
import { writeDockerArchive } from "./docker-archive";
import type { EngineAddress } from "./docker-engine";
import type { ImageContent } from "./image-content";
import { type LayoutEntry, writeOciImages } from "./oci";
import { failed, loadWritten, type WriteContext, type Written } from "./write";

/** One pulled image of several, and the name its entry carries in the output. */
export interface ManyEntry {
  /** docker's name for it ("nginx:1.27", "127.0.0.1:5000/team/app:1.0"), null for a digest-only reference. */
  repoTag: string | null;
  /** The layout's org.opencontainers.image.ref.name: the tag when every image is of one repository (--all-tags), else the name. */
  refName: string;
  img: ImageContent;
}

/**
 * Several verified images written as one output (`pull -f`, `pull --all-tags`): one oci:DIR
 * with an index entry per image, one docker-archive:FILE with a manifest.json entry per image
 * (what `docker load` reads), or one load into the Engine. Each blob goes in once. Like a
 * single pull it is atomic: nothing that looks complete appears unless every image is in it.
 */
export async function writeMany(
  spec: OutputSpec,
  entries: readonly ManyEntry[],
  ctx: Omit<WriteContext, "ref" | "engine"> & { engine: EngineAddress | null },
): Promise<Written> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  const imgs = entries.map((e) => ({ ...e.img, repoTag: e.repoTag }));
  const names = entries.map((e) => e.refName);
  if (spec.kind === "oci") {
    const output = `oci:${path.resolve(spec.dir)}`;
    try {
      const layout: LayoutEntry[] = entries.map((e, i) => ({ tag: e.refName, img: imgs[i]! }));
      const r = await writeOciImages(spec.dir, layout);
      return { output, evidence: { kind: "oci", path: r.path, merged: r.merged, images: names, durationMs: ms() } };
    } catch (e) {
      return failed(output, e, spec.dir, ctx, ms());
    }
  }
  if (spec.kind === "docker-archive") {
    const output = `docker-archive:${path.resolve(spec.file)}`;
    try {
      const r = await writeDockerArchive(spec.file, imgs);
      return { output, evidence: { kind: "docker-archive", path: r.path, bytes: r.bytes, images: names, durationMs: ms() } };
    } catch (e) {
      return failed(output, e, path.dirname(path.resolve(spec.file)), ctx, ms());
    }
  }
  return loadWritten(ctx, imgs, { images: names });
}
