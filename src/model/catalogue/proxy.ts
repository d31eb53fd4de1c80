import { entry, type CatalogueSection } from "./entry";

/** Findings of the `proxy` stage. */
export const proxy = {
} satisfies CatalogueSection;
