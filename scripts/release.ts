#!/usr/bin/env bun
/**
 * `npm run release`: dist/release/pulldoctor-<os>-<arch>[-musl][.exe] for the seven targets
 * below, and SHA256SUMS (sha256sum's format) beside them. Each is compiled as scripts/compile.ts
 * says, with the runtime of the @oven/bun-* npm package of the installed `bun` package's
 * version. Runtimes are fetched only through npm (`npm pack`) into .cache/bun-runtimes/;
 * once there, the release builds offline. Fails when a binary is over 1.05× its runtime's size.
 * Usage: bun scripts/release.ts [--outdir DIR] [--only NAME,NAME]
 */
import {
  chmodSync,
  createReadStream,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { checkedVersion, compile, ROOT } from "./compile";

export interface ReleaseTarget {
  /** The file is pulldoctor-<name>[.exe]. */
  name: string;
  target: Bun.Build.CompileTarget;
  /** The npm package holding that runtime (Bun's own names: aarch64, not arm64). */
  npm: string;
  exe: boolean;
}

export const TARGETS: ReleaseTarget[] = [
  { name: "linux-x64", target: "bun-linux-x64", npm: "@oven/bun-linux-x64", exe: false },
  { name: "linux-x64-musl", target: "bun-linux-x64-musl", npm: "@oven/bun-linux-x64-musl", exe: false },
  { name: "linux-arm64", target: "bun-linux-arm64", npm: "@oven/bun-linux-aarch64", exe: false },
  { name: "linux-arm64-musl", target: "bun-linux-arm64-musl", npm: "@oven/bun-linux-aarch64-musl", exe: false },
  { name: "darwin-x64", target: "bun-darwin-x64", npm: "@oven/bun-darwin-x64", exe: false },
  { name: "darwin-arm64", target: "bun-darwin-arm64", npm: "@oven/bun-darwin-aarch64", exe: false },
  { name: "windows-x64", target: "bun-windows-x64", npm: "@oven/bun-windows-x64", exe: true },
];

export const MAX_SIZE_RATIO = 1.05;
export const RUNTIME_CACHE = path.join(ROOT, ".cache/bun-runtimes");
export const fileName = (t: ReleaseTarget) => `pulldoctor-${t.name}${t.exe ? ".exe" : ""}`;

/**
 * The version of the installed `bun` package, which must be the Bun running this script:
 * the executable format and the bytecode are tied to the exact Bun that compiles them.
 */
export function bunVersion(): string {
  const pkg = require(require.resolve("bun/package.json", { paths: [ROOT] }));
  if (pkg.version !== Bun.version)
    throw new Error(`this is Bun ${Bun.version} but the installed bun package is ${pkg.version}: run node_modules/.bin/bun`);
  return pkg.version;
}

/** The runtime executable of `t` at `version`, fetched with `npm pack` unless already cached. */
export function runtimeFor(t: ReleaseTarget, version: string): string {
  const dir = path.join(RUNTIME_CACHE, `${t.npm.replace("@oven/", "")}-${version}`);
  const bin = path.join(dir, "package/bin", t.exe ? "bun.exe" : "bun");
  if (existsSync(bin)) return bin;
  mkdirSync(RUNTIME_CACHE, { recursive: true });
  // Fetched and unpacked beside the cache entry, then renamed into place: a run cut short
  // leaves no half-written runtime that a later run would take as fetched.
  const tmp = mkdtempSync(path.join(RUNTIME_CACHE, ".fetch-"));
  try {
    // npm checks the tarball against the registry's integrity hash as it downloads it.
    run(["npm", "pack", `${t.npm}@${version}`, "--pack-destination", tmp, "--silent"], tmp);
    const tgz = readdirSync(tmp).find((f) => f.endsWith(".tgz"));
    if (!tgz) throw new Error(`npm pack ${t.npm}@${version} wrote no tarball`);
    run(["tar", "-xzf", tgz], tmp);
    rmSync(path.join(tmp, tgz));
    if (!existsSync(path.join(tmp, "package/bin", path.basename(bin))))
      throw new Error(`${t.npm}@${version} has no bin/${path.basename(bin)}`);
    chmodSync(tmp, 0o755); // mkdtemp's 0700 would hide the cache from other users of the checkout
    rmSync(dir, { recursive: true, force: true });
    renameSync(tmp, dir);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return bin;
}

function run(cmd: string[], cwd: string): void {
  const p = Bun.spawnSync(cmd, { cwd, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} failed (exit ${p.exitCode}):\n${p.stderr.toString()}${p.stdout.toString()}`);
}

export async function sha256File(file: string): Promise<string> {
  const h = new Bun.CryptoHasher("sha256");
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer);
  return h.digest("hex");
}

export interface Built {
  target: ReleaseTarget;
  file: string;
  bytes: number;
  runtimeBytes: number;
  ratio: number;
}

/** Builds every target (or those named in `only`) into `outdir`, replacing what was there. */
export async function release(outdir: string, only?: string[]): Promise<Built[]> {
  const version = bunVersion();
  checkedVersion();
  const targets = only ? TARGETS.filter((t) => only.includes(t.name)) : TARGETS;
  if (only && targets.length !== only.length)
    throw new Error(`unknown target in ${only.join(",")}; known: ${TARGETS.map((t) => t.name).join(", ")}`);
  rmSync(outdir, { recursive: true, force: true });
  mkdirSync(outdir, { recursive: true });
  const built: Built[] = [];
  for (const t of targets) {
    const runtime = runtimeFor(t, version);
    const file = path.join(outdir, fileName(t));
    await compile({ outfile: file, target: t.target, executablePath: runtime });
    const bytes = statSync(file).size;
    const runtimeBytes = statSync(runtime).size;
    built.push({ target: t, file, bytes, runtimeBytes, ratio: bytes / runtimeBytes });
  }
  const sums = await Promise.all(built.map(async (b) => `${await sha256File(b.file)}  ${path.basename(b.file)}\n`));
  writeFileSync(path.join(outdir, "SHA256SUMS"), sums.join(""));
  return built;
}

if (import.meta.main) {
  const argv = process.argv.slice(2);
  let outdir = path.join(ROOT, "dist/release");
  let only: string[] | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === "--outdir") outdir = path.resolve(argv[++i] ?? "");
    else if (argv[i] === "--only") only = (argv[++i] ?? "").split(",");
    else {
      console.error(`release.ts: unknown argument ${argv[i]}`);
      process.exit(2);
    }
  }
  try {
    const built = await release(outdir, only);
    const shown = path.relative(ROOT, outdir);
    console.log(`Bun ${Bun.version} runtimes from .cache/bun-runtimes; ${shown.startsWith("..") ? outdir : shown}:`);
    console.log("| file | bytes | runtime bytes | × runtime |\n|---|---:|---:|---:|");
    for (const b of built) console.log(`| ${path.basename(b.file)} | ${b.bytes} | ${b.runtimeBytes} | ${b.ratio.toFixed(4)} |`);
    const over = built.filter((b) => b.ratio > MAX_SIZE_RATIO);
    if (over.length) {
      console.error(`over ${MAX_SIZE_RATIO}× the runtime: ${over.map((b) => path.basename(b.file)).join(", ")}`);
      process.exit(1);
    }
  } catch (e) {
    console.error((e as Error).message);
    process.exit(1);
  }
}
