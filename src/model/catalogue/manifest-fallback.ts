import { type CatalogueSection, entry } from "./entry";

export interface FallbackParams {
  /** The host that failed: its API URL ("http://mirror.example:5000/v2"). */
  mirror: string;
  /** Where the judged client's config put it ("hosts.toml /etc/containerd/certs.d/docker.io/hosts.toml", "daemon.json registry-mirrors"). */
  source: string | null;
  /** The code and words of its failure. */
  code: string;
  why: string;
  /** The host that finally answered, or null when every host failed. */
  answered: string | null;
  /** The judged client, as findings name it. */
  client: string;
  fixesFor: "docker" | "hosts.toml" | "registries.conf" | "kubernetes";
  /** The image's registry (the hosts.toml directory name). */
  registry: string;
}

/** What a person sees when a mirror is left: each client says it only in its own log, if at all. */
const SEEN: Record<FallbackParams["fixesFor"], string> = {
  docker: 'docker pull prints nothing about it; dockerd logs "Attempting next endpoint for pull after error: …" (journalctl -u docker)',
  "hosts.toml": 'ctr/nerdctl print nothing about it; containerd logs "trying next host" with the error (journalctl -u containerd)',
  kubernetes:
    'the pod\'s events show only a slower "Successfully pulled image"; containerd on the node logs "trying next host" with the error (journalctl -u containerd)',
  "registries.conf": 'podman prints nothing about it without --log-level=debug, which shows "Trying to access …" per source',
};

const FIX: Record<FallbackParams["fixesFor"], (p: FallbackParams) => string> = {
  docker: (p) =>
    `Fix ${p.mirror} or remove it from "registry-mirrors" in /etc/docker/daemon.json${p.source?.includes("hosts.toml") ? ` (or from ${p.source})` : ""}, then \`sudo systemctl reload docker\``,
  "hosts.toml": (p) =>
    `Fix ${p.mirror} or remove its [host."…"] table from ${p.source?.replace(/^hosts\.toml /, "").replace(/:\d+$/, "") ?? `/etc/containerd/certs.d/${p.registry}/hosts.toml`} (containerd reads hosts.toml again on every pull, no restart)`,
  kubernetes: (p) =>
    `On every node: fix ${p.mirror} or remove its [host."…"] table from ${p.source?.replace(/^hosts\.toml /, "").replace(/:\d+$/, "") ?? `/etc/containerd/certs.d/${p.registry}/hosts.toml`} (the CRI config_path; read again on every pull)`,
  "registries.conf": (p) => `Fix ${p.mirror} or remove its [[registry.mirror]] entry from ${p.source ?? "/etc/containers/registries.conf"}`,
};

/** MIRROR_FALLBACK (SPEC "Clients": a mirror failed and the client went on to the next host). */
export const manifestFallback = {
  MIRROR_FALLBACK: entry<FallbackParams>({
    stage: "manifest",
    severity: "warning",
    title: "A mirror failed; the client went on to the next host",
    explain:
      "The client tries its hosts in order (containerd: hosts.toml [host] tables in file order, then `server`; Docker: registry-mirrors, then the registry; podman: [[registry.mirror]], then the location). This one failed, so the client went on to the next: the pull still works from a later host, only slower, and the mirror's failure shows only in the daemon's log. When every host fails, containerd reports the most advanced error of all hosts (a registry's answer beats a 404, which beats a connection error), not the last one; Docker reports the last host's error.",
    seen: [
      'containerd log: level=info msg="trying next host" error="failed to do request: Head \\"https://mirror.example.com/v2/library/nginx/manifests/latest?ns=docker.io\\": dial tcp 10.0.0.9:443: connect: connection refused" host=mirror.example.com',
      'dockerd log: level=info msg="Attempting next endpoint for pull after error: Get \\"https://mirror.example.com/v2/\\": dial tcp 10.0.0.9:443: connect: connection refused"',
    ],
    causes: [
      "the mirror is down, unreachable or its name does not resolve",
      "the mirror does not hold the image (404) and does not pull through",
      "the mirror asks for credentials the client does not send it (Docker's containerd store sends them only to the login host)",
    ],
    howKnown:
      "Each of the client's hosts is diagnosed in its order; this one failed a stage and a later one passed (or every one failed), so the client would have gone on, as its resolver does.",
    detail: (p) =>
      `${p.client} tried ${p.mirror}${p.source ? ` (${p.source})` : ""} and went on: ${p.code}: ${p.why} ${p.answered ? `The host that finally answered: ${p.answered}.` : "No later host answered either."} What the user sees: ${SEEN[p.fixesFor]}.`,
    fixes: (p) => [FIX[p.fixesFor](p), `See what the mirror answers: curl -sI ${p.mirror}/`],
    genericFixes: [
      "Fix the mirror, or remove it from the client's config (hosts.toml, daemon.json registry-mirrors, registries.conf)",
      "containerd: set `server` to the mirror to stop falling back to the upstream",
    ],
  }),
} satisfies CatalogueSection;
