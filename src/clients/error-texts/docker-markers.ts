import type { ClientErrorTexts } from "./types";

/** What tells docker's (and docker compose's) text apart from the other clients': its framing, not its error. */
export const DOCKER_MARKERS: ClientErrorTexts["markers"] = [
  {
    pattern: /Attempting next endpoint for pull after error/,
    phrase: "Attempting next endpoint for pull after error (dockerd's log)",
    weight: 3,
    tool: "dockerd",
    source: "moby/moby:daemon/internal/distribution/pull.go (Pull)",
  },
  {
    pattern: /Error response from daemon: /,
    phrase: "Error response from daemon:",
    weight: 3,
    tool: "docker",
    source: "moby/moby:client/errors.go",
  },
  {
    pattern: /^\s*(?:✘|⠿|\[\+\])?\s*[\w.-]+ +Error\b/m,
    phrase: "SERVICE Error (compose progress line)",
    weight: 3,
    tool: "docker compose",
    source: "docker/compose:pkg/compose/pull.go (progress ErrorMessageEvent)",
  },
  {
    pattern: /^ERROR: (?:for \S+ +)?(?:pull access denied|manifest for)/m,
    phrase: "ERROR: (docker-compose 1.x)",
    weight: 3,
    tool: "docker-compose 1.x",
    source: "docker/compose:compose/cli/main.py (1.x)",
  },
  {
    pattern: /error pulling image configuration: |filesystem layer verification failed|: Pulling from [\w./-]+$/m,
    phrase: "docker pull progress (Pulling from …, error pulling image configuration)",
    weight: 3,
    tool: "docker",
    store: "classic",
    source: "moby/moby:daemon/internal/distribution/pull_v2.go",
  },
  {
    pattern: /^Unable to find image '[^']+' locally/m,
    phrase: "Unable to find image … locally",
    weight: 3,
    tool: "docker run",
    source: "docker/cli:cli/command/container/create.go",
  },
  {
    pattern: /manifest for \S+ not found/,
    phrase: "manifest for … not found",
    weight: 2,
    store: "classic",
    source: "moby/moby:daemon/internal/distribution/errors.go (notFoundError)",
  },
  {
    pattern: /pull access denied for \S+, repository does not exist or may require 'docker login'/,
    phrase: "pull access denied for …, repository does not exist or may require 'docker login'",
    weight: 3,
    source: "moby/moby:daemon/internal/distribution/errors.go (translatePullError)",
  },
  {
    pattern: /no matching manifest for \S+ in the manifest list entries/,
    phrase: "no matching manifest for … in the manifest list entries",
    weight: 2,
    source: "moby/moby:daemon/internal/distribution/pull_v2.go (noMatchesErr)",
  },
  {
    pattern: /Error response from daemon: failed to resolve reference "/,
    phrase: "Error response from daemon: failed to resolve reference",
    weight: 1,
    store: "containerd",
    versions: "Docker 29+ (containerd image store)",
    source: "moby/moby:daemon/containerd/image_pull.go (ImageService.pullTag)",
  },
];
