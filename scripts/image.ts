#!/usr/bin/env bun
/**
 * `npm run image`: the doctor's own container image, for `fleet manifest --image`, as an OCI
 * image layout at dist/image (tag = package.json version). Built offline from this machine's
 * files: dist/pulldoctor plus exactly the shared libraries `ldd` says it loads (the dynamic
 * loader included), a passwd/group naming root and nobody, and an nsswitch.conf that has
 * getaddrinfo read /etc/hosts then DNS, as the node's clients do. No shell, no package
 * manager; ENTRYPOINT is the binary. Every timestamp is SOURCE_DATE_EPOCH (default 0), entries
 * are sorted and owned by 0:0, so the same inputs always give the same digests.
 *
 * Usage: bun scripts/image.ts [--binary PATH] [--out DIR]
 */
import { createHash } from "node:crypto";
import { mkdirSync, readFileSync, realpathSync, rmSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { gzipSync } from "node:zlib";
import { END_OF_ARCHIVE, padding, tarHeader } from "../src/pull/outputs/tar-header";

const root = path.resolve(import.meta.dir, "..");
const pkg = JSON.parse(readFileSync(path.join(root, "package.json"), "utf8"));
const args = process.argv.slice(2);
const flag = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? path.resolve(args[i + 1]!) : dflt;
};
const binary = flag("--binary", path.join(root, "dist/pulldoctor"));
const out = flag("--out", path.join(root, "dist/image"));
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? 0);
const GOARCH: Record<string, string> = { x64: "amd64", arm64: "arm64" };

interface FileEntry {
  name: string;
  data: Uint8Array;
  mode: number;
}

/** `ldd BINARY` → [path in the image, file on this machine] for the loader and every library. */
export function sharedLibraries(lddOutput: string): { at: string; from: string }[] {
  const libs: { at: string; from: string }[] = [];
  for (const line of lddOutput.split("\n")) {
    const arrow = /^\s*\S+ => (\/\S+) \(0x[0-9a-f]+\)/.exec(line);
    const loader = /^\s*(\/\S+) \(0x[0-9a-f]+\)/.exec(line);
    const p = arrow?.[1] ?? loader?.[1];
    if (p) libs.push({ at: p, from: realpathSync(p) });
    else if (/not found/.test(line)) throw new Error(`ldd: a library is missing on this machine: ${line.trim()}`);
  }
  return libs;
}

function layerFiles(): FileEntry[] {
  const ldd = Bun.spawnSync(["ldd", binary], { stdout: "pipe", stderr: "pipe" });
  if (ldd.exitCode !== 0) throw new Error(`ldd ${binary} failed: ${ldd.stderr.toString()}`);
  const files: FileEntry[] = [{ name: "pulldoctor", data: readFileSync(binary), mode: 0o755 }];
  // The loader is exec'd by the kernel (it needs x); libraries are mapped by the loader.
  for (const lib of sharedLibraries(ldd.stdout.toString()))
    files.push({ name: lib.at.slice(1), data: readFileSync(lib.from), mode: 0o755 });
  const text = (s: string) => new TextEncoder().encode(s);
  files.push(
    {
      name: "etc/passwd",
      data: text("root:x:0:0:root:/root:/nonexistent\nnobody:x:65534:65534:nobody:/nonexistent:/nonexistent\n"),
      mode: 0o644,
    },
    { name: "etc/group", data: text("root:x:0:\nnogroup:x:65534:\n"), mode: 0o644 },
    { name: "etc/nsswitch.conf", data: text("hosts: files dns\n"), mode: 0o644 },
  );
  return files;
}

/** One layer: parent directories first, then everything sorted by name, 0:0, mtime = epoch. */
function layerTar(files: FileEntry[]): Uint8Array {
  const dirs = new Set<string>(["tmp"]);
  for (const f of files) for (let d = path.posix.dirname(f.name); d !== "."; d = path.posix.dirname(d)) dirs.add(d);
  const entries = [
    ...[...dirs].map((d) => ({ name: `${d}/`, dir: true as const, mode: d === "tmp" ? 0o1777 : 0o755 })),
    ...files.map((f) => ({ ...f, dir: false as const })),
  ].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.dir) parts.push(tarHeader({ name: e.name, size: 0, type: "dir", mode: e.mode, mtime: epoch }));
    else parts.push(tarHeader({ name: e.name, size: e.data.length, mode: e.mode, mtime: epoch }), e.data, padding(e.data.length));
  }
  parts.push(END_OF_ARCHIVE);
  return Buffer.concat(parts);
}

const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;

function writeBlob(bytes: Uint8Array): { digest: string; size: number } {
  const digest = sha256(bytes);
  const dir = path.join(out, "blobs", "sha256");
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, digest.slice(7)), bytes);
  return { digest, size: bytes.length };
}

function main(): void {
  statSync(binary); // a clear ENOENT when the binary was not built
  const arch = GOARCH[process.arch];
  if (!arch) throw new Error(`no image for ${process.arch}`);
  const tar = layerTar(layerFiles());
  // gzip without a name or time in its header: the same tar always compresses to the same bytes.
  const gz = gzipSync(tar, { level: 6 });
  rmSync(out, { recursive: true, force: true });
  const layer = writeBlob(gz);
  const created = new Date(epoch * 1000).toISOString();
  const config = {
    created,
    architecture: arch,
    os: "linux",
    config: {
      Entrypoint: ["/pulldoctor"],
      Env: ["NO_COLOR=1"],
      WorkingDir: "/",
      Labels: { "org.opencontainers.image.title": "pulldoctor", "org.opencontainers.image.version": pkg.version },
    },
    rootfs: { type: "layers", diff_ids: [sha256(tar)] },
    history: [{ created, created_by: "scripts/image.ts: dist/pulldoctor and the shared libraries ldd lists" }],
  };
  const configBlob = writeBlob(new TextEncoder().encode(JSON.stringify(config)));
  const manifest = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", ...configBlob },
    layers: [{ mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", ...layer }],
  };
  const manifestBlob = writeBlob(new TextEncoder().encode(JSON.stringify(manifest)));
  const index = {
    schemaVersion: 2,
    mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [
      {
        mediaType: manifest.mediaType,
        ...manifestBlob,
        platform: { architecture: arch, os: "linux" },
        annotations: { "org.opencontainers.image.ref.name": pkg.version },
      },
    ],
  };
  writeFileSync(path.join(out, "oci-layout"), JSON.stringify({ imageLayoutVersion: "1.0.0" }));
  writeFileSync(path.join(out, "index.json"), JSON.stringify(index));
  const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;
  console.log(
    `${path.relative(process.cwd(), out) || out}: oci layout, tag ${pkg.version}, ${manifestBlob.digest} (layer ${mib(layer.size)}, ${mib(tar.length)} unpacked)`,
  );
  console.log(
    `push it: skopeo copy oci:${path.relative(process.cwd(), out) || out}:${pkg.version} docker://REGISTRY/pulldoctor:${pkg.version}`,
  );
}

if (import.meta.main) main();
