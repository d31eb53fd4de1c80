import { existsSync, symlinkSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { requireBinary } from "./require";

/** Debian's musl dynamic loader (package musl, which musl-tools pulls in). */
export const MUSL_LOADER = "/lib/ld-musl-x86_64.so.1";

export interface MuslRuntime {
  /** LD_LIBRARY_PATH for a musl program that needs libstdc++.so.6 and libgcc_s.so.1. */
  libDir: string;
  cleanup(): void;
}

/**
 * Bun's linux-x64-musl runtime needs libstdc++.so.6 and libgcc_s.so.1 built for musl, which
 * Debian does not package (Alpine's are `apk add libstdc++ libgcc`). Debian's own (glibc)
 * copies load under the musl loader once a few glibc-only symbols are supplied: this compiles
 * musl-glibc-shim.c with musl-gcc into a temp dir and links Debian's libraries beside it.
 */
export function muslCxxRuntime(): MuslRuntime {
  if (!existsSync(MUSL_LOADER)) throw new Error(`${MUSL_LOADER} is missing: apt-get install -y musl`);
  const gcc = requireBinary("musl-gcc", "musl-tools");
  const libs = ["/usr/lib/x86_64-linux-gnu/libstdc++.so.6", "/lib/x86_64-linux-gnu/libgcc_s.so.1"];
  for (const l of libs) if (!existsSync(l)) throw new Error(`${l} is missing: apt-get install -y libstdc++6 libgcc-s1`);
  const dir = tempDir("pd-musl-");
  try {
    for (const l of libs) symlinkSync(l, path.join(dir.dir, path.basename(l)));
    const out = path.join(dir.dir, "ld-linux-x86-64.so.2");
    const src = path.join(import.meta.dir, "musl-glibc-shim.c");
    const p = Bun.spawnSync([gcc, "-shared", "-fPIC", "-O2", "-Wl,-soname,ld-linux-x86-64.so.2", "-o", out, src], { stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`musl-gcc could not build the shim: ${p.stderr.toString()}`);
  } catch (e) {
    dir.cleanup();
    throw e;
  }
  return { libDir: dir.dir, cleanup: dir.cleanup };
}
