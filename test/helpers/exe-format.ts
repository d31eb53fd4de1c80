/**
 * Just enough of the ELF, Mach-O and PE headers to tell what an executable is built for,
 * for the release binaries this machine cannot run (test/e2e/release.test.ts).
 */

export interface ElfInfo {
  /** e_machine: 62 x86-64, 183 AArch64. */
  machine: number;
  /** PT_INTERP: the dynamic loader the kernel starts it with. */
  interpreter: string | null;
}

export function readElf(b: Buffer): ElfInfo {
  if (b.readUInt32BE(0) !== 0x7f454c46) throw new Error("not ELF");
  if (b[4] !== 2 || b[5] !== 1) throw new Error("not a little-endian 64-bit ELF");
  const phoff = Number(b.readBigUInt64LE(0x20));
  const phentsize = b.readUInt16LE(0x36);
  const phnum = b.readUInt16LE(0x38);
  let interpreter: string | null = null;
  for (let i = 0; i < phnum; i++) {
    const ph = phoff + i * phentsize;
    if (b.readUInt32LE(ph) !== 3) continue; // PT_INTERP
    const off = Number(b.readBigUInt64LE(ph + 8));
    const size = Number(b.readBigUInt64LE(ph + 32));
    interpreter = b
      .subarray(off, off + size)
      .toString("latin1")
      .replace(/\0+$/, "");
  }
  return { machine: b.readUInt16LE(0x12), interpreter };
}

export interface MachOInfo {
  /** 0x01000007 x86_64, 0x0100000c arm64. */
  cpuType: number;
  /** 2: MH_EXECUTE. */
  fileType: number;
  segments: string[];
  /** LC_CODE_SIGNATURE's data lies inside the file (macOS on arm64 runs only signed code). */
  signed: boolean;
}

export function readMachO(b: Buffer): MachOInfo {
  if (b.readUInt32LE(0) !== 0xfeedfacf) throw new Error("not a 64-bit little-endian Mach-O");
  const ncmds = b.readUInt32LE(16);
  const segments: string[] = [];
  let signed = false;
  let off = 32;
  for (let i = 0; i < ncmds; i++) {
    const cmd = b.readUInt32LE(off);
    const size = b.readUInt32LE(off + 4);
    if (cmd === 0x19)
      segments.push(
        b
          .subarray(off + 8, off + 24)
          .toString("latin1")
          .replace(/\0+$/, ""),
      ); // LC_SEGMENT_64
    if (cmd === 0x1d) signed = b.readUInt32LE(off + 8) + b.readUInt32LE(off + 12) <= b.length; // LC_CODE_SIGNATURE
    off += size;
  }
  return { cpuType: b.readUInt32LE(4), fileType: b.readUInt32LE(12), segments, signed };
}

export interface PeInfo {
  /** IMAGE_FILE_MACHINE: 0x8664 x64. */
  machine: number;
  /** 2: IMAGE_SUBSYSTEM_WINDOWS_GUI, 3: WINDOWS_CUI (a console program). */
  subsystem: number;
  sections: string[];
}

export function readPe(b: Buffer): PeInfo {
  if (b.toString("latin1", 0, 2) !== "MZ") throw new Error("no MZ header");
  const pe = b.readUInt32LE(0x3c);
  if (b.toString("latin1", pe, pe + 4) !== "PE\0\0") throw new Error("no PE signature");
  const nsections = b.readUInt16LE(pe + 6);
  const optSize = b.readUInt16LE(pe + 20);
  const opt = pe + 24;
  if (b.readUInt16LE(opt) !== 0x20b) throw new Error("not PE32+");
  const sections: string[] = [];
  for (let i = 0; i < nsections; i++) {
    const s = opt + optSize + i * 40;
    sections.push(b.toString("latin1", s, s + 8).replace(/\0+$/, ""));
  }
  return { machine: b.readUInt16LE(pe + 4), subsystem: b.readUInt16LE(opt + 68), sections };
}

/** How often `needle` occurs in `hay`. */
export function countOf(hay: Buffer, needle: string): number {
  const n = Buffer.from(needle, "latin1");
  let count = 0;
  for (let i = hay.indexOf(n); i >= 0; i = hay.indexOf(n, i + 1)) count++;
  return count;
}
