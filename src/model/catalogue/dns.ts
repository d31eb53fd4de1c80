import { entry, type CatalogueSection } from "./entry";

/** Findings of the `dns` stage. */
export const dns = {
} satisfies CatalogueSection;
