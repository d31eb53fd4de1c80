import path from "node:path";
import type { Evidence } from "../../model/evidence";
import type { ImageRef } from "../../model/facts";
import { type Finding, finding } from "../../model/finding";
import { checkSpace, type OutputSpec } from "./destination";
import { dockerArchiveChunks, writeDockerArchive } from "./docker-archive";
import { type EngineAddress, loadIntoEngine } from "./docker-engine";
import type { ImageContent } from "./image-content";
import { writeOciLayout } from "./oci";

export interface WriteContext {
  ref: ImageRef;
  engine: EngineAddress | null;
  timeoutMs: number;
  signal: AbortSignal;
  image: string;
  /** The docker-archive: file suggested when the Engine cannot take the image. */
  archiveFile: string;
}

export interface Written {
  output: string;
  /** The manifest the output holds: the registry's, or its OCI rewrite for oci: (null: the Engine keeps its own). */
  manifest?: { digest: string; mediaType: string; size: number; converted: boolean };
  evidence: Evidence;
  finding?: Finding;
  error?: string;
}

/** Write the verified blobs to the chosen output; nothing that looks complete is left on failure. */
export async function writeOutput(spec: OutputSpec, img: ImageContent, ctx: WriteContext): Promise<Written> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  if (spec.kind === "oci") {
    const tag = spec.tag ?? ctx.ref.tag;
    const output = `oci:${path.resolve(spec.dir)}${tag ? `:${tag}` : ""}`;
    try {
      const r = await writeOciLayout(spec.dir, tag, img);
      const { digest, mediaType, size, convertedFrom } = r.manifest;
      return {
        output,
        manifest: { digest, mediaType, size, converted: convertedFrom !== null },
        evidence: { kind: "oci", path: r.path, tag, merged: r.merged, manifest: { digest, mediaType, size }, durationMs: ms() },
      };
    } catch (e) {
      return failed(output, e, spec.dir, ctx, ms());
    }
  }
  if (spec.kind === "docker-archive") {
    const output = `docker-archive:${path.resolve(spec.file)}`;
    try {
      const r = await writeDockerArchive(spec.file, img);
      // Docker's own manifest, byte for byte: `docker load` and skopeo's docker-archive: read it as is.
      const { digest, mediaType, size } = img.manifest;
      return {
        output,
        manifest: { digest, mediaType, size, converted: false },
        evidence: { kind: "docker-archive", path: r.path, bytes: r.bytes, repoTag: img.repoTag, durationMs: ms() },
      };
    } catch (e) {
      return failed(output, e, path.dirname(path.resolve(spec.file)), ctx, ms());
    }
  }
  return loadWritten(ctx, img, {});
}

/**
 * `docker`: the archive streamed into the Engine's POST /images/load, for one image or many. A
 * refusal or a connection that breaks ends in the Engine's finding, with what it answered.
 */
export async function loadWritten(
  ctx: Omit<WriteContext, "ref">,
  imgs: ImageContent | readonly ImageContent[],
  extra: Evidence,
): Promise<Written> {
  const engine = ctx.engine!;
  const output = `docker (${engine.display})`;
  const what = Array.isArray(imgs) ? "images" : "image";
  try {
    const r = await loadIntoEngine(engine, dockerArchiveChunks(imgs), ctx.timeoutMs, ctx.signal);
    const evidence: Evidence = {
      kind: "docker",
      address: engine.display,
      status: r.status,
      bytes: r.bytes,
      loaded: r.loaded,
      messages: r.messages.slice(0, 20),
      durationMs: r.durationMs,
      ...extra,
    };
    if (!r.error) return { output, evidence };
    const why = `it answered /_ping but refused the ${what} (POST /images/load): ${r.error}`;
    return { output, evidence, finding: engineFinding(ctx, engine, why, evidence) };
  } catch (e) {
    const evidence: Evidence = { kind: "docker", address: engine.display, error: (e as Error).message };
    const why = `the connection broke while loading the ${what} (POST /images/load): ${(e as Error).message}`;
    return { output, evidence, finding: engineFinding(ctx, engine, why, evidence) };
  }
}

export function failed(output: string, e: unknown, where: string, ctx: Pick<WriteContext, "image">, durationMs: number): Written {
  const code = (e as { code?: string }).code;
  const message = (e as Error).message ?? String(e);
  if (code === "ENOSPC" || code === "EDQUOT") {
    const c = checkSpace([{ what: "output", path: where, bytes: 0 }])[0];
    return {
      output,
      evidence: { error: message, code, durationMs },
      finding: finding(
        "PULL_NO_SPACE",
        { image: ctx.image, path: c.path, needed: c.free + 1, free: c.free, what: [`output ${where}`] },
        { statfs: { ...c }, error: message },
      ),
    };
  }
  // EROFS, EACCES, EPERM: no space would help; said as what they are, never as PULL_NO_SPACE.
  const cannot = code === "EROFS" ? "read-only file system" : code === "EACCES" || code === "EPERM" ? "permission denied" : null;
  const why = cannot ? `${where} cannot be written (${code}: ${cannot}); choose a writable place` : message;
  return { output, evidence: { error: message, code: code ?? null, durationMs }, error: `writing ${output} failed: ${why}` };
}

/** The blobs are verified and kept in the store; only the Engine failed: the docker-archive: route still works. */
export function engineFinding(
  ctx: Pick<WriteContext, "image" | "archiveFile">,
  engine: EngineAddress,
  error: string,
  evidence: Evidence,
): Finding {
  return finding(
    "PULL_DAEMON_UNAVAILABLE",
    { image: ctx.image, address: engine.display, source: engine.source, error, archiveFile: ctx.archiveFile },
    evidence,
  );
}
