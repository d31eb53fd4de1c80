import { expect, test } from "bun:test";
import path from "node:path";
import { auth } from "../../src/model/catalogue/auth";
import { blob } from "../../src/model/catalogue/blob";
import { CODES, type SectionName } from "../../src/model/catalogue/codes";
import { config } from "../../src/model/catalogue/config";
import { configClients } from "../../src/model/catalogue/config-clients";
import { connect } from "../../src/model/catalogue/connect";
import { dns } from "../../src/model/catalogue/dns";
import { input } from "../../src/model/catalogue/input";
import { importSection, sectionOf } from "../../src/model/catalogue/load";
import { manifest } from "../../src/model/catalogue/manifest";
import { proxy } from "../../src/model/catalogue/proxy";
import { pull } from "../../src/model/catalogue/pull";
import { reference } from "../../src/model/catalogue/reference";
import { v2 } from "../../src/model/catalogue/v2";

// The section files themselves, not index.ts's lazy view of them.
const FILES: Record<SectionName, object> = {
  reference: { ...reference, ...input },
  config: { ...config, ...configClients },
  dns,
  proxy,
  connect,
  v2,
  auth,
  manifest,
  blob,
  pull,
};

test("CODES lists every section's codes, in order, and nothing else", () => {
  for (const s of Object.keys(FILES) as SectionName[]) expect([s, Object.keys(FILES[s])]).toEqual([s, [...CODES[s]]]);
  expect(Object.keys(CODES).sort()).toEqual(Object.keys(FILES).sort());
});

test("reading one code's entry evaluates its section only; listing the codes evaluates none", () => {
  const index = path.join(import.meta.dir, "../../src/model/catalogue/index.ts");
  const script = `
    const { CATALOGUE, catalogueEntry, isFindingCode } = require(${JSON.stringify(index)});
    const sections = () => Object.keys(require.cache).filter((k) => k.includes("/catalogue/") && !/(index|codes|entry|sections)\\.ts$/.test(k)).map((k) => k.split("/").pop()).sort();
    const keys = Object.keys(CATALOGUE).length;
    const known = isFindingCode("DNS_NXDOMAIN") && !isFindingCode("NOPE");
    const before = sections();
    const title = catalogueEntry("DNS_NXDOMAIN").title;
    console.log(JSON.stringify({ keys, known, before, after: sections(), title: typeof title }));`;
  const r = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  const out = JSON.parse(r.stdout.toString());
  expect(out).toEqual({ keys: Object.values(CODES).flat().length, known: true, before: [], after: ["dns.ts"], title: "string" });
});

test("explain's section loader reads the same files, and finds each code's section from CODES", async () => {
  for (const s of Object.keys(FILES) as SectionName[]) {
    expect([s, Object.keys(await importSection(s))]).toEqual([s, Object.keys(FILES[s])]);
    for (const code of CODES[s]) expect([code, sectionOf(code)]).toEqual([code, s]);
  }
  expect(sectionOf("NOPE")).toBeNull();
});

test("a section provided ahead (as `ref` imports the reference section) is the one findings read, and no other is evaluated", () => {
  const dir = path.join(import.meta.dir, "../../src/model/catalogue");
  const script = `
    const { catalogueEntry, provideSection } = require(${JSON.stringify(path.join(dir, "index.ts"))});
    const { referenceSection } = require(${JSON.stringify(path.join(dir, "reference-section.ts"))});
    provideSection("reference", referenceSection);
    const same = catalogueEntry("REF_IMPLICIT_LATEST") === referenceSection.REF_IMPLICIT_LATEST && catalogueEntry("INPUT_NOT_YAML") === referenceSection.INPUT_NOT_YAML;
    const sections = Object.keys(require.cache).filter((k) => k.includes("/catalogue/") && !/(index|codes|entry|sections)\\.ts$/.test(k)).map((k) => k.split("/").pop()).sort();
    console.log(JSON.stringify({ same, sections }));`;
  const r = Bun.spawnSync([process.execPath, "-e", script], { stdout: "pipe", stderr: "pipe" });
  expect(r.stderr.toString()).toBe("");
  expect(JSON.parse(r.stdout.toString())).toEqual({ same: true, sections: ["input.ts", "reference-section.ts", "reference.ts"] });
});
