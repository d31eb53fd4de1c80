import { CODES, type SectionName } from "./codes";
import type { CatalogueEntry, CatalogueSection } from "./entry";
import { importSection } from "./load";

/** Each stage's section, as its files export it. */
type Sections = {
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
// asked for: in Bun's bundle a require() runs its module on the first call, so a check
// evaluates only the sections whose findings fire (docs/performance.md, "Diagnosis:
// connections, start-up and the catalogue"). A command that knows its sections imports them
// ahead instead (importSections): in the binary that is ≈ 0.5 ms sooner per section than this
// require() ("Start-up of ref and explain").
const LOAD: { [S in SectionName]: () => Sections[S] } = {
  reference: () => ({
    ...(require("./reference") as typeof import("./reference")).reference,
    ...(require("./input") as typeof import("./input")).input,
  }),
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

/** One stage's section: as importSections left it, else evaluated (required) on first use. */
export function section<S extends SectionName>(s: S): Sections[S] {
  loaded[s] ??= LOAD[s]();
  return loaded[s] as Sections[S];
}

/**
 * The sections a command's findings can come from, imported before it makes them (`ref`: the
 * reference section). Only the load is faster: a section not imported is still required on first
 * use, so every finding can be made synchronously anywhere, with its words, either way.
 */
export async function importSections(names: readonly SectionName[]): Promise<void> {
  await Promise.all(
    names.map(async (s) => {
      const imported = await importSection(s);
      (loaded as Record<SectionName, CatalogueSection | undefined>)[s] ??= imported;
    }),
  );
}

export type Catalogue = UnionToIntersection<Sections[SectionName]>;
type UnionToIntersection<U> = (U extends unknown ? (u: U) => void : never) extends (i: infer I) => void ? I : never;

/**
 * Every finding code, in stage order. A code appears in exactly one section (tested). Its keys
 * cost nothing; reading an entry evaluates that entry's section only.
 */
export const CATALOGUE = {} as Catalogue;
/** The sections by stage; reading one evaluates it. */
export const SECTIONS = {} as Sections;
for (const s of Object.keys(CODES) as SectionName[]) {
  Object.defineProperty(SECTIONS, s, { enumerable: true, get: () => section(s) });
  for (const code of CODES[s])
    Object.defineProperty(CATALOGUE, code, { enumerable: true, get: () => (section(s) as CatalogueSection)[code] });
}

export type FindingCode = keyof Catalogue & string;
/** A code's parameters (for a union of codes, the union of theirs). */
export type ParamsOf<C extends FindingCode> = C extends FindingCode ? (Catalogue[C] extends CatalogueEntry<infer P> ? P : never) : never;

export function isFindingCode(s: string): s is FindingCode {
  return Object.hasOwn(CATALOGUE, s);
}

/** A code's entry, typed by its parameters. */
export function catalogueEntry<C extends FindingCode>(code: C): CatalogueEntry<ParamsOf<C>> {
  return CATALOGUE[code] as unknown as CatalogueEntry<ParamsOf<C>>;
}
