import { entry, type CatalogueSection } from "./entry";

/** Findings of the `config` stage. */
export const config = {
} satisfies CatalogueSection;
