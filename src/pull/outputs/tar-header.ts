/**
 * POSIX ustar headers, enough for image layers and `docker save` archives: regular
 * files and directories, names up to 255 bytes (prefix + name split), sizes up to 8 GiB
 * in octal and beyond that in base-256, as GNU tar and Go's archive/tar read them.
 */
export const BLOCK = 512;

export interface TarEntry {
  name: string;
  size: number;
  type?: "file" | "dir" | "symlink";
  mode?: number;
  mtime?: number;
  linkname?: string;
}

export function tarHeader(e: TarEntry): Uint8Array {
  const h = new Uint8Array(BLOCK);
  const type = e.type ?? "file";
  let name = e.name;
  if (type === "dir" && !name.endsWith("/")) name += "/";
  let prefix = "";
  if (Buffer.byteLength(name) > 100) {
    const cut = splitName(name);
    if (!cut) throw new Error(`tar: name too long: ${name}`);
    [prefix, name] = cut;
  }
  writeStr(h, 0, 100, name);
  writeOctal(h, 100, 8, e.mode ?? (type === "dir" ? 0o755 : 0o644));
  writeOctal(h, 108, 8, 0);
  writeOctal(h, 116, 8, 0);
  writeSize(h, 124, type === "file" ? e.size : 0);
  writeOctal(h, 136, 12, e.mtime ?? 0);
  h.fill(0x20, 148, 156);
  h[156] = type === "dir" ? 0x35 : type === "symlink" ? 0x32 : 0x30;
  if (e.linkname) writeStr(h, 157, 100, e.linkname);
  writeStr(h, 257, 6, "ustar");
  writeStr(h, 263, 2, "00");
  writeStr(h, 345, 155, prefix);
  let sum = 0;
  for (const b of h) sum += b;
  writeStr(h, 148, 8, `${sum.toString(8).padStart(6, "0")}\0 `);
  return h;
}

export function padding(size: number): Uint8Array {
  const rem = size % BLOCK;
  return new Uint8Array(rem === 0 ? 0 : BLOCK - rem);
}

/** Two zero blocks end an archive. */
export const END_OF_ARCHIVE = new Uint8Array(BLOCK * 2);

/** A whole small tar in memory (layers of test and demo images). */
export function tarBytes(files: { name: string; content: Uint8Array | string; type?: "file" | "dir" }[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const f of files) {
    const data = typeof f.content === "string" ? new TextEncoder().encode(f.content) : f.content;
    const type = f.type ?? "file";
    parts.push(tarHeader({ name: f.name, size: type === "file" ? data.length : 0, type, mtime: 0 }));
    if (type === "file") {
      parts.push(data, padding(data.length));
    }
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

function splitName(name: string): [string, string] | null {
  for (let i = name.length - 1; i > 0; i--) {
    if (name[i] !== "/") continue;
    const p = name.slice(0, i);
    const n = name.slice(i + 1);
    if (Buffer.byteLength(p) <= 155 && Buffer.byteLength(n) <= 100 && n.length > 0) return [p, n];
  }
  return null;
}

function writeStr(h: Uint8Array, off: number, len: number, s: string): void {
  const b = Buffer.from(s);
  h.set(b.subarray(0, len), off);
}

function writeOctal(h: Uint8Array, off: number, len: number, n: number): void {
  writeStr(h, off, len, `${n.toString(8).padStart(len - 1, "0")}\0`);
}

function writeSize(h: Uint8Array, off: number, n: number): void {
  if (n < 8 ** 11) {
    writeOctal(h, off, 12, n);
    return;
  }
  // base-256: high bit set, big-endian in the remaining 11 bytes
  h[off] = 0x80;
  let v = BigInt(n);
  for (let i = 11; i >= 1; i--) {
    h[off + i] = Number(v & 0xffn);
    v >>= 8n;
  }
}
