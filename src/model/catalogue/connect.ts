import { entry, type CatalogueSection } from "./entry";

/** Findings of the `connect` stage. */
export const connect = {
} satisfies CatalogueSection;
