import { existsSync, readFileSync } from "node:fs";
import path from "node:path";

/**
 * The conformance vectors recorded from the reference implementations live in the
 * project's shared/ folder, beside the checkout (shared/vectors/*.json), in development and
 * in CI alike. A missing file fails loudly: these tables are never skipped.
 */
export function readVectors<T>(name: string): T {
  const file = path.resolve(import.meta.dir, "../../../shared/vectors", name);
  if (!existsSync(file))
    throw new Error(`conformance vectors ${name} not found at ${file}: the shared/ folder must sit beside the checkout`);
  return JSON.parse(readFileSync(file, "utf8")) as T;
}
