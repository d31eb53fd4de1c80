import { clientName, loginWords, otherClient } from "../client-words";
import type { AuthBase } from "./auth-base";
import { type CatalogueSection, entry } from "./entry";

/** What re-sending the request with the repository's challenge (as containerd does after a 401) gave. */
export interface NotSentRetry {
  /** accepted: 2xx/404 with the Authorization; refused: 401/403 to it; failed: no Authorization could be made (token). */
  outcome: "accepted" | "refused" | "failed";
  /** "Basic as alice", "a token from http://…/token (anonymous)". */
  sent: string;
  status: number | null;
  message: string;
}

export interface NotSentParams extends AuthBase {
  /** The manifest URL that answered 401. */
  url: string;
  /** The scheme of the repository's challenge. */
  scheme: "basic" | "bearer";
  /** The client judged ("docker (classic image store)"). */
  client: string;
  /** That client retries a repository 401 with credentials (containerd's resolver) instead of learning challenges only from /v2/. */
  sendsOn401: boolean;
  retry: NotSentRetry | null;
}

const creds = (p: NotSentParams) =>
  p.user ? `the credentials of ${p.user} (${p.credSource ?? "configured credentials"})` : p.scheme === "bearer" ? "a token" : "credentials";

const retryText = (p: NotSentParams): string => {
  const r = p.retry;
  if (!r) return "none are configured here, so they would fail too";
  if (r.outcome === "accepted") return `re-sent so (${r.sent}), the registry answered ${r.status}: their pull works`;
  if (r.outcome === "refused")
    return `re-sent so (${r.sent}), the registry refused it too (${r.status}${r.message ? `: ${r.message}` : ""})`;
  return `re-sending failed: ${r.message}`;
};

/** Docker's containerd image store, as daemon.json turns it on (Docker 24+, the default of fresh Docker 29 installs). */
const CONTAINERD_STORE = '"features": {"containerd-snapshotter": true} in /etc/docker/daemon.json, then restart dockerd';

/** AUTH_NOT_SENT: severity and words are a function of the judged client's `sendsOn401` (SPEC "Clients", auth row). */
export const authNotSent = {
  AUTH_NOT_SENT: entry<NotSentParams>({
    stage: "auth",
    severity: "error",
    title: "/v2/ asks for no credentials, the repository does: some clients never send them",
    explain:
      "The registry answers GET /v2/ with 200 (no challenge) but answers the repository's manifest with 401 and a Basic or Bearer challenge. Classic Docker and podman/skopeo/CRI-O learn challenges only from the /v2/ ping, so they send no Authorization at all here and the pull fails as unauthorized, whatever is configured. containerd (ctr, nerdctl, CRI, kubelet) and Docker's containerd image store have no ping: they retry the 401 with the challenge it carries and the configured credentials.",
    seen: [
      "docker (classic store): Error response from daemon: unauthorized: authentication required",
      "podman/skopeo: reading manifest 1.0 in 127.0.0.1:5001/team/app: unauthorized: authentication required",
      "containerd/kubelet (no credentials): failed to resolve reference: pull access denied, repository does not exist or may require authorization: authorization failed: no basic auth credentials",
    ],
    causes: [
      "A reverse proxy (nginx auth_basic, an SSO gateway) that protects repository paths but lets /v2/ through",
      "A registry whose authorization is per repository and whose /v2/ is public",
    ],
    howKnown:
      "The /v2/ probe answered without a challenge; the HEAD of the manifest, sent as classic Docker sends it (no Authorization), answered 401 with a challenge. The doctor then re-sends it once with that challenge and the configured credentials, as containerd does, and records the answer.",
    detail: (p) => {
      const answered = `/v2/ answered without a challenge; HEAD ${p.url} answered 401 with a ${p.scheme === "basic" ? "Basic" : "Bearer"} challenge, and no Authorization was sent.`;
      const classic = `Classic Docker and podman learn challenges only from the /v2/ ping, so they never send ${creds(p)} here`;
      const containerd = `containerd and Docker's containerd image store retry the 401 with them: ${retryText(p)}`;
      return p.sendsOn401
        ? `${answered} ${p.client} retries the 401 with ${creds(p)}: ${retryText(p)}. ${classic} and fail.`
        : `${answered} ${classic}: ${p.client} fails with "unauthorized: authentication required". ${containerd}.`;
    },
    fixes: (p) => [
      `Registry side: make /v2/ itself answer 401 with the same ${p.scheme === "basic" ? "Basic" : "Bearer"} challenge (${p.scheme === "basic" ? "e.g. nginx: put auth_basic on `location /v2/`, not only on the repository paths" : "e.g. let a proxy pass /v2/ through to the registry instead of answering it itself"}), so every client learns it from the ping`,
      ...(p.sendsOn401
        ? []
        : [
            ...(otherClient(p.fixesFor)
              ? []
              : [`Client side, Docker: use the containerd image store, which retries the 401 with credentials: ${CONTAINERD_STORE}`]),
            `Client side: pull with containerd, which does the same: \`ctr images pull${p.user ? ` --user ${p.user}` : ""} ${p.registry}/${p.repository}:TAG\` (or nerdctl pull)`,
          ]),
      ...(p.user
        ? []
        : otherClient(p.fixesFor)
          ? [`Log in first, for ${clientName(p.fixesFor)}: ${loginWords(p.registry, p.fixesFor)}`]
          : [`Log in first, whichever client pulls: \`docker login${p.registry === "docker.io" ? "" : ` ${p.registry}`}\``]),
    ],
    genericFixes: [
      "Make /v2/ answer 401 with the same challenge as the repositories",
      "Docker: turn on the containerd image store (it retries a 401 with credentials)",
      "Pull with containerd (ctr --user, nerdctl) instead",
    ],
  }),
} satisfies CatalogueSection;
