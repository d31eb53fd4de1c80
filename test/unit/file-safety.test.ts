import { afterAll, expect, test } from "bun:test";
import { lstatSync, mkdirSync, readdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import path from "node:path";
import { createExclusiveBeside, writeFileAtomic } from "../../src/pull/outputs/safe-file";
import { BlobStore } from "../../src/pull/store";
import { CA_FILE_MODE, REPORT_MODE, reportFileProblem, writeReportFile } from "../../src/ui/report-file";
import { tempDir } from "../helpers/context";

// The write primitives behind the report, the saved CA (src/ui/remedies.ts saveChain writes
// with writeFileAtomic and CA_FILE_MODE), the outputs and the blob store.
const work = tempDir("pd-file-safety-");
afterAll(() => work.cleanup());
const VICTIM = "victim: must not change\n";
let n = 0;
const victim = () => {
  const p = path.join(work.dir, `victim-${++n}`);
  writeFileSync(p, VICTIM);
  return p;
};
const mode = (p: string) => statSync(p).mode & 0o777;

function withUmask<T>(mask: number, f: () => T): T {
  const old = process.umask(mask);
  try {
    return f();
  } finally {
    process.umask(old);
  }
}

test("the report is 0600 and the saved CA 0644 whatever the umask (000 or 077)", () => {
  for (const mask of [0o000, 0o077]) {
    const report = path.join(work.dir, `report-${mask}.json`);
    withUmask(mask, () => writeReportFile(report, { ok: true }));
    expect([mask, mode(report)]).toEqual([mask, REPORT_MODE]);
    const ca = path.join(work.dir, `ca-${mask}.crt`);
    withUmask(mask, () => writeFileAtomic(ca, "-----BEGIN CERTIFICATE-----\n", CA_FILE_MODE));
    expect([mask, mode(ca)]).toEqual([mask, 0o644]);
  }
});

test("a symlink at the destination is replaced; its target (file or directory) is untouched", () => {
  const t = victim();
  const link = path.join(work.dir, "link.crt");
  symlinkSync(t, link);
  writeFileAtomic(link, "new\n", CA_FILE_MODE);
  expect(readFileSync(t, "utf8")).toBe(VICTIM);
  expect(lstatSync(link).isFile()).toBe(true);
  expect(readFileSync(link, "utf8")).toBe("new\n");
  // A link to a directory at --report: replaced too, and reportFileProblem does not call it a directory.
  const dir = path.join(work.dir, "a-dir");
  mkdirSync(dir);
  const dlink = path.join(work.dir, "dir-link.json");
  symlinkSync(dir, dlink);
  expect(reportFileProblem(dlink)).toBeNull();
  writeReportFile(dlink, { x: 1 });
  expect(readdirSync(dir)).toEqual([]);
  expect(lstatSync(dlink).isFile()).toBe(true);
  expect(reportFileProblem(dir)).toContain("is a directory");
});

test("temp files: unpredictable names, created exclusively, removed on failure", () => {
  const target = path.join(work.dir, "x.json");
  const a = createExclusiveBeside(target, 0o600);
  const b = createExclusiveBeside(target, 0o600);
  expect(a.tmp).not.toBe(b.tmp);
  expect(path.dirname(a.tmp)).toBe(work.dir);
  // Writing into a missing directory fails and leaves nothing behind.
  expect(() => writeFileAtomic(path.join(work.dir, "missing", "f"), "x", 0o600)).toThrow();
  // Renaming over a non-empty directory fails; the temp file is removed.
  const full = path.join(work.dir, "full");
  mkdirSync(full);
  writeFileSync(path.join(full, "keep"), "k");
  const before = readdirSync(work.dir).length;
  expect(() => writeFileAtomic(full, "x", 0o600)).toThrow();
  expect(readdirSync(work.dir).length).toBe(before);
});

test("blob store: a planted symlink at a partial is removed (never written through); a linked blob is not reused; commit refuses a link", () => {
  const store = new BlobStore(path.join(work.dir, "store"));
  withUmask(0o000, () => store.ensure());
  for (const sub of ["", "sha256", "sha512", "ingest"]) expect([sub, mode(path.join(store.root, sub))]).toEqual([sub, 0o700]);
  const digest = `sha256:${"ab".repeat(32)}`;
  const t = victim();
  symlinkSync(t, store.partialPath(digest));
  expect(store.partialSize(digest)).toBe(0);
  expect(() => lstatSync(store.partialPath(digest))).toThrow();
  expect(readFileSync(t, "utf8")).toBe(VICTIM);
  // A link of the right size at the blob's path is not a blob.
  symlinkSync(t, store.blobPath(digest));
  expect(store.has({ digest, size: VICTIM.length, mediaType: "x" } as never)).toBe(false);
  // commit() of a partial that became a link: refused, the link's target keeps its mode.
  symlinkSync(t, store.partialPath(digest));
  expect(() => store.commit(digest)).toThrow();
  expect(mode(t)).toBe(0o644);
});

test("blob store putBytes replaces a symlink at the blob path instead of trusting it", async () => {
  const store = new BlobStore(path.join(work.dir, "store2"));
  store.ensure();
  const bytes = new TextEncoder().encode("manifest bytes");
  const digest = `sha256:${new Bun.CryptoHasher("sha256").update(bytes).digest("hex")}`;
  const t = victim();
  symlinkSync(t, store.blobPath(digest));
  const p = await store.putBytes(digest, bytes);
  expect(lstatSync(p).isFile()).toBe(true);
  expect(readFileSync(p, "utf8")).toBe("manifest bytes");
  expect(readFileSync(t, "utf8")).toBe(VICTIM);
});
