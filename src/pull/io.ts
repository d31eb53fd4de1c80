import { writeSync } from "node:fs";

/** Write a whole buffer (write(2) may write less than asked). */
export function writeAll(fd: number, buf: Uint8Array): void {
  let off = 0;
  while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
}
