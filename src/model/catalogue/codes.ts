/**
 * Which section holds each code, without evaluating any section: `explain CODE` loads only
 * its code's section, and a `ref` or a `check` only the sections whose findings fire
 * (docs/performance.md, "Diagnosis: connections, start-up and the catalogue").
 * test/unit/catalogue-codes.test.ts keeps it equal to the sections: a new code goes here too.
 */
export const CODES = {
  reference: [
    "REF_INVALID",
    "REF_UPPERCASE",
    "REF_IMPLICIT_LATEST",
    "INPUT_UNREADABLE",
    "INPUT_NOT_YAML",
    "INPUT_UNRECOGNISED",
    "INPUT_NO_SERVICES",
    "INPUT_NO_IMAGES",
    "INPUT_IMAGE_INVALID",
  ],
  config: [
    "CONFIG_UNREADABLE",
    "CREDS_HELPER_MISSING",
    "CREDS_HELPER_FAILED",
    "CREDS_PLAINTEXT",
    "CREDS_NONE",
    "DAEMON_CONFIG_UNREADABLE",
    "HOSTS_TOML_INVALID",
    "HOSTS_DIR_IGNORED",
    "PULL_SECRET_NO_MATCH",
    "CREDS_PROVIDER_FAILED",
    "PULL_SECRET_UNSUPPORTED",
    "PULL_SECRET_INVALID",
    "SHORT_NAME_UNRESOLVED",
    "REGISTRY_BLOCKED",
    "POLICY_REJECTED",
    "CONTENT_TRUST_ENABLED",
    "CLIENT_CONFIG_INVALID",
  ],
  dns: ["DNS_NXDOMAIN", "DNS_NO_ANSWER", "DNS_SERVFAIL", "DNS_TIMEOUT", "DNS_RESOLVER_MISMATCH", "DNS_HOSTS_OVERRIDE"],
  proxy: [
    "PROXY_IN_USE",
    "PROXY_BYPASSED",
    "PROXY_UNREACHABLE",
    "PROXY_AUTH_REQUIRED",
    "PROXY_CONNECT_REFUSED",
    "PROXY_DAEMON_MISMATCH",
    "PROXY_TLS_INTERCEPTION",
  ],
  connect: [
    "CONNECT_REFUSED",
    "CONNECT_TIMEOUT",
    "CONNECT_RESET",
    "TLS_UNKNOWN_CA",
    "TLS_EXPIRED",
    "TLS_HOSTNAME_MISMATCH",
    "TLS_HTTP_ONLY",
    "TLS_HANDSHAKE_FAILED",
    "TLS_INSECURE_IN_USE",
    "CERTS_D_INVALID",
  ],
  v2: ["V2_NOT_A_REGISTRY", "V2_SERVER_ERROR", "V2_NO_RESPONSE"],
  auth: [
    "AUTH_UNAUTHORIZED",
    "AUTH_DENIED",
    "AUTH_CREDENTIALS_REQUIRED",
    "AUTH_TOKEN_SERVER_UNREACHABLE",
    "AUTH_TOKEN_INVALID",
    "AUTH_CHALLENGE_INVALID",
    "AUTH_CLOCK_SKEW",
    "AUTH_BASIC_OVER_HTTP",
    "AUTH_NO_RESPONSE",
    "AUTH_NOT_SENT",
  ],
  manifest: [
    "MANIFEST_UNKNOWN",
    "NAME_UNKNOWN",
    "RATE_LIMITED",
    "RATE_LIMIT_LOW",
    "PLATFORM_UNAVAILABLE",
    "MANIFEST_SCHEMA1",
    "MANIFEST_UNSUPPORTED_MEDIA_TYPE",
    "DIGEST_MISMATCH",
    "MANIFEST_INVALID",
    "MANIFEST_FETCH_FAILED",
    "MIRROR_FALLBACK",
  ],
  blob: [
    "BLOB_REDIRECT_UNREACHABLE",
    "BLOB_REDIRECT_LOOP",
    "BLOB_REDIRECT_INSECURE",
    "BLOB_UNKNOWN",
    "BLOB_RANGE_UNSUPPORTED",
    "BLOB_SLOW",
    "BLOB_DIGEST_MISMATCH",
    "BLOB_FETCH_FAILED",
  ],
  pull: ["PULL_DIGEST_MISMATCH", "PULL_NO_SPACE", "PULL_INTERRUPTED", "PULL_STORE_BLOB_CORRUPT", "PULL_DAEMON_UNAVAILABLE"],
} as const;

export type SectionName = keyof typeof CODES;

/** The section that holds a code, from the code lists alone; null for no code. */
export function sectionOf(code: string): SectionName | null {
  // for…in rather than for…of Object.keys(): less bytecode to compile for `ref`'s one finding.
  for (const s in CODES) if ((CODES[s as SectionName] as readonly string[]).includes(code)) return s as SectionName;
  return null;
}
