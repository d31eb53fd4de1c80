#!/usr/bin/env bun
/**
 * Builds dist/pulldoctor: one self-contained executable (`bun build --compile`) that
 * runs with no node_modules beside it. src/pull/blob-worker.ts is a second entrypoint:
 * Bun embeds a Worker's module in the executable only when it is listed there. Checks that src/version.ts matches package.json.
 * Usage: bun scripts/build.ts [--target bun-linux-arm64 --compile-executable-path PATH]
 */
import { readFileSync } from "node:fs";
import path from "node:path";

const root = path.resolve(import.meta.dir, "..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const versionTs = readFileSync(path.join(root, "src/version.ts"), "utf8");
if (!versionTs.includes(`"${pkg.version}"`)) {
  console.error(`src/version.ts does not say ${pkg.version} (package.json): update it`);
  process.exit(1);
}
const extra = process.argv.slice(2);
const args = [
  "build",
  "--compile",
  "--minify",
  "--sourcemap=none",
  // A standalone executable autoloads .env and bunfig.toml from the working directory by
  // default: a cloned repository's bunfig `preload` would run inside pulldoctor, and its
  // .env would change the proxy the doctor diagnoses (docs/security.md, "The working directory").
  "--no-compile-autoload-dotenv",
  "--no-compile-autoload-bunfig",
  // Off by default in this Bun; said here so a new default cannot turn them on.
  "--no-compile-autoload-tsconfig",
  "--no-compile-autoload-package-json",
  path.join(root, "src/main.ts"),
  path.join(root, "src/pull/blob-worker.ts"),
  "--outfile",
  path.join(root, "dist/pulldoctor"),
  ...extra,
];
const proc = Bun.spawnSync([process.execPath, ...args], { cwd: root, stdout: "inherit", stderr: "inherit" });
if (proc.exitCode !== 0) process.exit(proc.exitCode ?? 1);
