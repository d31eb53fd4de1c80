import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * The conformance vectors recorded from the reference implementations, kept in the
 * repository (test/vectors/*.json; test/vectors/README.md says how they were recorded).
 * A missing file fails loudly: these tables are never skipped.
 */
export function readVectors<T>(name: string): T {
  const file = path.resolve(import.meta.dir, "../vectors", name);
  if (!existsSync(file)) throw new Error(`conformance vectors ${name} not found at ${file} (test/vectors/ in the repository)`);
  return JSON.parse(readFileSync(file, "utf8")) as T;
}
