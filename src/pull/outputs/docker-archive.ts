import { mkdirSync } from "node:fs";
import path from "node:path";
import { ARCHIVE_MODE } from "./destination";
import { algOf, hexOf, type ImageContent } from "./image-content";
import { REF_NAME } from "./oci";
import { writeAllSync, writeFileAtomicWith } from "./safe-file";
import { END_OF_ARCHIVE, padding, tarHeader } from "./tar-header";

const enc = new TextEncoder();

/**
 * The `docker save` format as Docker ≥ 25 writes it: an OCI layout (oci-layout,
 * index.json, blobs/sha256/…) plus Docker's manifest.json (Config, RepoTags, Layers
 * as paths in the tar) and the legacy `repositories` file. The classic loader reads
 * manifest.json and decompresses each layer (it accepts gzip'd layers), containerd's
 * importer and skopeo's docker-archive: read the same file; so the registry's
 * compressed layers go in unchanged and no byte is recompressed.
 */
export async function* dockerArchiveChunks(img: ImageContent | readonly ImageContent[]): AsyncGenerator<Uint8Array> {
  const imgs: readonly ImageContent[] = Array.isArray(img) ? img : [img as ImageContent];
  const blobPath = (d: string) => `blobs/${algOf(d)}/${hexOf(d)}`;
  yield tarHeader({ name: "blobs", size: 0, type: "dir" });
  const algs = new Set(imgs.flatMap((i) => [i.config, ...i.layers].map((d) => algOf(d.digest)).concat(algOf(i.manifest.digest))));
  for (const a of algs) yield tarHeader({ name: `blobs/${a}`, size: 0, type: "dir" });
  // Several images (pull -f, --all-tags) share one archive: each blob is written once.
  const seen = new Set<string>();
  for (const i of imgs)
    for (const d of [i.config, ...i.layers]) {
      if (seen.has(d.digest)) continue;
      seen.add(d.digest);
      yield* blobEntry(blobPath(d.digest), d, i);
    }
  for (const i of imgs) {
    if (seen.has(i.manifest.digest)) continue;
    seen.add(i.manifest.digest);
    yield* file(blobPath(i.manifest.digest), i.manifest.raw);
  }
  yield* file("oci-layout", enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  const index = imgs.map((i) => {
    const desc: Record<string, unknown> = { mediaType: i.manifest.mediaType, digest: i.manifest.digest, size: i.manifest.size };
    if (i.repoTag) desc.annotations = { "io.containerd.image.name": i.repoTag, [REF_NAME]: tagOf(i.repoTag) };
    return desc;
  });
  yield* file(
    "index.json",
    enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: index })),
  );
  // One manifest.json entry per image; tags of the same image share one entry, as `docker save a:1 a:latest` writes.
  const entries = new Map<string, { Config: string; RepoTags: string[]; Layers: string[] }>();
  const repositories: Record<string, Record<string, string>> = {};
  for (const i of imgs) {
    let e = entries.get(i.manifest.digest);
    if (!e) {
      e = { Config: blobPath(i.config.digest), RepoTags: [], Layers: i.layers.map((l) => blobPath(l.digest)) };
      entries.set(i.manifest.digest, e);
    }
    if (i.repoTag && !e.RepoTags.includes(i.repoTag)) e.RepoTags.push(i.repoTag);
    if (i.repoTag && i.layers.length > 0) {
      const name = i.repoTag.slice(0, i.repoTag.lastIndexOf(":"));
      repositories[name] = { ...repositories[name], [tagOf(i.repoTag)]: hexOf(i.layers[i.layers.length - 1]!.digest) };
    }
  }
  yield* file("manifest.json", enc.encode(JSON.stringify([...entries.values()])));
  if (Object.keys(repositories).length > 0) yield* file("repositories", enc.encode(JSON.stringify(repositories)));
  yield END_OF_ARCHIVE;
}

function tagOf(repoTag: string): string {
  return repoTag.slice(repoTag.lastIndexOf(":") + 1);
}

async function* blobEntry(name: string, d: { digest: string; size: number }, img: ImageContent): AsyncGenerator<Uint8Array> {
  yield tarHeader({ name, size: d.size });
  let n = 0;
  for await (const chunk of Bun.file(img.store.blobPath(d.digest)).stream()) {
    n += chunk.length;
    yield chunk;
  }
  if (n !== d.size) throw new Error(`store blob ${d.digest} has ${n} bytes, expected ${d.size}`);
  yield padding(d.size);
}

function* file(name: string, data: Uint8Array): Generator<Uint8Array> {
  yield tarHeader({ name, size: data.length });
  yield data;
  yield padding(data.length);
}

/** docker-archive:FILE, written to a temp file beside FILE and renamed when complete; owner-only like `docker save -o`. */
export async function writeDockerArchive(
  file: string,
  img: ImageContent | readonly ImageContent[],
): Promise<{ path: string; bytes: number }> {
  const target = path.resolve(file);
  mkdirSync(path.dirname(target), { recursive: true });
  // O_EXCL|O_NOFOLLOW under an unpredictable name, then rename over FILE: a symlink planted
  // at FILE is replaced and its target never written.
  const bytes = await writeFileAtomicWith(target, ARCHIVE_MODE, async (fd) => {
    let n = 0;
    // Synchronous writes of each chunk: nothing queues in memory whatever the image size.
    for await (const chunk of dockerArchiveChunks(img)) {
      writeAllSync(fd, chunk);
      n += chunk.length;
    }
    return n;
  });
  return { path: target, bytes };
}
