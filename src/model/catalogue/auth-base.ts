/** Facts every auth finding carries. */
export interface AuthBase {
  /** The registry as Docker names it: "docker.io", "registry.example.com:5000". */
  registry: string;
  /** host[:port] of the endpoint asked (a mirror or the registry). */
  host: string;
  repository: string;
  /** The image as the user wrote it, familiar form. */
  image: string;
  /** Username of the credentials used, null when anonymous. */
  user: string | null;
  /** Where the credentials came from ("auths[…] in ~/.docker/config.json"), null when none. */
  credSource: string | null;
  /** Whose fixes to write: the judged client's (absent: Docker's). */
  fixesFor?: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
}

/** Whose credentials were used, as the findings say it. */
export const who = (p: AuthBase) => (p.user ? `as ${p.user} (${p.credSource ?? "configured credentials"})` : "anonymously");
