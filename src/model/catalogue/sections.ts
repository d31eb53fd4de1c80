import { type SectionName, sectionOf } from "./codes";
import type { CatalogueEntry, CatalogueSection } from "./entry";

/*
 * The sections, each evaluated on first use, and a code's entry. Apart from index.ts, whose
 * CATALOGUE and SECTIONS define a getter per code as they load: a finding needs neither, and
 * `ref`'s start need not pay for them (docs/performance.md, "Start-up of ref and explain").
 */

/** Each stage's section, as its files export it. */
export type Sections = {
  // -f FILE inputs are judged before any network step, as a reference is: they share its section.
  reference: typeof import("./reference").reference & typeof import("./input").input;
  config: typeof import("./config").config & typeof import("./config-clients").configClients;
  dns: typeof import("./dns").dns;
  proxy: typeof import("./proxy").proxy;
  connect: typeof import("./connect").connect;
  v2: typeof import("./v2").v2;
  auth: typeof import("./auth").auth;
  manifest: typeof import("./manifest").manifest;
  blob: typeof import("./blob").blob;
  pull: typeof import("./pull").pull;
};

// A section's words (≈ 170 KB of them in all) are evaluated when one of its codes is first
// asked for: in Bun's bundle a require() runs its module (and reads its chunk) on the first call,
// so a `ref` whose input draws no finding reads no section, and a check only those whose findings
// fire (docs/performance.md, "Diagnosis: connections, start-up and the catalogue"). `ref` imports
// the reference section ahead and provides it, so as not to compile Bun's require() ("Start-up of
// ref and explain").
const LOAD: { [S in SectionName]: () => Sections[S] } = {
  reference: () => (require("./reference-section") as typeof import("./reference-section")).referenceSection,
  config: () => ({
    ...(require("./config") as typeof import("./config")).config,
    ...(require("./config-clients") as typeof import("./config-clients")).configClients,
  }),
  dns: () => (require("./dns") as typeof import("./dns")).dns,
  proxy: () => (require("./proxy") as typeof import("./proxy")).proxy,
  connect: () => (require("./connect") as typeof import("./connect")).connect,
  v2: () => (require("./v2") as typeof import("./v2")).v2,
  auth: () => (require("./auth") as typeof import("./auth")).auth,
  manifest: () => (require("./manifest") as typeof import("./manifest")).manifest,
  blob: () => (require("./blob") as typeof import("./blob")).blob,
  pull: () => (require("./pull") as typeof import("./pull")).pull,
};
const loaded: { [S in SectionName]?: Sections[S] } = {};

/**
 * A section its caller has imported already (`ref`, which would otherwise pay for compiling Bun's
 * require() to read one section: docs/performance.md, "Start-up of ref and explain").
 */
export function provideSection<S extends SectionName>(s: S, value: Sections[S]): void {
  loaded[s] ??= value;
}

/** One stage's section, evaluated on first use. */
export function section<S extends SectionName>(s: S): Sections[S] {
  loaded[s] ??= LOAD[s]();
  return loaded[s] as Sections[S];
}

export type Catalogue = UnionToIntersection<Sections[SectionName]>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

export type FindingCode = keyof Catalogue & string;
/** A code's parameters (for a union of codes, the union of theirs). */
export type ParamsOf<C extends FindingCode> = C extends FindingCode ? (Catalogue[C] extends CatalogueEntry<infer P> ? P : never) : never;

/** A code's entry, typed by its parameters. */
export function catalogueEntry<C extends FindingCode>(code: C): CatalogueEntry<ParamsOf<C>> {
  const s = sectionOf(code);
  if (s === null) throw new Error(`not a finding code: ${code}`);
  return (section(s) as CatalogueSection)[code] as unknown as CatalogueEntry<ParamsOf<C>>;
}
