import { entry, type CatalogueSection } from "./entry";

/** Findings of the `pull` stage. */
export const pull = {
} satisfies CatalogueSection;
