import { entry, type CatalogueSection } from "./entry";

/** Findings of the `reference` stage. */
export const reference = {
} satisfies CatalogueSection;
