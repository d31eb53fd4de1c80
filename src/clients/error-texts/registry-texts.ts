import type { ErrorText } from "./types";

/**
 * The registry's own error codes and messages (distribution/distribution:registry/api/errcode/register.go,
 * registry/api/v2/errors.go) that docker, podman and containerd 2.1+ print as `code: message`.
 * Every client passes them through, so they name the cause but not the client.
 */
const reg = (t: Omit<ErrorText, "origin">): ErrorText => ({ ...t, origin: "upstream" });
const ERRCODE = "distribution/distribution:registry/api/v2/errors.go";

export const REGISTRY_TEXTS: ErrorText[] = [
  reg({
    code: "MANIFEST_UNKNOWN",
    pattern: /manifest unknown/,
    phrase: "manifest unknown",
    weight: 3,
    source: `${ERRCODE} (ErrorCodeManifestUnknown)`,
  }),
  // A missing repository is answered MANIFEST_UNKNOWN too by most registries; only the tag list tells them apart.
  reg({
    code: "NAME_UNKNOWN",
    pattern: /manifest unknown/,
    phrase: "manifest unknown (a missing repository is answered the same)",
    weight: 1,
    source: `${ERRCODE} (ErrorCodeManifestUnknown)`,
  }),
  reg({
    code: "NAME_UNKNOWN",
    pattern: /name unknown|repository name not known to registry/,
    phrase: "name unknown",
    weight: 3,
    source: `${ERRCODE} (ErrorCodeNameUnknown)`,
  }),
  reg({
    code: "RATE_LIMITED",
    pattern: /toomanyrequests|429 Too Many Requests|You have reached your (?:unauthenticated )?pull rate limit/,
    phrase: "toomanyrequests / 429 Too Many Requests",
    weight: 3,
    source: "distribution/distribution:registry/api/errcode/register.go (ErrorCodeTooManyRequests)",
  }),
  reg({
    code: "AUTH_DENIED",
    pattern: /denied: requested access to the resource is denied|insufficient_scope/,
    phrase: "denied: requested access to the resource is denied",
    weight: 3,
    source: "distribution/distribution:registry/api/errcode/register.go (ErrorCodeDenied)",
  }),
  reg({
    code: "AUTH_UNAUTHORIZED",
    pattern: /incorrect username or password/,
    phrase: "incorrect username or password",
    weight: 3,
    source: 'docker/hub token service body {"details":"incorrect username or password"} (shared/failures-and-anchors.md #34)',
  }),
  reg({
    code: "AUTH_CREDENTIALS_REQUIRED",
    pattern: /unauthorized: authentication required/,
    phrase: "unauthorized: authentication required",
    weight: 2,
    source: "distribution/distribution:registry/api/errcode/register.go (ErrorCodeUnauthorized)",
  }),
  reg({
    code: "AUTH_UNAUTHORIZED",
    pattern: /unauthorized: authentication required/,
    phrase: "unauthorized: authentication required (also printed for a wrong password)",
    weight: 1,
    source: "distribution/distribution:registry/api/errcode/register.go (ErrorCodeUnauthorized)",
  }),
  reg({
    code: "AUTH_TOKEN_INVALID",
    pattern: /invalid_token|authorization server did not include a token/,
    phrase: "invalid_token",
    weight: 3,
    source: "distribution/distribution:registry/auth/token/accesscontroller.go (invalid token)",
  }),
  reg({
    code: "BLOB_UNKNOWN",
    pattern: /blob unknown to registry/,
    phrase: "blob unknown",
    weight: 3,
    source: `${ERRCODE} (ErrorCodeBlobUnknown)`,
  }),
  reg({
    code: "MANIFEST_INVALID",
    pattern: /invalid character '<' looking for beginning of value/,
    phrase: "invalid character '<' (an HTML page instead of registry JSON)",
    weight: 2,
    source: "golang/go:src/encoding/json/scanner.go (a portal or proxy page parsed as a manifest)",
  }),
  reg({
    code: "PULL_NO_SPACE",
    pattern: /no space left on device/,
    phrase: "no space left on device",
    weight: 3,
    source: "ENOSPC as Go's syscall prints it (golang/go:src/syscall/zerrors_linux_amd64.go)",
  }),
];
