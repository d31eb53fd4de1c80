import type { ClientErrorTexts } from "./types";

const SRC = "containers/image:docker/docker_image_src.go (newImageSource)";
const CLIENT = "containers/image:docker/docker_client.go";

/**
 * What containers/image prints through podman, skopeo, buildah and CRI-O. podman prefixes
 * "Error: " (and says "Trying to pull …" first), skopeo logs `level=fatal msg="…"`.
 * Recorded: podman 4.3.1 and skopeo 1.9.3 (test/vectors/pasted-errors/README.md).
 */
export const PODMAN_TEXTS: ClientErrorTexts = {
  client: "podman",
  label: "podman, skopeo, CRI-O (containers/image)",
  markers: [
    {
      pattern: /^Trying to pull \S+\.\.\./m,
      phrase: "Trying to pull …",
      weight: 3,
      tool: "podman",
      source: "containers/common:libimage/pull.go (copySingleImageFromRegistry)",
    },
    {
      pattern:
        /^Error: (?:initializing source|choosing an image|short-name|Source image rejected|copying system image|reading manifest|unable to)/m,
      phrase: "Error: (podman)",
      weight: 3,
      tool: "podman",
      source: "containers/podman:cmd/podman/main.go",
    },
    {
      pattern: /level=fatal msg="/,
      phrase: 'level=fatal msg="…"',
      weight: 2,
      tool: "skopeo",
      source: "containers/skopeo:cmd/skopeo/main.go (logrus.Fatal)",
    },
    { pattern: /initializing source docker:\/\//, phrase: "initializing source docker://", weight: 3, source: SRC },
    { pattern: /pinging container registry /, phrase: "pinging container registry", weight: 3, source: `${CLIENT} (detectProperties)` },
    {
      pattern: /reading manifest \S+ in \S+: /,
      phrase: "reading manifest … in …",
      weight: 3,
      source: "containers/image:docker/docker_image_src.go (fetchManifest)",
    },
    {
      pattern: /choosing an image from manifest list /,
      phrase: "choosing an image from manifest list",
      weight: 3,
      source: "containers/image:image/docker_list.go, internal/image/unparsed.go",
    },
    { pattern: /\(Mirrors also failed: /, phrase: "(Mirrors also failed: …)", weight: 3, source: SRC },
    {
      pattern: /unable to retrieve auth token: /,
      phrase: "unable to retrieve auth token",
      weight: 3,
      source: `${CLIENT} (getBearerToken)`,
    },
  ],
  texts: [
    {
      code: "MANIFEST_UNKNOWN",
      pattern: /reading manifest \S+ in \S+: manifest unknown/,
      phrase: "reading manifest … in …: manifest unknown",
      weight: 3,
      example:
        "Error: initializing source docker://127.0.0.1:5000/team/app:nope: reading manifest nope in 127.0.0.1:5000/team/app: manifest unknown: manifest unknown",
      source: SRC,
      origin: "recorded",
    },
    {
      code: "AUTH_CREDENTIALS_REQUIRED",
      pattern: /reading manifest \S+ in \S+: unauthorized: authentication required/,
      phrase: "reading manifest …: unauthorized: authentication required",
      weight: 3,
      example:
        "Error: initializing source docker://127.0.0.1:5000/team/app:1.0: reading manifest 1.0 in 127.0.0.1:5000/team/app: unauthorized: authentication required",
      source: SRC,
      origin: "recorded",
    },
    {
      code: "AUTH_DENIED",
      pattern: /reading manifest \S+ in \S+: (?:errors:\s*)?denied: requested access to the resource is denied/,
      phrase: "reading manifest …: denied: requested access to the resource is denied",
      weight: 3,
      example:
        "Error: initializing source docker://127.0.0.1:5001/team/app:1.0: reading manifest 1.0 in 127.0.0.1:5001/team/app: errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required",
      source: "shared/peer-messages.md (skopeo 1.9 against a token registry)",
      origin: "upstream",
    },
    {
      code: "AUTH_UNAUTHORIZED",
      pattern: /unable to retrieve auth token: invalid username\/password/,
      phrase: "unable to retrieve auth token: invalid username/password",
      weight: 2,
      example:
        "Error: initializing source docker://127.0.0.1:5001/team/app:1.0: unable to retrieve auth token: invalid username/password: unauthorized: incorrect username or password",
      source: `${CLIENT} (getBearerToken: ErrUnauthorizedForCredentials)`,
      origin: "upstream",
    },
    {
      // containers/image says "invalid username/password" for any 401 of the token server, also
      // when it sent no credentials at all (recorded: a token server that refuses anonymous requests).
      code: "AUTH_CREDENTIALS_REQUIRED",
      pattern: /unable to retrieve auth token: invalid username\/password: unauthorized(?=["\s]*$)/m,
      phrase: "unable to retrieve auth token: invalid username/password: unauthorized (printed without credentials too)",
      weight: 2,
      example:
        "Error: initializing source docker://127.0.0.1:5000/team/app:1.0: unable to retrieve auth token: invalid username/password: unauthorized",
      source: `${CLIENT} (getBearerToken: ErrUnauthorizedForCredentials)`,
      origin: "recorded",
    },
    {
      code: "TLS_UNKNOWN_CA",
      pattern:
        /pinging container registry \S+: Get "https:[^"]+": (?:tls: failed to verify certificate: )?x509: certificate signed by unknown authority/,
      phrase: "pinging container registry …: x509: certificate signed by unknown authority",
      weight: 3,
      example:
        'Error: initializing source docker://127.0.0.1:5000/team/app:1.0: pinging container registry 127.0.0.1:5000: Get "https://127.0.0.1:5000/v2/": x509: certificate signed by unknown authority',
      source: `${CLIENT} (detectPropertiesHelper)`,
      origin: "recorded",
    },
    {
      code: "TLS_HTTP_ONLY",
      pattern: /pinging container registry \S+: Get "https:[^"]+": http: server gave HTTP response to HTTPS client/,
      phrase: "pinging container registry …: server gave HTTP response to HTTPS client",
      weight: 3,
      example:
        'Error: initializing source docker://127.0.0.1:5000/team/app:1.0: pinging container registry 127.0.0.1:5000: Get "https://127.0.0.1:5000/v2/": http: server gave HTTP response to HTTPS client',
      source: `${CLIENT} (detectPropertiesHelper)`,
      origin: "recorded",
    },
    {
      code: "DNS_NXDOMAIN",
      pattern: /pinging container registry \S+: Get "[^"]+": dial tcp: lookup \S+(?: on \S+)?: no such host/,
      phrase: "pinging container registry …: lookup … no such host",
      weight: 3,
      example:
        'Error: initializing source docker://registry.pd.invalid/team/app:1.0: pinging container registry registry.pd.invalid: Get "https://registry.pd.invalid/v2/": dial tcp: lookup registry.pd.invalid on 10.0.0.2:53: no such host',
      source: `${CLIENT} (detectPropertiesHelper)`,
      origin: "recorded",
    },
    {
      code: "CONNECT_REFUSED",
      pattern: /pinging container registry \S+: Get "[^"]+": dial tcp \S+: connect: connection refused/,
      phrase: "pinging container registry …: connection refused",
      weight: 3,
      example:
        'Error: initializing source docker://127.0.0.1:5999/team/app:1.0: pinging container registry 127.0.0.1:5999: Get "http://127.0.0.1:5999/v2/": dial tcp 127.0.0.1:5999: connect: connection refused',
      source: `${CLIENT} (detectPropertiesHelper)`,
      origin: "recorded",
    },
    {
      code: "PLATFORM_UNAVAILABLE",
      pattern:
        /no image found in image index for architecture \S+, variant "[^"]*", OS \S+|no image found in manifest list for architecture/,
      phrase: "no image found in image index for architecture …",
      weight: 3,
      example:
        'Error: choosing an image from manifest list docker://127.0.0.1:5000/team/app:1.0: no image found in image index for architecture arm64, variant "", OS linux',
      source: "containers/image:internal/manifest/oci_index.go (chooseInstance)",
      origin: "recorded",
    },
    {
      code: "SHORT_NAME_UNRESOLVED",
      pattern:
        /short-name "[^"]+" did not resolve to an alias and no unqualified-search registries are defined|short-name resolution enforced but cannot prompt without a TTY/,
      phrase: "short-name … did not resolve to an alias",
      weight: 3,
      example:
        'Error: short-name "app:1.0" did not resolve to an alias and no unqualified-search registries are defined in "/etc/containers/registries.conf"',
      source: "containers/image:pkg/shortnames/shortnames.go (Resolve)",
      origin: "recorded",
    },
    {
      code: "REGISTRY_BLOCKED",
      pattern: /registry \S+ is blocked in /,
      phrase: "registry … is blocked in registries.conf",
      weight: 3,
      example:
        "Error: initializing source docker://registry.example.com/team/app:1.0: registry registry.example.com is blocked in /etc/containers/registries.conf or /etc/containers/registries.conf.d",
      source: SRC,
      origin: "upstream",
    },
    {
      code: "POLICY_REJECTED",
      pattern: /Source image rejected: /,
      phrase: "Source image rejected",
      weight: 3,
      example: "Error: Source image rejected: Running image docker://registry.example.com/team/app:1.0 is rejected by policy.",
      source: "containers/image:signature/policy_eval.go (PolicyRequirementError)",
      origin: "upstream",
    },
    {
      // GetBlob follows the registry's redirect: the URL and the failed dial are the blob host's.
      code: "BLOB_REDIRECT_UNREACHABLE",
      pattern: /reading blob sha256:[0-9a-f]+: Get "[^"]+": (?:dial tcp|lookup) /,
      phrase: "reading blob …: Get …: dial tcp / lookup (the blob host)",
      weight: 3,
      example:
        'Error: copying system image from manifest list: reading blob sha256:a8c7d4f2862d3c5d77c47c90fddd3672fea83d7619e867ffe31ffc0660796726: Get "https://cdn.example.com/blobs/a8c7": dial tcp 192.0.2.9:443: connect: connection refused',
      source: "containers/image:copy/single.go (copyLayer: reading blob)",
      origin: "upstream",
    },
    {
      code: "BLOB_DIGEST_MISMATCH",
      pattern: /Digest did not match, expected \S+, got \S+/,
      phrase: "Digest did not match",
      weight: 3,
      example: "Error: writing blob: happened during read: Digest did not match, expected sha256:0123…, got sha256:4567…",
      source: "containers/image:copy/digesting_reader.go",
      origin: "upstream",
    },
  ],
};
