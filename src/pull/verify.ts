import { closeSync, openSync, readSync } from "node:fs";

/**
 * Digests as the OCI image spec defines them (algorithm ":" encoded). Only sha256 and
 * sha512 are registered algorithms; anything else is refused before it can name a file.
 */
const PATTERNS: Record<string, RegExp> = { sha256: /^[a-f0-9]{64}$/, sha512: /^[a-f0-9]{128}$/ };

export interface ParsedDigest {
  algorithm: "sha256" | "sha512";
  hex: string;
}

export function parseDigest(digest: string): ParsedDigest | null {
  const i = digest.indexOf(":");
  if (i < 0) return null;
  const algorithm = digest.slice(0, i);
  const hex = digest.slice(i + 1);
  const re = PATTERNS[algorithm];
  if (!re?.test(hex)) return null;
  return { algorithm: algorithm as ParsedDigest["algorithm"], hex };
}

export function newHasher(algorithm: ParsedDigest["algorithm"]): Bun.CryptoHasher {
  return new Bun.CryptoHasher(algorithm);
}

export function hasherDigest(h: Bun.CryptoHasher, algorithm: ParsedDigest["algorithm"]): string {
  return `${algorithm}:${h.digest("hex")}`;
}

/**
 * Feed the first `length` bytes of a file to the hasher: a resumed download must hash
 * what it already has before the new bytes (as Docker re-reads its temp file, and
 * containerd's ingest keeps the running digest state).
 */
export function hashFilePrefix(h: Bun.CryptoHasher, path: string, length: number): void {
  const fd = openSync(path, "r");
  try {
    const buf = Buffer.allocUnsafe(1 << 20);
    let off = 0;
    while (off < length) {
      const n = readSync(fd, buf, 0, Math.min(buf.length, length - off), off);
      if (n <= 0) throw new Error(`short read of ${path} at ${off}`);
      h.update(buf.subarray(0, n));
      off += n;
    }
  } finally {
    closeSync(fd);
  }
}

/** Digest of a whole file, streamed (never loads it in memory). */
export async function digestFile(path: string, algorithm: ParsedDigest["algorithm"] = "sha256"): Promise<string> {
  const h = newHasher(algorithm);
  for await (const chunk of Bun.file(path).stream()) h.update(chunk);
  return hasherDigest(h, algorithm);
}
