import { entry, type CatalogueSection } from "./entry";

/** Findings of the `blob` stage. */
export const blob = {
} satisfies CatalogueSection;
