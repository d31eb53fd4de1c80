import type { SectionName } from "./codes";
import type { CatalogueSection } from "./entry";

export { sectionOf } from "./codes";

/**
 * One section by dynamic import, for `explain CODE`: only that section's chunk is read, where
 * index.ts (whose sections every `finding()` may need at once) makes each command that
 * imports it read them all, evaluated or not (docs/performance.md, "Diagnosis: connections,
 * start-up and the catalogue"). The same files as index.ts's sections (tested).
 */
const IMPORT: Record<SectionName, () => Promise<CatalogueSection>> = {
  reference: async () => (await import("./reference-section")).referenceSection,
  config: async () => ({ ...(await import("./config")).config, ...(await import("./config-clients")).configClients }),
  dns: async () => (await import("./dns")).dns,
  proxy: async () => (await import("./proxy")).proxy,
  connect: async () => (await import("./connect")).connect,
  v2: async () => (await import("./v2")).v2,
  auth: async () => (await import("./auth")).auth,
  manifest: async () => (await import("./manifest")).manifest,
  blob: async () => (await import("./blob")).blob,
  pull: async () => (await import("./pull")).pull,
};

export function importSection(s: SectionName): Promise<CatalogueSection> {
  return IMPORT[s]();
}
