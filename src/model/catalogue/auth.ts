import { entry, type CatalogueSection } from "./entry";

/** Findings of the `auth` stage. */
export const auth = {
} satisfies CatalogueSection;
