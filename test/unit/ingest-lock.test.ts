import { afterAll, expect, test } from "bun:test";
import { closeSync, existsSync, openSync, readdirSync, readFileSync, writeFileSync, writeSync } from "node:fs";
import path from "node:path";
import { LostOwnership } from "../../src/pull/ingest-lock";
import { BlobStore } from "../../src/pull/store";
import { tempDir } from "../helpers/context";

const work = tempDir("pd-ingest-lock-");
afterAll(() => work.cleanup());
const digest = `sha256:${"ab".repeat(32)}`;

function stores(name: string): [BlobStore, BlobStore] {
  const root = path.join(work.dir, name);
  const a = new BlobStore(root);
  a.ensure();
  return [a, new BlobStore(root)];
}

test("two stores of one process: the second waits for the live first; the lock file holds a token, not a bare pid", () => {
  const [a, b] = stores("live");
  const la = a.tryLock(digest);
  expect("release" in la).toBe(true);
  expect(readFileSync(`${a.partialPath(digest)}.lock`, "utf8")).toBe(a.token);
  expect(b.tryLock(digest)).toEqual({ owner: process.pid });
  if ("release" in la) la.release();
  expect(existsSync(`${a.partialPath(digest)}.lock`)).toBe(false);
});

test("a forced takeover: the old owner's open partial becomes an orphan, it loses commit and discard, and its release keeps the new lock", () => {
  const [a, b] = stores("takeover");
  const la = a.tryLock(digest);
  writeFileSync(a.partialPath(digest), "0123456789");
  const fd = openSync(a.partialPath(digest), "a");
  const lb = b.tryLock(digest, true);
  expect("release" in lb).toBe(true);
  // The new owner has the bytes so far, in a file of its own.
  expect(readFileSync(b.partialPath(digest), "utf8")).toBe("0123456789");
  writeSync(fd, "GARBAGE");
  closeSync(fd);
  expect(readFileSync(b.partialPath(digest), "utf8")).toBe("0123456789");
  expect(a.lost(digest)).toBe(true);
  expect(() => a.commit(digest)).toThrow(LostOwnership);
  a.discardPartial(digest);
  expect(existsSync(b.partialPath(digest))).toBe(true);
  if ("release" in la) la.release();
  expect(readFileSync(`${b.partialPath(digest)}.lock`, "utf8")).toBe(b.token);
  expect(b.lost(digest)).toBe(false);
  if ("release" in lb) lb.release();
  expect(readdirSync(path.join(work.dir, "takeover", "ingest"))).toEqual([path.basename(b.partialPath(digest))]);
});

test("a lock left by a process that is gone (old bare-pid format) is taken over without waiting", () => {
  const [a] = stores("stale");
  writeFileSync(`${a.partialPath(digest)}.lock`, "999999");
  expect("release" in a.tryLock(digest)).toBe(true);
});

test("a takeover in progress elsewhere: wait and look again", () => {
  const [a] = stores("mutex");
  writeFileSync(`${a.partialPath(digest)}.lock`, "999999");
  writeFileSync(`${a.partialPath(digest)}.lock.takeover`, "");
  expect(a.tryLock(digest)).toEqual({ owner: -1 });
});
