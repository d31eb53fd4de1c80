import type { NamedFault } from "./fault-catalogue";

/** The protocol faults of the catalogue (see fault-catalogue.ts). */
export const PROTOCOL_FAULTS: NamedFault[] = [];
