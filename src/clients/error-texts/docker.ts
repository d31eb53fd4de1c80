import { DOCKER_MARKERS } from "./docker-markers";
import type { ClientErrorTexts } from "./types";

/**
 * What `docker pull` (classic and containerd image store) and `docker compose pull` print.
 * The daemon's error reaches the CLI as "Error response from daemon: …"
 * (docker/cli:vendor/github.com/docker/docker/client/errors.go, moby/moby:client/errors.go).
 * Recorded: docker CLI 28.2 against dockerd 20.10 (test/vectors/pasted-errors/README.md).
 */
export const DOCKER_TEXTS: ClientErrorTexts = {
  client: "docker",
  label: "docker (classic and containerd store, docker compose)",
  markers: DOCKER_MARKERS,
  texts: [
    {
      code: "MIRROR_FALLBACK",
      pattern: /Attempting next endpoint for pull after error: /,
      phrase: "Attempting next endpoint for pull after error: … (dockerd's log: a mirror failed, the next endpoint is tried)",
      weight: 2,
      example:
        'time="2026-12-06T22:33:23Z" level=info msg="Attempting next endpoint for pull after error: Get \\"https://mirror.example.com/v2/\\": dial tcp 10.0.0.9:443: connect: connection refused"',
      versions: "classic image store",
      source: "moby/moby:daemon/internal/distribution/pull.go (Pull: logrus.Infof on fallback)",
      origin: "upstream",
    },
    {
      code: "MANIFEST_UNKNOWN",
      pattern: /manifest for \S+ not found: manifest unknown/,
      phrase: "manifest for … not found: manifest unknown",
      weight: 3,
      example: "Error response from daemon: manifest for 127.0.0.1:5000/team/app:nope not found: manifest unknown: manifest unknown",
      source: "moby/moby:daemon/internal/distribution/errors.go (notFoundError)",
      origin: "recorded",
    },
    {
      code: "MANIFEST_UNKNOWN",
      pattern: /Error response from daemon: failed to resolve reference "[^"]+": \S+: not found/,
      phrase: "failed to resolve reference … not found",
      weight: 3,
      example:
        'Error response from daemon: failed to resolve reference "docker.io/library/nginx:nope": docker.io/library/nginx:nope: not found',
      versions: "Docker 29+ (containerd image store)",
      source: "moby/moby:daemon/containerd/image_pull.go, containerd/containerd:core/remotes/docker/resolver.go",
      origin: "upstream",
    },
    {
      code: "AUTH_CREDENTIALS_REQUIRED",
      pattern: /no basic auth credentials/,
      phrase: "no basic auth credentials",
      weight: 3,
      example: 'Error response from daemon: Head "https://registry.example.com/v2/team/app/manifests/1.0": no basic auth credentials',
      source: "docker/distribution:registry/client/auth/session.go (ErrNoBasicAuthCredentials), vendored by moby",
      origin: "recorded",
    },
    {
      // A token server's bare 401 (no JSON body) reaches the CLI as the word alone.
      code: "AUTH_CREDENTIALS_REQUIRED",
      pattern: /Error response from daemon: (?:Head|Get) "[^"]+": unauthorized\s*$/m,
      phrase: 'Head "…": unauthorized',
      weight: 2,
      example: 'Error response from daemon: Head "https://registry.example.com/v2/team/app/manifests/1.0": unauthorized',
      source: "docker/distribution:registry/client/errors.go (HandleErrorResponse, vendored by moby)",
      origin: "recorded",
    },
    {
      code: "AUTH_UNAUTHORIZED",
      pattern: /Error response from daemon: (?:Head|Get) "[^"]+": unauthorized\s*$/m,
      phrase: 'Head "…": unauthorized (also for a wrong password)',
      weight: 1,
      source: "docker/distribution:registry/client/errors.go (HandleErrorResponse, vendored by moby)",
      origin: "recorded",
    },
    {
      code: "AUTH_DENIED",
      pattern: /pull access denied for \S+, repository does not exist or may require 'docker login'/,
      phrase: "pull access denied …, repository does not exist or may require 'docker login'",
      weight: 2,
      example:
        "Error response from daemon: pull access denied for registry.example.com/team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      source: "moby/moby:daemon/internal/distribution/errors.go (translatePullError)",
      origin: "upstream",
    },
    {
      code: "AUTH_CREDENTIALS_REQUIRED",
      pattern: /repository does not exist or may require 'docker login'/,
      phrase: "may require 'docker login'",
      weight: 1,
      source: "moby/moby:daemon/internal/distribution/errors.go (translatePullError)",
      origin: "upstream",
    },
    {
      code: "RATE_LIMITED",
      pattern: /toomanyrequests: You have reached your (?:unauthenticated )?pull rate limit/,
      phrase: "toomanyrequests: You have reached your pull rate limit",
      weight: 3,
      example:
        "Error response from daemon: toomanyrequests: You have reached your pull rate limit. You may increase the limit by authenticating and upgrading: https://www.docker.com/increase-rate-limit",
      source: "shared/peer-messages.md (docker 20.10 against a 429 registry)",
      origin: "upstream",
    },
    {
      code: "PLATFORM_UNAVAILABLE",
      pattern:
        /no matching manifest for \S+ in the manifest list entries|image with reference \S+ was found but (?:its platform \(.*?\) )?does not match the specified platform/,
      phrase: "no matching manifest for PLATFORM in the manifest list entries",
      weight: 3,
      example: "no matching manifest for linux/arm64 in the manifest list entries",
      source: "moby/moby:daemon/internal/distribution/pull_v2.go (noMatchesErr)",
      origin: "recorded",
    },
    {
      code: "TLS_UNKNOWN_CA",
      pattern:
        /Error response from daemon: Get "https:\/\/[^"]+\/v2\/": (?:tls: failed to verify certificate: )?x509: certificate signed by unknown authority/,
      phrase: "Get …/v2/: x509: certificate signed by unknown authority",
      weight: 3,
      example:
        'Error response from daemon: Get "https://registry.example.com/v2/": tls: failed to verify certificate: x509: certificate signed by unknown authority',
      versions: "Go 1.20+ builds add 'tls: failed to verify certificate:' (Docker 24+)",
      source: "moby/moby:daemon/pkg/registry/auth.go (PingV2Registry); not producible here: dockerd treats 127.0.0.0/8 as insecure",
      origin: "upstream",
    },
    {
      code: "DNS_NXDOMAIN",
      pattern: /Error response from daemon: Get "https:\/\/[^"]+\/v2\/": dial tcp: lookup \S+(?: on \S+)?: no such host/,
      phrase: "Get …/v2/: dial tcp: lookup … no such host",
      weight: 3,
      example:
        'Error response from daemon: Get "https://registry.pd.invalid/v2/": dial tcp: lookup registry.pd.invalid on 10.0.0.2:53: no such host',
      source: "moby/moby:daemon/pkg/registry/auth.go (PingV2Registry)",
      origin: "recorded",
    },
    {
      code: "CONNECT_REFUSED",
      pattern: /Error response from daemon: Get "https?:\/\/[^"]+\/v2\/": dial tcp \S+: connect: connection refused/,
      phrase: "Get …/v2/: dial tcp … connection refused",
      weight: 3,
      example: 'Error response from daemon: Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
      source: "moby/moby:daemon/pkg/registry/auth.go (PingV2Registry)",
      origin: "recorded",
    },
    {
      code: "TLS_HTTP_ONLY",
      pattern: /Error response from daemon: Get "https:\/\/[^"]+\/v2\/": http: server gave HTTP response to HTTPS client/,
      phrase: "Get https://…/v2/: http: server gave HTTP response to HTTPS client",
      weight: 3,
      example: 'Error response from daemon: Get "https://registry.example.com:5000/v2/": http: server gave HTTP response to HTTPS client',
      source: "moby/moby:daemon/pkg/registry/auth.go (PingV2Registry); not producible here: dockerd treats 127.0.0.0/8 as insecure",
      origin: "upstream",
    },
    {
      code: "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
      pattern: /schema 1 support has been removed|\[DEPRECATION NOTICE\] Docker Image Format v1/,
      phrase: "schema 1 support has been removed",
      weight: 3,
      example:
        "Error response from daemon: Docker Image Format v1 and Docker Image manifest version 2, schema 1 support has been removed. Suggest the author of docker.io/library/ubuntu:10.04 to upgrade the image to the OCI Format or Docker Image manifest v2, schema 2.",
      versions: "Docker 28.2+",
      source: "moby/moby:daemon/internal/distribution/errors.go (DeprecatedSchema1ImageError)",
      origin: "upstream",
    },
    {
      // The manifest came from the registry, so a dial that fails on the config blob is to the
      // host the blob was redirected to (a CDN), not to the registry: CONNECT_* would blame the wrong host.
      code: "BLOB_REDIRECT_UNREACHABLE",
      pattern: /error pulling image configuration: download failed after attempts=\d+: (?:dial tcp|lookup) /,
      phrase: "error pulling image configuration: … dial tcp / lookup (the blob host)",
      weight: 3,
      example: "error pulling image configuration: download failed after attempts=6: dial tcp 127.0.0.9:9: connect: connection refused",
      source: "moby/moby:daemon/internal/distribution/pull_v2.go (ImageConfigPullError, retry)",
      origin: "upstream",
    },
    {
      code: "BLOB_FETCH_FAILED",
      pattern: /error pulling image configuration: download failed after attempts=\d+/,
      phrase: "error pulling image configuration: download failed after attempts",
      weight: 2,
      example: "error pulling image configuration: download failed after attempts=6: dial tcp 127.0.0.9:9: connect: connection refused",
      source: "moby/moby:daemon/internal/distribution/pull_v2.go (retry)",
      origin: "upstream",
    },
    {
      code: "BLOB_DIGEST_MISMATCH",
      pattern: /filesystem layer verification failed for digest/,
      phrase: "filesystem layer verification failed",
      weight: 3,
      example: "filesystem layer verification failed for digest sha256:0123…",
      source: "moby/moby:daemon/internal/distribution/pull_v2.go (v2LayerDescriptor.Download)",
      origin: "upstream",
    },
    {
      code: "CREDS_HELPER_MISSING",
      pattern: /error getting credentials - err: exec: "docker-credential-[^"]+": executable file not found/,
      phrase: 'error getting credentials - err: exec: "docker-credential-…": executable file not found',
      weight: 3,
      example: 'error getting credentials - err: exec: "docker-credential-desktop": executable file not found in $PATH, out: ``',
      source: "docker/docker-credential-helpers:client/client.go (Get)",
      origin: "upstream",
    },
    {
      code: "CREDS_HELPER_FAILED",
      pattern: /error getting credentials - err: exit status \d+/,
      phrase: "error getting credentials - err: exit status",
      weight: 3,
      example: "error getting credentials - err: exit status 1, out: `pass store is uninitialized`",
      source: "docker/docker-credential-helpers:client/client.go (Get)",
      origin: "upstream",
    },
    {
      code: "REF_INVALID",
      pattern: /invalid reference format/,
      phrase: "invalid reference format",
      weight: 3,
      example: "invalid reference format",
      source: "distribution/reference:reference.go (ErrReferenceInvalidFormat)",
      origin: "upstream",
    },
    {
      code: "REF_UPPERCASE",
      pattern: /repository name \(\S+\) must be lowercase|repository name must be lowercase/,
      phrase: "repository name must be lowercase",
      weight: 3,
      example: "invalid reference format: repository name (library/Nginx) must be lowercase",
      source: "distribution/reference:normalize.go (ParseNormalizedNamed)",
      origin: "upstream",
    },
    {
      code: "CONTENT_TRUST_ENABLED",
      pattern: /remote trust data does not exist for|could not contact notary server|notary\.docker\.io does not have trust data/i,
      phrase: "remote trust data does not exist",
      weight: 3,
      example:
        "Error: remote trust data does not exist for registry.example.com/team/app: registry.example.com does not have trust data for registry.example.com/team/app",
      source: "docker/cli:cli/trust/trust.go (GetNotaryRepository), cli/command/image/trust.go",
      origin: "upstream",
    },
  ],
};
