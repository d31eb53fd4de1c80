import type { ImageRef } from "../model/facts";
import { parseReference } from "../registry/reference";

/**
 * Where each client names the image in its error, most exact first. The captured text is
 * parsed with Docker's reference rules; a candidate that does not parse is passed over.
 */
const IMAGE_PLACES: { pattern: RegExp; build: (m: RegExpMatchArray) => string }[] = [
  // kubelet, CRI, ctr, nerdctl: the reference quoted.
  {
    pattern:
      /(?:failed to pull and unpack image|failed to resolve reference|Failed to pull image|Back-off pulling image|Pulling image|Successfully pulled image) "([^"]+)"/,
    build: (m) => m[1]!,
  },
  // containers/image: docker://REF
  { pattern: /docker:\/\/(\S+?)(?::\s|"|\s|$)/, build: (m) => m[1]! },
  { pattern: /^Trying to pull (\S+?)\.\.\./m, build: (m) => m[1]! },
  { pattern: /short-name "([^"]+)"/, build: (m) => m[1]! },
  // docker classic
  { pattern: /manifest for (\S+) not found/, build: (m) => m[1]! },
  { pattern: /Unable to find image '([^']+)' locally/, build: (m) => m[1]! },
  { pattern: /reading manifest (\S+) in (\S+?):/, build: (m) => `${m[2]}${m[1]!.startsWith("sha256:") ? "@" : ":"}${m[1]}` },
  // A manifest URL: https://HOST/v2/REPO/manifests/REF
  {
    pattern: /https?:\/\/([^/"\s]+)\/v2\/(\S+?)\/manifests\/([^"\s?]+)/,
    build: (m) => `${m[1]}/${m[2]}${m[3]!.includes(":") ? "@" : ":"}${m[3]}`,
  },
  { pattern: /pull access denied for ([^\s,]+),/, build: (m) => m[1]! },
  { pattern: /^\s*Image:\s+(\S+)\s*$/m, build: (m) => m[1]! },
  { pattern: /image pull failed for (\S+) because/, build: (m) => m[1]! },
];

/** Where only the registry host shows: the /v2/ ping URL, "pinging container registry H", a DNS lookup. */
const HOST_PLACES: RegExp[] = [
  /https?:\/\/([^/"\s]+)\/v2\//,
  /pinging container registry ([^\s:]+(?::\d+)?):/,
  /lookup ([^\s:]+)(?: on |: )/,
];

export interface FoundImage {
  /** As written in the text. */
  found: string;
  ref: ImageRef;
}

export function findImage(text: string): FoundImage | null {
  for (const p of IMAGE_PLACES) {
    const m = text.match(p.pattern);
    if (!m) continue;
    const found = p.build(m);
    try {
      return { found, ref: parseReference(found) };
    } catch {
      /* not a reference Docker would take: try the next place */
    }
  }
  return null;
}

/** A blob download: its URL and lookups are the blob host's (often a CDN after a redirect), not the registry's. */
const BLOB_CONTEXT = /error pulling image configuration: |reading blob sha256:|\/blobs\/sha256:/;

export function findRegistryHost(text: string): string | null {
  if (BLOB_CONTEXT.test(text)) return null;
  for (const p of HOST_PLACES) {
    const m = text.match(p);
    if (m) return m[1]!;
  }
  return null;
}

/** The platform a platform error names: "linux/arm64", "linux/arm/v7". */
export function findPlatform(text: string): string | null {
  const docker = text.match(/no matching manifest for (\S+) in the manifest list entries/);
  if (docker && docker[1] !== "unknown") return docker[1]!;
  const cimage = text.match(/for architecture (\S+?), variant "([^"]*)", OS (\S+?)(?:"|\s|$)/);
  if (cimage) return [cimage[3], cimage[1], cimage[2]].filter(Boolean).join("/");
  return null;
}
