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
export async function* dockerArchiveChunks(img: ImageContent): AsyncGenerator<Uint8Array> {
  const blobPath = (d: string) => `blobs/${algOf(d)}/${hexOf(d)}`;
  yield tarHeader({ name: "blobs", size: 0, type: "dir" });
  const algs = new Set([img.config, ...img.layers].map((d) => algOf(d.digest)).concat(algOf(img.manifest.digest)));
  for (const a of algs) yield tarHeader({ name: `blobs/${a}`, size: 0, type: "dir" });
  const seen = new Set<string>();
  for (const d of [img.config, ...img.layers]) {
    if (seen.has(d.digest)) continue;
    seen.add(d.digest);
    yield tarHeader({ name: blobPath(d.digest), size: d.size });
    let n = 0;
    for await (const chunk of Bun.file(img.store.blobPath(d.digest)).stream()) {
      n += chunk.length;
      yield chunk;
    }
    if (n !== d.size) throw new Error(`store blob ${d.digest} has ${n} bytes, expected ${d.size}`);
    yield padding(d.size);
  }
  if (!seen.has(img.manifest.digest)) yield* file(blobPath(img.manifest.digest), img.manifest.raw);
  yield* file("oci-layout", enc.encode(JSON.stringify({ imageLayoutVersion: "1.0.0" })));
  const tag = img.repoTag ? img.repoTag.slice(img.repoTag.lastIndexOf(":") + 1) : null;
  const desc: Record<string, unknown> = { mediaType: img.manifest.mediaType, digest: img.manifest.digest, size: img.manifest.size };
  if (img.repoTag) desc.annotations = { "io.containerd.image.name": img.repoTag, [REF_NAME]: tag };
  yield* file(
    "index.json",
    enc.encode(JSON.stringify({ schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json", manifests: [desc] })),
  );
  const manifest = [
    { Config: blobPath(img.config.digest), RepoTags: img.repoTag ? [img.repoTag] : [], Layers: img.layers.map((l) => blobPath(l.digest)) },
  ];
  yield* file("manifest.json", enc.encode(JSON.stringify(manifest)));
  if (img.repoTag && img.layers.length > 0) {
    const name = img.repoTag.slice(0, img.repoTag.lastIndexOf(":"));
    const repositories = { [name]: { [tag!]: hexOf(img.layers[img.layers.length - 1].digest) } };
    yield* file("repositories", enc.encode(JSON.stringify(repositories)));
  }
  yield END_OF_ARCHIVE;
}

function* file(name: string, data: Uint8Array): Generator<Uint8Array> {
  yield tarHeader({ name, size: data.length });
  yield data;
  yield padding(data.length);
}

/** docker-archive:FILE, written to a temp file beside FILE and renamed when complete; owner-only like `docker save -o`. */
export async function writeDockerArchive(file: string, img: ImageContent): Promise<{ path: string; bytes: number }> {
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
