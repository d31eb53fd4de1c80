import { entry, type CatalogueSection } from "./entry";

/** Findings of the `manifest` stage. */
export const manifest = {
} satisfies CatalogueSection;
