import { entry, type CatalogueSection } from "./entry";

/** Findings of the `v2` stage. */
export const v2 = {
} satisfies CatalogueSection;
