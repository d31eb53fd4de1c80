export type EgressRole = "registry" | "mirror" | "token" | "blob" | "proxy";

/** SPEC "Egress": one host and port a pull touches or, for a public registry, is documented to need. */
export interface EgressEntry {
  host: string;
  port: number;
  scheme: "https" | "http";
  roles: EgressRole[];
  addresses: string[];
  via: "direct" | "proxy";
  /** The doctor's own requests touched (or tried) it. */
  observed: boolean;
  /** An answer came back from it. */
  reached: boolean;
  /** The dated table entry that lists it, with its sources. */
  documented: { registry: string; host: string; sources: string[]; checked: string } | null;
  /** Why it needs a look: a blob host that answered but is in no table (CDNs change). */
  flag: string | null;
}
