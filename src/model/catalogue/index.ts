import { CODES, type SectionName } from "./codes";
import type { CatalogueSection } from "./entry";
import { type Catalogue, type FindingCode, type Sections, section } from "./sections";

export { type Catalogue, catalogueEntry, type FindingCode, type ParamsOf, provideSection, section } from "./sections";

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

export function isFindingCode(s: string): s is FindingCode {
  return Object.hasOwn(CATALOGUE, s);
}
