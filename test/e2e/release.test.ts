import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { bunVersion, fileName, MAX_SIZE_RATIO, runtimeFor, sha256File, TARGETS } from "../../scripts/release";
import { buildImage } from "../../src/lab/image";
import { ROOT } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { countOf, readElf, readMachO, readPe } from "../helpers/exe-format";
import { pushImage } from "../helpers/push";
import { MUSL_LOADER, type MuslRuntime, muslCxxRuntime } from "../peers/musl";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * `npm run release` (scripts/release.ts), built once into a temp dir with no network: the
 * seven binaries, their checksums and sizes; the linux-arm64 one run under qemu-user, the musl
 * one under Debian's musl loader; the darwin and windows ones read for their format and
 * embedded version.
 */
const VERSION: string = JSON.parse(readFileSync(path.join(ROOT, "package.json"), "utf8")).version;
const image = buildImage({
  label: "release",
  layers: [[{ name: "a.txt", content: "layer one\n" }], [{ name: "b.txt", content: "layer two\n" }]],
});

let out: { dir: string; cleanup: () => void };
let home: { dir: string; cleanup: () => void };
let repo: { dir: string; cleanup: () => void };
let reg: RegistryPeer;
let musl: MuslRuntime;
const bin = (name: string) => path.join(out.dir, fileName(TARGETS.find((t) => t.name === name) ?? TARGETS[0]!));
const marker = () => path.join(repo.dir, "preload-ran");

beforeAll(async () => {
  out = tempDir("pd-release-");
  // Fetched through npm once (a no-op when .cache/bun-runtimes has them), then built with no
  // network at all (a new network namespace): the release must not download anything.
  for (const t of TARGETS) runtimeFor(t, bunVersion());
  const unshare = requireBinary("unshare", "util-linux");
  const release = [process.execPath, path.join(ROOT, "scripts/release.ts"), "--outdir", out.dir];
  const p = Bun.spawn([unshare, "--net", ...release], {
    cwd: ROOT,
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  if (code !== 0) throw new Error(`scripts/release.ts exited ${code}:\n${stdout}${stderr}`);
  home = tempDir("pd-release-home-");
  // A cloned repository as the working directory: its bunfig preload and .env must not load.
  repo = tempDir("pd-release-repo-");
  writeFileSync(path.join(repo.dir, "bunfig.toml"), 'preload = ["./x.ts"]\n');
  writeFileSync(path.join(repo.dir, "x.ts"), `require("node:fs").writeFileSync(${JSON.stringify(marker())}, "ran\\n");\n`);
  writeFileSync(path.join(repo.dir, ".env"), "HTTPS_PROXY=http://127.0.0.1:1\nHTTP_PROXY=http://127.0.0.1:1\n");
  reg = await startRegistry();
  await pushImage(reg.url, "rel/app", "1.0", image);
  musl = muslCxxRuntime();
}, 900_000);

afterAll(async () => {
  await reg?.stop();
  for (const d of [out, home, repo]) d?.cleanup();
  musl?.cleanup();
});

async function exec(cmd: string[], env: Record<string, string> = {}, cwd = home.dir) {
  const p = Bun.spawn(cmd, {
    cwd,
    env: { PATH: "/usr/bin:/bin", HOME: home.dir, NO_COLOR: "1", ...env },
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const timer = setTimeout(() => p.kill("SIGKILL"), 120_000);
  const [stdout, stderr, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { stdout, stderr, code };
}

const checkArgs = () => [
  "check",
  `${reg.host}/rel/app:1.0`,
  "--insecure-registry",
  reg.host,
  "--daemon-config",
  path.join(home.dir, "none.json"),
  "--certs-dir",
  path.join(home.dir, "certs.d"),
  "--timeout",
  "30",
  "--json",
];

function expectHealthy(r: { stdout: string; stderr: string; code: number }) {
  const report = JSON.parse(r.stdout);
  expect(report.verdict.ok).toBe(true);
  expect(report.findings.filter((f: { severity: string }) => f.severity === "error")).toEqual([]);
  // The .env in the working directory set a proxy: had it loaded, the proxy stage would say so.
  const proxy = report.stages.find((s: { id: string }) => s.id === "proxy");
  expect(proxy.evidence.shell.proxy).toBeNull();
  expect(report.tool.version).toBe(VERSION);
  expect(r.code).toBe(0);
  expect(existsSync(marker())).toBe(false);
}

test("seven binaries and SHA256SUMS, which sha256sum -c accepts", async () => {
  const names = TARGETS.map(fileName);
  expect(readdirSync(out.dir).sort()).toEqual([...names, "SHA256SUMS"].sort());
  const sums = readFileSync(path.join(out.dir, "SHA256SUMS"), "utf8");
  const lines = sums.trimEnd().split("\n");
  expect(lines.map((l) => l.slice(66)).sort()).toEqual([...names].sort());
  for (const l of lines) expect(l).toBe(`${await sha256File(path.join(out.dir, l.slice(66)))}  ${l.slice(66)}`);
  const r = await exec([requireBinary("sha256sum", "coreutils"), "--strict", "-c", "SHA256SUMS"], {}, out.dir);
  expect(r.stdout.trim().split("\n").sort()).toEqual(names.map((n) => `${n}: OK`).sort());
  expect(r.code).toBe(0);
});

test(`each binary is at most ${MAX_SIZE_RATIO}× its bare runtime`, () => {
  const version = bunVersion();
  for (const t of TARGETS) {
    const ratio = statSync(path.join(out.dir, fileName(t))).size / statSync(runtimeFor(t, version)).size;
    expect([t.name, ratio <= MAX_SIZE_RATIO]).toEqual([t.name, true]);
  }
});

describe("file formats", () => {
  test.each([
    ["linux-x64", 62, "/lib64/ld-linux-x86-64.so.2"],
    ["linux-x64-musl", 62, "/lib/ld-musl-x86_64.so.1"],
    ["linux-arm64", 183, "/lib/ld-linux-aarch64.so.1"],
    ["linux-arm64-musl", 183, "/lib/ld-musl-aarch64.so.1"],
  ])("%s: ELF for machine %d, loader %s", (name, machine, interpreter) => {
    expect(readElf(readFileSync(bin(name)))).toEqual({ machine, interpreter });
  });

  // The version is in the embedded bundle, not in the runtime: more copies than the runtime has.
  const embedsVersion = (name: string) => {
    const t = TARGETS.find((x) => x.name === name);
    if (!t) throw new Error(name);
    const b = readFileSync(bin(name));
    expect(countOf(b, `"${VERSION}"`)).toBeGreaterThan(countOf(readFileSync(runtimeFor(t, bunVersion())), `"${VERSION}"`));
    expect(countOf(b, "root/pull/blob-worker.js")).toBeGreaterThan(0);
    return b;
  };

  test.each([
    ["darwin-x64", 0x01000007],
    ["darwin-arm64", 0x0100000c],
  ])("%s: Mach-O executable for CPU %d, signed, version embedded", (name, cpuType) => {
    const m = readMachO(embedsVersion(name));
    expect(m).toMatchObject({ cpuType, fileType: 2, signed: true });
    expect(m.segments).toContain("__BUN");
  });

  test("windows-x64: PE32+ console program for x64, version embedded", () => {
    const pe = readPe(embedsVersion("windows-x64"));
    expect(pe).toMatchObject({ machine: 0x8664, subsystem: 3 });
    expect(pe.sections).toContain(".bun");
  });
});

describe("linux-arm64 under qemu-aarch64-static (libc6-arm64-cross)", () => {
  const qemu = () => [requireBinary("qemu-aarch64-static", "qemu-user-static"), "-L", "/usr/aarch64-linux-gnu", bin("linux-arm64")];
  test("--version", async () => {
    if (!existsSync("/usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1")) throw new Error("apt-get install -y libc6-arm64-cross");
    const r = await exec([...qemu(), "--version"]);
    expect(r).toEqual({ stdout: `pulldoctor ${VERSION}\n`, stderr: "", code: 0 });
  }, 120_000);

  test("a healthy check of a local docker-registry, run inside a repo with bunfig.toml and .env", async () => {
    rmSync(marker(), { force: true });
    expectHealthy(await exec([...qemu(), ...checkArgs()], {}, repo.dir));
  }, 120_000);
});

describe("linux-x64-musl under Debian's musl loader", () => {
  const env = () => ({ LD_LIBRARY_PATH: musl.libDir });
  test("it is started by the musl loader", async () => {
    const r = await exec([MUSL_LOADER, bin("linux-x64-musl"), "--version"], env());
    expect(r).toEqual({ stdout: `pulldoctor ${VERSION}\n`, stderr: "", code: 0 });
  });

  test("a healthy check, run inside a repo with bunfig.toml and .env", async () => {
    rmSync(marker(), { force: true });
    expectHealthy(await exec([bin("linux-x64-musl"), ...checkArgs()], env(), repo.dir));
  }, 60_000);

  test("a pull into an OCI layout, the blobs moved by a Worker (a second thread)", async () => {
    const r = await exec(pullArgs("musl"), { ...env(), ...workerEnv("musl") });
    expectPulled(r, "musl");
  }, 60_000);
});

const pullArgs = (name: string) => [
  ...(name === "musl" ? [bin("linux-x64-musl")] : [bin("linux-x64")]),
  "pull",
  ...checkArgs().slice(1),
  "--output",
  `oci:${path.join(home.dir, `oci-${name}`)}:1.0`,
];

/** One blob Worker, and JSC's log of each module's bytecode: a hit, or a miss and a parse. */
const workerEnv = (name: string) => ({
  PULLDOCTOR_STORE: path.join(home.dir, `store-${name}`),
  PULLDOCTOR_PULL_WORKERS: "1",
  BUN_JSC_verboseDiskCache: "1",
});

function expectPulled(r: { stdout: string; stderr: string; code: number }, name: string) {
  const report = JSON.parse(r.stdout);
  expect(report.verdict.ok).toBe(true);
  expect(report.pull).toMatchObject({ digest: image.digest, layers: 2 });
  expect(existsSync(path.join(home.dir, `oci-${name}`, "index.json"))).toBe(true);
  expect(r.code).toBe(0);
  // The modules ran from their bytecode: the entry chunk, the chunks each command imports
  // (scripts/compile.ts splits), and the Worker's (which a CommonJS bytecode build would leave
  // to be parsed; scripts/compile.ts builds ESM). (The runtime's internal modules miss.)
  expect(r.stderr.match(/Cache hit for sourceCode/g)?.length).toBeGreaterThanOrEqual(3);
}

test("linux-x64: a pull into an OCI layout, main module and blob Worker both from bytecode", async () => {
  expectPulled(await exec(pullArgs("glibc"), workerEnv("glibc")), "glibc");
}, 60_000);
