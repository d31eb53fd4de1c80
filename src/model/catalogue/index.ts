import { auth } from "./auth";
import { blob } from "./blob";
import { config as configDocker } from "./config";
import { configClients } from "./config-clients";
import { connect } from "./connect";
import { dns } from "./dns";
import type { CatalogueEntry } from "./entry";
import { input } from "./input";
import { manifest } from "./manifest";
import { proxy } from "./proxy";
import { pull } from "./pull";
import { reference } from "./reference";
import { v2 } from "./v2";

const config = { ...configDocker, ...configClients };

/** Every finding code, in stage order. A code appears in exactly one section (tested). */
export const CATALOGUE = {
  ...reference,
  ...input,
  ...config,
  ...dns,
  ...proxy,
  ...connect,
  ...v2,
  ...auth,
  ...manifest,
  ...blob,
  ...pull,
};

// -f FILE inputs are judged before any network step, as a reference is: they share its section.
export const SECTIONS = { reference: { ...reference, ...input }, config, dns, proxy, connect, v2, auth, manifest, blob, pull } as const;

export type Catalogue = typeof CATALOGUE;
export type FindingCode = keyof Catalogue & string;
/** A code's parameters (for a union of codes, the union of theirs). */
export type ParamsOf<C extends FindingCode> = C extends FindingCode ? (Catalogue[C] extends CatalogueEntry<infer P> ? P : never) : never;

export function isFindingCode(s: string): s is FindingCode {
  return Object.hasOwn(CATALOGUE, s);
}

/** A code's entry, typed by its parameters. */
export function catalogueEntry<C extends FindingCode>(code: C): CatalogueEntry<ParamsOf<C>> {
  return CATALOGUE[code] as unknown as CatalogueEntry<ParamsOf<C>>;
}
