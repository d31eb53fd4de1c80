import path from "node:path";
import type { Deps } from "../model/deps";
import type { Evidence } from "../model/evidence";
import type { Descriptor, ResolvedManifest } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { spaceFinding } from "./findings";
import { checkSpace, type OutputSpec, type SpaceCheck, type SpaceNeed, sameDevice } from "./outputs/destination";
import { type EngineAddress, engineAddress, pingEngine } from "./outputs/docker-engine";
import type { BlobStore } from "./store";

/** What ends a pull before any byte moves: a failed stage result, with why. */
export interface Stop {
  summary: string;
  evidence: Evidence;
  findings: Finding[];
}

/**
 * The Engine is asked first when it is the output: nothing is downloaded for an output that
 * cannot be written. Records what it asked in `evidence.engine`.
 */
export async function engineFor(
  deps: Deps,
  timeoutMs: number,
  evidence: Evidence,
  words: { image: string; archiveFile: string },
): Promise<{ engine: EngineAddress | null } | Stop> {
  const addr = engineAddress(deps);
  const ping =
    "error" in addr
      ? { ok: false as const, error: addr.error, code: null, durationMs: 0 }
      : await pingEngine(addr, Math.min(timeoutMs, 5000), deps.signal);
  evidence.engine = { address: "error" in addr ? null : addr.display, source: addr.source, ping: { ...ping } };
  if (ping.ok) return { engine: "error" in addr ? null : addr };
  const f = finding(
    "PULL_DAEMON_UNAVAILABLE",
    {
      image: words.image,
      address: "error" in addr ? (deps.env.DOCKER_HOST ?? "") : addr.display,
      source: addr.source,
      error: ping.error,
      archiveFile: words.archiveFile,
    },
    { ...(evidence.engine as Evidence) },
  );
  return { summary: `no Docker Engine answers at ${"error" in addr ? addr.source : addr.display}`, evidence, findings: [f] };
}

/** The store's directory, created; a full disk is left to the space check that follows. */
export function ensureStore(store: BlobStore, evidence: Evidence): Stop | null {
  try {
    store.ensure();
  } catch (e) {
    const code = (e as { code?: string }).code;
    if (code !== "ENOSPC") {
      const why = `cannot create the blob store at ${store.root}: ${(e as Error).message}; set PULLDOCTOR_STORE to a writable directory`;
      return { summary: why, evidence: { ...evidence, error: why, code: code ?? null }, findings: [] };
    }
  }
  return null;
}

/** Space: bytes still to come into the store, plus the output (hard links cost nothing on the store's filesystem). */
export function spaceNeeds(
  spec: OutputSpec,
  store: BlobStore,
  blobs: Descriptor[],
  reused: boolean[],
  m: ResolvedManifest["image"],
): SpaceNeed[] {
  const total = blobs.reduce((n, b) => n + b.size, 0);
  const storeNeed = blobs.reduce((n, b, i) => n + (reused[i] ? 0 : b.size - Math.min(b.size, store.partialSize(b.digest))), 0);
  const missing = reused.filter((r) => !r).length;
  const needs: SpaceNeed[] = [{ what: "blob store", path: store.root, bytes: storeNeed, files: missing }];
  // oci: a layout is blobs + index.json + oci-layout + directories; hard links need no inode.
  if (spec.kind === "oci")
    needs.push({
      what: "output",
      path: spec.dir,
      bytes: m.size + 4096 + (sameDevice(spec.dir, store.root) ? 0 : total),
      files: 6 + (sameDevice(spec.dir, store.root) ? 1 : blobs.length + 1),
    });
  if (spec.kind === "docker-archive")
    needs.push({
      what: "output",
      path: path.dirname(path.resolve(spec.file)),
      bytes: total + m.size + 1024 * (blobs.length + 12),
      files: 1,
    });
  return needs;
}

/** The space check before the transfer; records it in `evidence.space`. */
export function spacePreflight(needs: SpaceNeed[], evidence: Evidence, image: string): Stop | null {
  let space: SpaceCheck[] = [];
  try {
    space = checkSpace(needs);
  } catch (e) {
    // statfs refused (a path we may not stat): no preflight; an ENOSPC while writing is still reported.
    evidence.spaceError = (e as Error).message;
  }
  evidence.space = space.map((c) => ({ ...c }));
  const short = space.find((c) => !c.ok);
  return short ? { summary: `not enough space at ${short.path}`, evidence, findings: [spaceFinding(short, image)] } : null;
}

/** The space check again after a failure: was it the disk? */
export function recheckSpace(needs: SpaceNeed[]): SpaceCheck | null {
  try {
    const now = checkSpace(needs);
    return now.find((c) => !c.ok) ?? now[0] ?? null;
  } catch {
    return null;
  }
}
