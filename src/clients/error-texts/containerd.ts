import type { ClientErrorTexts } from "./types";

const RESOLVER = "containerd/containerd:core/remotes/docker/resolver.go (dockerResolver.Resolve)";

/**
 * What containerd prints through ctr, nerdctl and crictl (CRI). Wording moved between versions:
 * 1.6 says "pulling from host H failed with status code [manifests T]: 401 Unauthorized"
 * (remotes/docker/resolver.go), 1.7+ "unexpected status from HEAD request to URL: 401 Unauthorized"
 * (core/remotes/errors/errors.go ErrUnexpectedStatus); CRI in 2.1+ pulls through the transfer
 * service, "failed to resolve image", where 2.0 said "failed to resolve reference".
 * Recorded: ctr 1.6.20 against a containerd of the tests' own (test/vectors/pasted-errors/README.md).
 */
export const CONTAINERD_TEXTS: ClientErrorTexts = {
  client: "containerd",
  label: "containerd (ctr, nerdctl, crictl)",
  markers: [
    { pattern: /^ctr: /m, phrase: "ctr:", weight: 3, tool: "ctr", source: "containerd/containerd:cmd/ctr/app/main.go" },
    {
      pattern: /(?:^|\s)FATA\[\d+\] pulling image: /m,
      phrase: "FATA[…] pulling image:",
      weight: 3,
      tool: "crictl",
      source: "kubernetes-sigs/cri-tools:cmd/crictl/image.go",
    },
    {
      pattern: /failed to pull and unpack image "/,
      phrase: 'failed to pull and unpack image "…"',
      weight: 2,
      tool: "CRI",
      source: "containerd/containerd:internal/cri/server/images/image_pull.go (PullImage)",
    },
    {
      pattern: /failed to resolve reference "/,
      phrase: 'failed to resolve reference "…"',
      weight: 2,
      versions: "containerd ≤ 2.0 CRI, ctr, nerdctl",
      source: RESOLVER,
    },
    {
      pattern: /failed to resolve image: /,
      phrase: "failed to resolve image:",
      weight: 2,
      versions: "containerd 2.1+ (CRI through the transfer service)",
      source: "containerd/containerd:core/transfer/local/pull.go",
    },
    {
      pattern: /failed to do request: /,
      phrase: "failed to do request:",
      weight: 2,
      source: "containerd/containerd:core/remotes/docker/resolver.go (request.do)",
    },
    {
      pattern: /pulling from host \S+ failed with status code/,
      phrase: "pulling from host … failed with status code",
      weight: 3,
      versions: "containerd ≤ 1.6",
      source: "containerd/containerd:remotes/docker/resolver.go (v1.6)",
    },
    {
      pattern: /unexpected status from (?:HEAD|GET|POST) request to /,
      phrase: "unexpected status from … request to",
      weight: 2,
      versions: "containerd 1.7+",
      source: "containerd/containerd:core/remotes/errors/errors.go (ErrUnexpectedStatus)",
    },
    {
      pattern: /httpReadSeeker: failed open/,
      phrase: "httpReadSeeker: failed open",
      weight: 3,
      source: "containerd/containerd:core/remotes/docker/httpreadseeker.go",
    },
    {
      pattern: /no match for platform in manifest/,
      phrase: "no match for platform in manifest",
      weight: 2,
      source: "containerd/containerd:core/images/handlers.go (LimitManifests)",
    },
  ],
  texts: [
    {
      code: "MIRROR_FALLBACK",
      pattern: /msg="trying next host/,
      phrase: 'level=info msg="trying next host" (a host failed, the next one is tried)',
      // 1.x logs it for the last host too (2.0+ says "fetch failed" there): alone it does not prove a mirror.
      weight: 1,
      versions: "containerd 2.0+; 1.x logs it after the last host too",
      example:
        'time="2026-12-06T22:33:23Z" level=info msg="trying next host" error="failed to do request: Head \\"http://mirror.example:5000/v2/team/app/manifests/1.0?ns=registry.example.com\\": dial tcp 10.0.0.9:5000: connect: connection refused" host="mirror.example:5000"',
      source: "containerd/containerd:core/remotes/docker/resolver.go (dockerResolver.Resolve, nextHostOrFail)",
      origin: "upstream",
    },
    {
      code: "MANIFEST_UNKNOWN",
      pattern: /failed to resolve (?:reference "[^"]+"|image): \S+: not found/,
      phrase: "failed to resolve … : not found",
      weight: 3,
      example: 'ctr: failed to resolve reference "127.0.0.1:5000/team/app:nope": 127.0.0.1:5000/team/app:nope: not found',
      source: RESOLVER,
      origin: "recorded",
    },
    {
      code: "NAME_UNKNOWN",
      pattern: /failed to resolve (?:reference "[^"]+"|image): \S+: not found/,
      phrase: "not found (containerd says the same for a missing repository)",
      weight: 1,
      source: RESOLVER,
      origin: "recorded",
    },
    {
      code: "AUTH_CREDENTIALS_REQUIRED",
      pattern:
        /(?:failed with status code \[manifests [^\]]+\]|unexpected status from HEAD request to \S+): 401 Unauthorized|no basic auth credentials|failed to fetch anonymous token: unexpected status[^\n]*?: 401 Unauthorized/,
      phrase: "401 Unauthorized on the manifest",
      weight: 3,
      example:
        'ctr: failed to resolve reference "127.0.0.1:5000/team/app:1.0": pulling from host 127.0.0.1:5000 failed with status code [manifests 1.0]: 401 Unauthorized',
      versions: "containerd ≤ 1.6 wording; 1.7+: unexpected status from HEAD request to …: 401 Unauthorized",
      source: RESOLVER,
      origin: "recorded",
    },
    {
      code: "AUTH_DENIED",
      pattern: /pull access denied, repository does not exist or may require authorization/,
      phrase: "pull access denied, repository does not exist or may require authorization",
      weight: 2,
      example:
        'failed to pull and unpack image "docker.io/team/app:1.0": failed to resolve reference "docker.io/team/app:1.0": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
      source: "containerd/containerd:core/remotes/docker/resolver.go (ErrInvalidAuthorization), authorizer.go (invalidAuthorization)",
      origin: "upstream",
    },
    {
      code: "AUTH_UNAUTHORIZED",
      pattern: /failed to fetch oauth token: unexpected status[^\n]*401 Unauthorized/,
      phrase: "failed to fetch oauth token: … 401 Unauthorized",
      weight: 3,
      example:
        "failed to authorize: failed to fetch oauth token: unexpected status from POST request to https://auth.example.com/token: 401 Unauthorized",
      source: "containerd/containerd:core/remotes/docker/auth/fetch.go (FetchTokenWithOAuth)",
      origin: "upstream",
    },
    {
      code: "AUTH_TOKEN_SERVER_UNREACHABLE",
      pattern: /failed to fetch (?:anonymous|oauth) token: (?:Get|Post) "/,
      phrase: "failed to fetch anonymous token: Get …",
      weight: 3,
      example:
        'failed to authorize: failed to fetch anonymous token: Get "https://auth.docker.io/token?scope=repository%3Alibrary%2Fredis%3Apull&service=registry.docker.io": dial tcp 54.0.0.1:443: i/o timeout',
      source: "containerd/containerd:core/remotes/docker/auth/fetch.go (FetchToken)",
      origin: "upstream",
    },
    {
      code: "RATE_LIMITED",
      pattern:
        /(?:unexpected status from \S+ request to \S+|unexpected status code \S+|failed with status code \[[^\]]+\]): 429 Too Many Requests/,
      phrase: "429 Too Many Requests",
      weight: 3,
      example:
        "failed to copy: httpReadSeeker: failed open: unexpected status from GET request to https://registry-1.docker.io/v2/library/nginx/manifests/sha256:0123…: 429 Too Many Requests\ntoomanyrequests: You have reached your unauthenticated pull rate limit.",
      versions:
        "containerd 2.1+ appends the registry's errors on the next line; ≤ 2.0: '… 429 Too Many Requests - Server message: toomanyrequests: …'",
      source: "containerd/containerd:core/remotes/errors/errors.go (ErrUnexpectedStatus), errcode.go",
      origin: "upstream",
    },
    {
      code: "PLATFORM_UNAVAILABLE",
      pattern: /no match for platform in manifest/,
      phrase: "no match for platform in manifest",
      weight: 3,
      example: "ctr: no match for platform in manifest sha256:6bb9dc93ca58ae7547ff4579568dc4c5dac8f4195468defbd97b27b5029228b6: not found",
      source: "containerd/containerd:core/images/handlers.go (LimitManifests)",
      origin: "recorded",
    },
    {
      code: "TLS_UNKNOWN_CA",
      pattern:
        /failed to do request: Head "https:[^"]+": (?:tls: failed to verify certificate: )?x509: certificate signed by unknown authority/,
      phrase: "failed to do request: Head …: x509: certificate signed by unknown authority",
      weight: 3,
      example:
        'ctr: failed to resolve reference "127.0.0.1:5000/team/app:1.0": failed to do request: Head "https://127.0.0.1:5000/v2/team/app/manifests/1.0": x509: certificate signed by unknown authority',
      versions: "containerd built with Go 1.20+ adds 'tls: failed to verify certificate:'",
      source: "containerd/containerd:core/remotes/docker/resolver.go (request.do)",
      origin: "recorded",
    },
    {
      code: "TLS_HTTP_ONLY",
      pattern: /failed to do request: Head "https:[^"]+": http: server gave HTTP response to HTTPS client/,
      phrase: "failed to do request: … server gave HTTP response to HTTPS client",
      weight: 3,
      example:
        'ctr: failed to resolve reference "127.0.0.1:5000/team/app:1.0": failed to do request: Head "https://127.0.0.1:5000/v2/team/app/manifests/1.0": http: server gave HTTP response to HTTPS client',
      source: "containerd/containerd:core/remotes/docker/resolver.go (request.do)",
      origin: "recorded",
    },
    {
      code: "DNS_NXDOMAIN",
      pattern: /failed to do request: Head "[^"]+": dial tcp: lookup \S+(?: on \S+)?: no such host/,
      phrase: "failed to do request: … lookup … no such host",
      weight: 3,
      example:
        'ctr: failed to resolve reference "registry.pd.invalid/team/app:1.0": failed to do request: Head "https://registry.pd.invalid/v2/team/app/manifests/1.0": dial tcp: lookup registry.pd.invalid on 10.0.0.2:53: no such host',
      source: "containerd/containerd:core/remotes/docker/resolver.go (request.do)",
      origin: "recorded",
    },
    {
      code: "CONNECT_REFUSED",
      pattern: /failed to do request: Head "[^"]+": dial tcp \S+: connect: connection refused/,
      phrase: "failed to do request: … connection refused",
      weight: 3,
      example:
        'ctr: failed to resolve reference "127.0.0.1:5999/team/app:1.0": failed to do request: Head "http://127.0.0.1:5999/v2/team/app/manifests/1.0": dial tcp 127.0.0.1:5999: connect: connection refused',
      source: "containerd/containerd:core/remotes/docker/resolver.go (request.do)",
      origin: "recorded",
    },
    {
      code: "MANIFEST_FETCH_FAILED",
      pattern: /failed with status code \[manifests [^\]]+\]: 400 Bad Request/,
      phrase: "failed with status code [manifests …]: 400 Bad Request (plain HTTP sent to an HTTPS port)",
      weight: 2,
      example:
        'ctr: failed to resolve reference "127.0.0.1:5443/team/app:1.0": pulling from host 127.0.0.1:5443 failed with status code [manifests 1.0]: 400 Bad Request',
      versions: "containerd ≤ 1.6",
      source: "shared/failures-and-anchors.md #30 (ctr against an HTTPS port on loopback)",
      origin: "upstream",
    },
    {
      code: "BLOB_UNKNOWN",
      pattern: /could not fetch content descriptor \S+ \([^)]*\) from remote: not found|content at \S+ not found: not found/,
      phrase: "could not fetch content descriptor … from remote: not found",
      weight: 3,
      example:
        "failed to copy: httpReadSeeker: failed open: could not fetch content descriptor sha256:0123… (application/vnd.oci.image.layer.v1.tar+gzip) from remote: not found",
      source: "containerd/containerd:core/remotes/docker/fetcher.go (dockerFetcher.Fetch)",
      origin: "upstream",
    },
    {
      code: "BLOB_DIGEST_MISMATCH",
      pattern: /unexpected commit digest \S+, expected \S+/,
      phrase: "unexpected commit digest",
      weight: 3,
      example:
        'failed commit on ref "layer-sha256:0123…": unexpected commit digest sha256:4567…, expected sha256:0123…: failed precondition',
      source: "containerd/containerd:plugins/content/local/writer.go (Commit)",
      origin: "upstream",
    },
    {
      code: "BLOB_SLOW",
      pattern: /because of no progress in \S+/,
      phrase: "cancel pulling image … because of no progress",
      weight: 3,
      example: "cancel pulling image docker.io/library/big:1.0 because of no progress in 5m0s",
      source: "containerd/containerd:internal/cri/server/images/image_pull.go (pullProgressReporter.start)",
      origin: "upstream",
    },
    {
      code: "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
      pattern: /is no longer supported since containerd v2\.\d|schema 1 image manifests are no longer supported/,
      phrase: "media type … is no longer supported since containerd v2.1",
      weight: 3,
      example: 'media type "application/vnd.docker.distribution.manifest.v1+prettyjws" is no longer supported since containerd v2.1',
      versions: "containerd 2.1+",
      source: "containerd/containerd:client/pull.go",
      origin: "upstream",
    },
  ],
};
