import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { FAULTS } from "../../src/lab/fault-catalogue";

/**
 * Issue 7's list of faults, each mapped to the named faults that reproduce it. The e2e files
 * protocol-faults-blob.test.ts and protocol-faults-registry.test.ts run `check` and `pull`
 * through the binary against every entry of FAULTS; this file keeps the list honest: every item
 * has at least one fault, every fault exists, is run by one of those files, and is in
 * docs/security.md's table of faults tried.
 */
export const ISSUE_FAULTS: Record<string, string[]> = {
  "connection dropped mid-blob": ["blob-drop-recovers", "blob-drop-always"],
  "body shorter than Content-Length": ["blob-short-body"],
  "body longer than Content-Length": ["blob-long-body"],
  "wrong bytes for the digest": ["blob-corrupt", "blob-corrupt-config"],
  "a server that accepts and never answers": ["silent-host", "silent-host-raw", "blob-host-silent", "blob-host-silent-layer"],
  "one that drips a byte a second": ["drip-v2", "drip-manifest", "drip-manifest-head", "drip-token", "blob-drip", "blob-drip-layer"],
  "headers then stall": ["stall-manifest", "stall-token", "blob-stall", "blob-stall-layer", "blob-stall-layer-always", "blob-error-stall"],
  "500/502/503 then success (retry works)": ["blob-5xx-then-ok"],
  "429 with Retry-After": ["blob-429-retry-after", "blob-429-long", "manifest-429-retry-after"],
  "redirect loop": ["blob-redirect-loop"],
  "redirect chain longer than 10": ["blob-redirect-chain"],
  "redirect from https to http": ["blob-https-to-http"],
  "redirect to another host (no Authorization arrives there)": ["blob-cross-host"],
  "a manifest over 4 MiB": [
    "manifest-oversize",
    "manifest-oversize-chunked",
    "manifest-oversize-close",
    "manifest-oversize-head-lies",
    "manifest-flood",
  ],
  "a manifest that is not JSON or nests 10,000 levels": [
    "manifest-html",
    "manifest-random",
    "manifest-deep-arrays",
    "manifest-deep-objects",
    "manifest-deep-100k",
  ],
  "an index whose platforms all mismatch": ["platform-mismatch", "index-17k-entries", "index-control-platforms"],
  "a token endpoint answering 100 MiB": ["token-flood"],
  "a WWW-Authenticate of 64 KiB": ["huge-challenge-v2", "huge-challenge-manifest", "huge-headers-v2"],
  "invalid UTF-8 in every header the doctor reads": [
    "bad-header-bytes",
    "bad-header-bytes-but-digest",
    "bad-location-bytes",
    "bad-header-control",
    "blob-location-bytes",
  ],
};

const names = FAULTS.map((f) => f.name);

test("every fault of issue 7 has named faults, and each name exists in the catalogue", () => {
  for (const [item, faults] of Object.entries(ISSUE_FAULTS)) {
    expect({ item, missing: faults.filter((n) => !names.includes(n)) }).toEqual({ item, missing: [] });
  }
});

test("fault names are unique kebab-case, and every fault has a title and an expected outcome for check and pull", () => {
  expect(new Set(names).size).toBe(names.length);
  for (const f of FAULTS) {
    expect(f.name).toMatch(/^[a-z0-9]+(-[a-z0-9]+)*$/);
    expect(f.title.length).toBeGreaterThan(10);
    for (const o of [f.expect.check, f.expect.pull]) expect(o.exit === 0 || o.codes.length > 0).toBe(true);
  }
});

test("both fault groups are run through the binary, and docs/security.md lists every fault", () => {
  const dir = import.meta.dir;
  expect(readFileSync(path.join(dir, "protocol-faults-blob.test.ts"), "utf8")).toContain("TRANSFER_FAULTS");
  expect(readFileSync(path.join(dir, "protocol-faults-registry.test.ts"), "utf8")).toContain("PROTOCOL_FAULTS");
  const doc = readFileSync(path.join(dir, "../../docs/security.md"), "utf8");
  expect(names.filter((n) => !doc.includes(`\`${n}\``))).toEqual([]);
  for (const item of Object.keys(ISSUE_FAULTS)) expect(doc).toContain(item);
});
