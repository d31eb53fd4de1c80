#!/usr/bin/env bun
/**
 * Builds dist/pulldoctor: one self-contained executable (`bun build --compile`) that runs
 * with no node_modules beside it, compiled as scripts/compile.ts says (the release binaries
 * of scripts/release.ts are compiled the same way). Checks that src/version.ts matches package.json.
 * Like every build, it turns off Bun's run-time autoload of the working directory's `.env` and
 * `bunfig.toml` (the Bun.build options that `--no-compile-autoload-dotenv` and
 * `--no-compile-autoload-bunfig` set on the command line; tsconfig and package.json too).
 * Usage: bun scripts/build.ts [--outfile PATH] [--target bun-linux-arm64 --compile-executable-path PATH]
 *                             [--no-bytecode | --bytecode-depth N|all]
 * `--bytecode-depth all` builds a binary whose healthy check starts ≈ 11 ms sooner (every function
 * compiled ahead of time) and is ≈ 1.09× its runtime, over the release's 1.05× bound: for hosts where
 * that size does not matter (docs/performance.md, "What the check's compiling costs, and the build without it").
 */
import path from "node:path";
import { compile, ROOT } from "./compile";

const job: Parameters<typeof compile>[0] = { outfile: path.join(ROOT, "dist/pulldoctor") };
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
  const [flag, inline] = (argv[i] ?? "").split(/=(.*)/s, 2);
  const value = () => inline ?? argv[++i] ?? "";
  if (flag === "--outfile") job.outfile = path.resolve(value());
  else if (flag === "--target") job.target = value() as Bun.Build.CompileTarget;
  else if (flag === "--compile-executable-path") job.executablePath = path.resolve(value());
  else if (flag === "--no-bytecode") job.bytecode = false;
  else if (flag === "--bytecode-depth") {
    const v = value();
    if (v !== "all" && !/^\d+$/.test(v)) {
      console.error(`build.ts: --bytecode-depth takes a number or "all", not ${JSON.stringify(v)}`);
      process.exit(2);
    }
    job.bytecodeDepth = v === "all" ? "all" : Number(v);
  } else {
    console.error(`build.ts: unknown argument ${argv[i]}`);
    process.exit(2);
  }
}
try {
  await compile(job);
  const shown = path.relative(process.cwd(), job.outfile);
  console.log(`built ${shown.startsWith("..") ? job.outfile : shown}`);
} catch (e) {
  console.error((e as Error).message);
  process.exit(1);
}
