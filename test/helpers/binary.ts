import { existsSync } from "node:fs";
import path from "node:path";

export const ROOT = path.resolve(import.meta.dir, "../..");
/**
 * dist/pulldoctor, or PULLDOCTOR_TEST_BINARY: engineers working in parallel in one checkout
 * each build their own copy (`bun scripts/build.ts --outfile /tmp/…`) and point the tests at it.
 */
export const BINARY = process.env.PULLDOCTOR_TEST_BINARY || path.join(ROOT, "dist/pulldoctor");

/** The compiled binary, built by `npm test` (bun scripts/build.ts) before the suite runs. */
export function requireBinaryBuilt(): string {
  if (!existsSync(BINARY)) throw new Error(`dist/pulldoctor is missing: build it with 'bun scripts/build.ts' (npm test does)`);
  return BINARY;
}

export interface RunOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * `check`/`pull` judged as classic Docker unless the test names a client: `--client auto` would
 * judge as whatever this machine has (a containerd config.toml from the Debian package makes it
 * containerd), and the tests would depend on the machine. Tests about clients pass --client.
 */
export function pinClient(args: string[]): string[] {
  if (!["check", "pull"].includes(args[0] ?? "")) return args;
  const client = args[args.indexOf("--client") + 1];
  const store = args.includes("--docker-store") ? [] : ["--docker-store", "classic"];
  // A test that says only `--client docker` means Docker as these tests know it, the classic store.
  if (args.includes("--client")) return client === "docker" ? [...args, ...store] : args;
  return [...args, "--client", "docker", ...store];
}

/**
 * Run the compiled binary (or `bun src/main.ts` with viaSource) with a hermetic environment:
 * a temp HOME, no proxy variables, no DOCKER_CONFIG/DOCKER_HOST unless given.
 */
export async function runCli(
  args: string[],
  opts: { env?: Record<string, string>; stdin?: string; viaSource?: boolean; cwd?: string; timeoutMs?: number; home: string },
): Promise<RunOutput> {
  const pinned = pinClient(args);
  const cmd = opts.viaSource ? [process.execPath, path.join(ROOT, "src/main.ts"), ...pinned] : [requireBinaryBuilt(), ...pinned];
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: opts.home, NO_COLOR: "1", ...opts.env };
  const proc = Bun.spawn(cmd, {
    env,
    cwd: opts.cwd ?? opts.home,
    stdin: opts.stdin !== undefined ? new TextEncoder().encode(opts.stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), opts.timeoutMs ?? 60_000);
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  return { code, stdout, stderr };
}
