import type { Descriptor, Platform } from "../../model/facts";
import type { BlobStore } from "../store";

/** Everything an output writer needs: the manifest as served and where its blobs are. */
export interface ImageContent {
  manifest: { digest: string; mediaType: string; size: number; raw: Uint8Array };
  config: Descriptor;
  layers: Descriptor[];
  platform: Platform | null;
  store: BlobStore;
  /** The index (manifest list) the tag named, when the image was chosen from one. */
  sourceIndex?: { digest: string; mediaType: string } | null;
  /** "127.0.0.1:5000/team/app:1.0" / "nginx:latest" as docker names it, or null (digest only). */
  repoTag: string | null;
}

export function parsePlatformString(s: string | null | undefined): Platform | null {
  if (!s) return null;
  const [os, architecture, variant] = s.split("/");
  if (!os || !architecture) return null;
  return variant ? { os, architecture, variant } : { os, architecture };
}

export function hexOf(digest: string): string {
  return digest.slice(digest.indexOf(":") + 1);
}

export function algOf(digest: string): string {
  return digest.slice(0, digest.indexOf(":"));
}
