import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { BINARY, requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { Terminal } from "../peers/tmux";

/**
 * Files the binary writes — the --report file, oci:DIR, docker-archive:FILE, the blob store —
 * get safe permissions and never follow a symlink planted at their destination: the link is
 * either replaced atomically (its target's bytes unchanged) or refused with a clear error.
 */
const img = buildImage({ label: "file-safety", layers: [[{ name: "a.txt", content: "file safety layer\n" }]] });
const VICTIM = "victim bytes: must never change\n";

let reg: RegistryPeer;
let tlsReg: RegistryPeer;
let ca: CA;
let work: { dir: string; cleanup: () => void };
let n = 0;

beforeAll(async () => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-files-");
  ca = makeCA("pulldoctor file-safety CA");
  const leaf = issueServerCert(ca, { cn: "0.0.0.0", sans: ["IP:0.0.0.0", "IP:127.0.0.1"] });
  [reg, tlsReg] = await Promise.all([startRegistry(), startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } })]);
  await pushImage(reg.url, "team/app", "1.0", img);
}, 20_000);
afterAll(async () => {
  await Promise.all([reg?.stop(), tlsReg?.stop()]);
  ca?.cleanup();
  work?.cleanup();
});

/** A file outside the destinations that a planted symlink points at. */
function victim(): string {
  const p = path.join(work.dir, `victim-${++n}.txt`);
  writeFileSync(p, VICTIM, { mode: 0o644 });
  return p;
}
const mode = (p: string) => statSync(p).mode & 0o777;

function pull(output: string, extra: string[] = [], store = path.join(work.dir, `store-${++n}`)) {
  return runCli(
    [
      "pull",
      `${reg.host}/team/app:1.0`,
      "--output",
      output,
      "--daemon-config",
      path.join(work.dir, "none.json"),
      "--timeout",
      "5",
      ...extra,
    ],
    { home: work.dir, env: { PULLDOCTOR_STORE: store }, timeoutMs: 30_000 },
  );
}

describe("the --report file", () => {
  test("is 0600; a symlink planted at the path is replaced, its target untouched", async () => {
    const target = victim();
    const link = path.join(work.dir, "report-link.json");
    symlinkSync(target, link);
    const r = await runCli(
      [
        "check",
        `${reg.host}/team/app:1.0`,
        "--json",
        "--report",
        link,
        "--daemon-config",
        path.join(work.dir, "none.json"),
        "--timeout",
        "5",
      ],
      { home: work.dir },
    );
    expect(r.code).toBe(0);
    expect(readFileSync(target, "utf8")).toBe(VICTIM);
    expect(lstatSync(link).isFile()).toBe(true);
    expect(JSON.parse(readFileSync(link, "utf8")).verdict.ok).toBe(true);
    expect(mode(link)).toBe(0o600);
    // No temp file is left beside it.
    expect(readdirSync(work.dir).filter((f) => f.includes("report-link.json") && f !== "report-link.json")).toEqual([]);
  }, 30_000);

  test("a symlink at the old predictable temp name (FILE.tmp-PID) is never written through", async () => {
    const target = victim();
    const file = path.join(work.dir, "report-pid.json");
    // The binary's pid is unknown in advance: plant links for the pids it can plausibly get.
    for (let pid = process.pid; pid < process.pid + 20_000; pid++) symlinkSync(target, `${file}.tmp-${pid}`);
    const r = await runCli(
      [
        "check",
        `${reg.host}/team/app:1.0`,
        "--json",
        "--report",
        file,
        "--daemon-config",
        path.join(work.dir, "none.json"),
        "--timeout",
        "5",
      ],
      { home: work.dir },
    );
    expect(r.code).toBe(0);
    expect(readFileSync(target, "utf8")).toBe(VICTIM);
    expect(mode(file)).toBe(0o600);
  }, 30_000);
});

describe("pull outputs", () => {
  test("docker-archive:FILE is 0600 (as docker save -o); a symlink at FILE is replaced, its target untouched", async () => {
    const target = victim();
    const link = path.join(work.dir, "image-link.tar");
    symlinkSync(target, link);
    const r = await pull(`docker-archive:${link}`);
    expect(r.code).toBe(0);
    expect(readFileSync(target, "utf8")).toBe(VICTIM);
    expect(lstatSync(link).isFile()).toBe(true);
    expect(mode(link)).toBe(0o600);
  }, 30_000);

  test("oci:DIR: a new layout is 0700; a symlink planted at DIR is refused before any download, the linked layout untouched", async () => {
    const fresh = path.join(work.dir, "oci-fresh");
    const ok = await pull(`oci:${fresh}:1.0`);
    expect(ok.code).toBe(0);
    expect(mode(fresh)).toBe(0o700);
    const indexBefore = readFileSync(path.join(fresh, "index.json"), "utf8");
    const link = path.join(work.dir, "oci-link");
    symlinkSync(fresh, link);
    const store = path.join(work.dir, `store-${++n}`);
    const r = await pull(`oci:${link}:2.0`, ["--json"], store);
    const report = JSON.parse(r.stdout);
    expect(r.code).toBe(1);
    const stage = report.stages.find((s: { id: string }) => s.id === "pull");
    expect(stage.status).toBe("fail");
    expect(stage.summary).toBe(
      `${link} is a symbolic link (to ${fresh}); pulldoctor does not write an oci: output through a link: give the real directory instead`,
    );
    expect(readFileSync(path.join(fresh, "index.json"), "utf8")).toBe(indexBefore);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    // Refused before any byte was downloaded: the store holds no blob.
    expect(existsSync(path.join(store, "sha256", img.layers[0]!.digest.slice("sha256:".length)))).toBe(false);
  }, 30_000);
});

describe("an existing oci: layout with links planted inside it", () => {
  test("index.json linked to another file: refused, the file neither read into the output nor written; blobs/ linked elsewhere: refused, nothing written there", async () => {
    const secretFile = victim();
    const layout = path.join(work.dir, "oci-planted-index");
    mkdirSync(path.join(layout, "blobs", "sha256"), { recursive: true });
    writeFileSync(path.join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    symlinkSync(secretFile, path.join(layout, "index.json"));
    const r = await pull(`oci:${layout}:1.0`, ["--json"]);
    expect(r.code).toBe(1);
    const stage = JSON.parse(r.stdout).stages.find((s: { id: string }) => s.id === "pull");
    expect(stage.summary).toContain("index.json is a symbolic link; pulldoctor does not merge into this layout");
    expect(readFileSync(secretFile, "utf8")).toBe(VICTIM);
    expect(r.stdout + r.stderr).not.toContain(VICTIM.trim().split(/\s+/)[0]!);
    expect(readdirSync(path.join(layout, "blobs", "sha256"))).toEqual([]);

    const elsewhere = path.join(work.dir, "oci-elsewhere");
    mkdirSync(elsewhere);
    const layout2 = path.join(work.dir, "oci-planted-blobs");
    mkdirSync(layout2);
    writeFileSync(path.join(layout2, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(path.join(layout2, "index.json"), '{"schemaVersion":2,"manifests":[]}');
    symlinkSync(elsewhere, path.join(layout2, "blobs"));
    const r2 = await pull(`oci:${layout2}:1.0`, ["--json"]);
    expect(r2.code).toBe(1);
    expect(JSON.parse(r2.stdout).stages.find((s: { id: string }) => s.id === "pull").summary).toContain(
      "blobs is a symbolic link: pulldoctor does not write blobs through it",
    );
    expect(readdirSync(elsewhere)).toEqual([]);
    expect(readFileSync(path.join(layout2, "index.json"), "utf8")).toBe('{"schemaVersion":2,"manifests":[]}');
  }, 60_000);

  test("index.json that is not JSON: refused without quoting it", async () => {
    const layout = path.join(work.dir, "oci-bad-index");
    mkdirSync(layout);
    writeFileSync(path.join(layout, "oci-layout"), '{"imageLayoutVersion":"1.0.0"}');
    writeFileSync(path.join(layout, "index.json"), "hunter2-not-json");
    const r = await pull(`oci:${layout}:1.0`, ["--json"]);
    expect(r.code).toBe(1);
    expect(JSON.parse(r.stdout).stages.find((s: { id: string }) => s.id === "pull").summary).toContain(
      "index.json is not a JSON object (an OCI index is)",
    );
    expect(r.stdout + r.stderr).not.toContain("hunter2");
  }, 30_000);
});

describe("the blob store", () => {
  test("directories are 0700; symlinks planted at a partial's and a blob's path are replaced, their targets untouched", async () => {
    const store = path.join(work.dir, `store-${++n}`);
    const layer = img.layers[0]!;
    const hex = layer.digest.slice("sha256:".length);
    mkdirSync(path.join(store, "ingest"), { recursive: true, mode: 0o700 });
    mkdirSync(path.join(store, "sha256"), { recursive: true, mode: 0o700 });
    const partialTarget = victim();
    symlinkSync(partialTarget, path.join(store, "ingest", `sha256-${hex}.partial`));
    // A "blob" of the right size that is a link to other bytes: never reused, never hard-linked into the output.
    const configHex = img.config.digest.slice("sha256:".length);
    const blobTarget = path.join(work.dir, `fake-config-${++n}`);
    const fake = "x".repeat(img.config.bytes.length);
    writeFileSync(blobTarget, fake);
    symlinkSync(blobTarget, path.join(store, "sha256", configHex));
    const out = path.join(work.dir, "oci-store");
    const r = await pull(`oci:${out}:1.0`, [], store);
    expect(r.code).toBe(0);
    expect(readFileSync(partialTarget, "utf8")).toBe(VICTIM);
    expect(readFileSync(blobTarget, "utf8")).toBe(fake);
    for (const d of [img.config, layer]) {
      const p = path.join(store, "sha256", d.digest.slice("sha256:".length));
      expect(lstatSync(p).isFile()).toBe(true);
      expect(new Uint8Array(readFileSync(p))).toEqual(new Uint8Array(d.bytes));
      expect(new Uint8Array(readFileSync(path.join(out, "blobs", "sha256", d.digest.slice("sha256:".length))))).toEqual(
        new Uint8Array(d.bytes),
      );
    }
    const fresh = path.join(work.dir, `store-${++n}`);
    expect((await pull(`oci:${path.join(work.dir, "oci-store2")}:1.0`, [], fresh)).code).toBe(0);
    for (const sub of ["", "sha256", "ingest"]) expect([sub, mode(path.join(fresh, sub))]).toEqual([sub, 0o700]);
  }, 30_000);
});

describe("the CA saved by the interactive TLS remedy", () => {
  test("is 0644 (public, as certs.d expects); a symlink planted at the suggested name is replaced, its target untouched", async () => {
    // 0.0.0.0 is not loopback: an unknown CA is an error there, and the doctor offers to save the chain.
    const host = `0.0.0.0:${tlsReg.port}`;
    const cwd = path.join(work.dir, "tty-cwd");
    mkdirSync(cwd);
    const target = victim();
    const file = path.join(cwd, `0.0.0.0_${tlsReg.port}-ca.crt`);
    symlinkSync(target, file);
    const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work.dir, TERM: "xterm-256color", LANG: "C.UTF-8" };
    const t = Terminal.start(
      [
        BINARY,
        `${host}/team/app:1.0`,
        "--daemon-config",
        path.join(work.dir, "none.json"),
        "--certs-dir",
        path.join(work.dir, "no-certs.d"),
        "--timeout",
        "5",
      ],
      { env, cwd },
    );
    try {
      await t.waitFor("Save the presented CA certificate", 20_000);
      t.keys("Enter");
      await t.waitFor("File");
      t.keys("Enter");
      await t.waitFor("Saved. Inspect it");
    } finally {
      t.kill();
    }
    expect(readFileSync(target, "utf8")).toBe(VICTIM);
    expect(lstatSync(file).isFile()).toBe(true);
    expect(mode(file)).toBe(0o644);
    expect(readFileSync(file, "utf8")).toMatch(/^-----BEGIN CERTIFICATE-----\n[\s\S]+-----END CERTIFICATE-----\n$/);
  }, 40_000);
});
