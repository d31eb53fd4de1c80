import type { NamedFault } from "./fault-catalogue";

/** The transfer faults of the catalogue (see fault-catalogue.ts). */
export const TRANSFER_FAULTS: NamedFault[] = [];
