import type { ClientSettings, RegistryTarget } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { ResolvedManifest } from "../model/facts";
import type { Finding } from "../model/finding";
import type { Secret } from "../model/secret";
import type { HttpClient } from "./http";

/** What every manifest finding knows about the image. */
export interface ManifestImage {
  image: string;
  registry: string;
  repository: string;
  reference: string;
  baseUrl?: string;
}

/** What resolving a manifest needs from its caller, as plain data: the client, how to reach the endpoint again, and where findings go. */
export interface ManifestRequest {
  client: HttpClient;
  /** The endpoint's settings, for the config blob of a single-platform image. */
  settings: ClientSettings;
  registry: RegistryTarget;
  authorization: Secret | null;
  now: () => Date;
  /** Credentials were configured (a rate limit counts against the account). */
  authenticated: boolean;
  /** --platform was given: a single-platform image that does not match it is refused, as Docker does. */
  explicitPlatform: boolean;
  evidence: Evidence;
  findings: Finding[];
  /** Whose fixes the findings write (the judged client's); absent: Docker's. */
  fixesFor?: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
  /**
   * Told the manifest as soon as nothing can refuse it any more, while a single-platform image's
   * config is still being read (`configRead`): the blob requests can go out beside that read.
   */
  handOn?: (m: ResolvedManifest) => void;
}
