/**
 * The one place that says how pulldoctor is compiled: scripts/build.ts (the host binary) and
 * scripts/release.ts (the seven release binaries) both call compile() with these options.
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import type { BunPlugin } from "bun";

export const ROOT = path.resolve(import.meta.dir, "..");

/** package.json's version, after checking that src/version.ts says the same. */
export function checkedVersion(): string {
  const pkg = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8"));
  const versionTs = readFileSync(path.join(ROOT, "src/version.ts"), "utf8");
  if (!versionTs.includes(`"${pkg.version}"`)) throw new Error(`src/version.ts does not say ${pkg.version} (package.json): update it`);
  return pkg.version;
}

/**
 * Bytecode for the top level of every module only (depth 0): `--version` starts in a third of
 * the time of a source-only build (≈ 21 vs 70 ms); each deeper level starts 1–3 ms sooner but
 * adds 2.7–5.3 MB, over the ≤ 1.05× size bound (docs/performance.md, "Bytecode").
 */
export const BYTECODE_DEPTH = 0;

/**
 * Bun stores an embedded module as one byte per character when it is ASCII, as UTF-16
 * otherwise. Its printer escapes non-ASCII in code but keeps `/*! … *\/` licence comments
 * verbatim, and one "ä" in undici's doubled the whole 1.3 MB bundle in the binary. This
 * escapes non-ASCII inside such comments (the notice stays, readable) so the bundle is ASCII.
 */
const asciiLicenceComments: BunPlugin = {
  name: "ascii-licence-comments",
  setup(build) {
    build.onLoad({ filter: /\.[cm]?js$/ }, async (args) => {
      const text = await Bun.file(args.path).text();
      if (!/[^\x00-\x7f]/.test(text)) return undefined;
      // One \uXXXX per UTF-16 code unit: were a match ever inside a string or a regex rather
      // than a comment, the escape would still mean the same text there.
      const toEscape = (ch: string) => `\\u${ch.charCodeAt(0).toString(16).padStart(4, "0")}`;
      const contents = text.replace(/\/\*![\s\S]*?\*\//g, (c) => c.replace(/[^\x00-\x7f]/g, toEscape));
      // Every other file is left to Bun's own loader.
      return contents === text ? undefined : { contents, loader: "js" };
    });
  },
};

/**
 * JavaScriptCore's tier-up thresholds × this at start: a check's code runs once, and compiling it
 * for the JIT cost ≈ 2–3 ms of it (docs/performance.md, "JIT policy"); pulls, many images and
 * fleets set the normal policy back (src/host/jit.ts). Stored as a flag: the binary's size is the same.
 */
export const JIT_POLICY = 1000;

export interface CompileJob {
  outfile: string;
  /** e.g. bun-linux-arm64-musl; the host's when absent. */
  target?: Bun.Build.CompileTarget;
  /** The runtime to embed (an @oven/bun-* package's bun); this Bun when absent. */
  executablePath?: string;
  /** false: no bytecode (for measuring what it buys). */
  bytecode?: boolean;
  /**
   * How deep bytecode goes: BYTECODE_DEPTH when absent; "all" for every function, which makes
   * a healthy check ≈ 11 ms faster and every binary ≈ 5 MB larger, over the release bound
   * (docs/performance.md, "What the check's compiling costs, and the build without it").
   */
  bytecodeDepth?: number | "all";
  /** Other entrypoints than pulldoctor's (the benchmark's hello-world, compiled the same way). */
  entrypoints?: string[];
}

/** Compile src/main.ts into one executable; throws with Bun's messages when the build fails. */
export async function compile(job: CompileJob): Promise<void> {
  checkedVersion();
  const bytecode = job.bytecode ?? true;
  const depth = job.bytecodeDepth ?? BYTECODE_DEPTH;
  const result = await Bun.build({
    // Failures come back in `logs` (below) rather than as an AggregateError that says only "Bundle failed".
    throw: false,
    // The Worker entry is listed: Bun embeds a Worker's module only when it is an entrypoint.
    entrypoints: job.entrypoints ?? [path.join(ROOT, "src/main.ts"), path.join(ROOT, "src/pull/blob-worker.ts")],
    compile: {
      outfile: job.outfile,
      ...(job.target ? { target: job.target } : {}),
      ...(job.executablePath ? { executablePath: job.executablePath } : {}),
      // A standalone executable autoloads .env and bunfig.toml from the working directory by
      // default: a cloned repository's bunfig `preload` would run inside pulldoctor, and its
      // .env would change the proxy the doctor diagnoses (docs/security.md, "The working directory").
      autoloadDotenv: false,
      autoloadBunfig: false,
      // Off by default in this Bun; said here so a new default cannot turn them on.
      autoloadTsconfig: false,
      autoloadPackageJson: false,
      jitPolicy: JIT_POLICY,
      // Verified TLS trusts the host's store as well as the runtime's bundled roots. Go reads the
      // host's store (/etc/ssl/certs), so dockerd, containerd and podman trust a corporate root
      // installed with update-ca-certificates; without this flag Bun reads that store only when
      // SSL_CERT_FILE names it, and such a registry's /v2/ failed here while `docker pull` worked
      // (test/e2e/system-trust.test.ts). Read at the first verified connection, not at start-up.
      execArgv: ["--use-system-ca"],
    },
    minify: true,
    sourcemap: "none",
    // Not Bun's bytecode default, CommonJS: there `import.meta.url` is the build machine's
    // source path, so the blob Worker (src/pull/lanes.ts) would load only where the source is.
    format: "esm",
    // One chunk per dynamically imported part: the entry chunk holds only what main.ts imports
    // statically, so `--version` evaluates and loads none of the commands (docs/performance.md, "Start-up, diagnosis and small blobs").
    splitting: true,
    // Bun's own default, no depth given, is every function.
    ...(bytecode ? { bytecode: true, ...(depth === "all" ? {} : { bytecodeDepth: depth }) } : {}),
    plugins: [asciiLicenceComments],
  });
  if (!result.success) throw new Error(`bun build failed:\n${result.logs.map(String).join("\n")}`);
}
