import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { FINDINGS_DOC, renderFindingsDoc } from "../../scripts/gen-docs";
import type { CatalogueEntry } from "../../src/model/catalogue/entry";
import { CATALOGUE, SECTIONS } from "../../src/model/catalogue/index";

/** The SPEC's finding codes per stage (SPEC.md, "Findings"); the SPEC is fixed, so a constant. */
const SPEC_CODES: Record<string, string[]> = {
  reference: ["REF_INVALID", "REF_UPPERCASE", "REF_IMPLICIT_LATEST"],
  config: ["CONFIG_UNREADABLE", "CREDS_HELPER_MISSING", "CREDS_HELPER_FAILED", "CREDS_PLAINTEXT", "CREDS_NONE", "DAEMON_CONFIG_UNREADABLE"],
  dns: ["DNS_NXDOMAIN", "DNS_NO_ANSWER", "DNS_SERVFAIL", "DNS_TIMEOUT", "DNS_RESOLVER_MISMATCH", "DNS_HOSTS_OVERRIDE"],
  proxy: [
    "PROXY_IN_USE",
    "PROXY_BYPASSED",
    "PROXY_UNREACHABLE",
    "PROXY_AUTH_REQUIRED",
    "PROXY_CONNECT_REFUSED",
    "PROXY_DAEMON_MISMATCH",
    "PROXY_TLS_INTERCEPTION",
  ],
  connect: [
    "CONNECT_REFUSED",
    "CONNECT_TIMEOUT",
    "CONNECT_RESET",
    "TLS_UNKNOWN_CA",
    "TLS_EXPIRED",
    "TLS_HOSTNAME_MISMATCH",
    "TLS_HTTP_ONLY",
    "TLS_HANDSHAKE_FAILED",
    "TLS_INSECURE_IN_USE",
  ],
  v2: ["V2_NOT_A_REGISTRY", "V2_SERVER_ERROR"],
  auth: [
    "AUTH_UNAUTHORIZED",
    "AUTH_DENIED",
    "AUTH_CREDENTIALS_REQUIRED",
    "AUTH_TOKEN_SERVER_UNREACHABLE",
    "AUTH_TOKEN_INVALID",
    "AUTH_CHALLENGE_INVALID",
    "AUTH_CLOCK_SKEW",
    "AUTH_BASIC_OVER_HTTP",
  ],
  manifest: [
    "MANIFEST_UNKNOWN",
    "NAME_UNKNOWN",
    "RATE_LIMITED",
    "RATE_LIMIT_LOW",
    "PLATFORM_UNAVAILABLE",
    "MANIFEST_SCHEMA1",
    "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
    "DIGEST_MISMATCH",
  ],
  blob: ["BLOB_REDIRECT_UNREACHABLE", "BLOB_UNKNOWN", "BLOB_RANGE_UNSUPPORTED", "BLOB_SLOW"],
  pull: ["PULL_DIGEST_MISMATCH", "PULL_NO_SPACE", "PULL_INTERRUPTED", "PULL_DAEMON_UNAVAILABLE"],
};

const committed = readFileSync(FINDINGS_DOC, "utf8");
const docCodes = [...committed.matchAll(/^### ([A-Z0-9_]+)$/gm)].map((m) => m[1]!);

test("docs/findings.md is exactly what scripts/gen-docs.ts generates (run `bun scripts/gen-docs.ts`)", () => {
  expect(committed).toBe(renderFindingsDoc());
});

test("every catalogue code has its docs entry, and the docs list no code the catalogue lacks", () => {
  expect(docCodes.sort()).toEqual(Object.keys(CATALOGUE).sort());
});

test("every catalogue code has its explain text and every other part filled", () => {
  for (const [code, e] of Object.entries(CATALOGUE) as [string, CatalogueEntry<any>][]) {
    const where = `catalogue entry ${code}`;
    expect(e.title.trim(), where).not.toBe("");
    expect(e.explain.trim().length, where).toBeGreaterThan(40);
    expect(e.seen.length, where).toBeGreaterThan(0);
    expect(e.causes.length, where).toBeGreaterThan(0);
    expect(e.howKnown.trim(), where).not.toBe("");
    expect(e.genericFixes.length, where).toBeGreaterThan(0);
  }
});

test("every SPEC code is in the catalogue, in its SPEC stage's section", () => {
  const missing: string[] = [];
  for (const [stage, codes] of Object.entries(SPEC_CODES)) {
    for (const c of codes) {
      if (!(c in (SECTIONS as Record<string, object>)[stage]!)) missing.push(`${stage}:${c}`);
    }
  }
  expect(missing).toEqual([]);
});

test("no code appears in two sections, and each entry's stage is its section", () => {
  const seen = new Map<string, string>();
  const dupes: string[] = [];
  for (const [stage, section] of Object.entries(SECTIONS)) {
    for (const [c, e] of Object.entries(section as Record<string, CatalogueEntry<any>>)) {
      if (seen.has(c)) dupes.push(`${c} in ${seen.get(c)} and ${stage}`);
      seen.set(c, stage);
      expect(e.stage, c).toBe(stage as CatalogueEntry["stage"]);
    }
  }
  expect(dupes).toEqual([]);
  expect(new Set(docCodes).size).toBe(docCodes.length);
});
