import { type CatalogueSection, entry } from "./entry";

const rate = (bps: number) => (bps >= 1024 * 1024 ? `${(bps / 1024 / 1024).toFixed(1)} MiB/s` : `${(bps / 1024).toFixed(0)} KiB/s`);
const STEP = { dns: "DNS", connect: "connect", tls: "TLS", http: "HTTP (connected, no answer)" } as const;
const hub = (r: string) => r === "docker.io" || r === "registry-1.docker.io";

/** The BLOB_SLOW threshold: below 1 MiB/s a 100 MiB image takes over a minute and a 1 GiB one a quarter of an hour. */
export const SLOW_BYTES_PER_SECOND = 1024 * 1024;

/** Findings of the `blob` stage. */
export const blob = {
  BLOB_REDIRECT_UNREACHABLE: entry<{
    image: string;
    registry: string;
    blobHost: string;
    hostname: string;
    port: number;
    url: string;
    failedAt: "dns" | "connect" | "tls" | "http";
    error: string;
    addresses: string[];
    proxy: string | null;
  }>({
    stage: "blob",
    severity: "error",
    title: "The registry redirects blobs to a host this machine cannot reach",
    explain:
      "The manifest came through, but the registry answers blob requests with a redirect (3xx) to another host, usually a CDN or object store (Docker Hub: production.cloudflare.docker.com and *.r2.cloudflarestorage.com; ECR/GCR/ACR: S3/GCS/Azure blob hosts). That host is blocked by DNS, a firewall or the proxy, so layers hang or fail while `docker pull` seemed to start fine.",
    seen: [
      "docker: error pulling image configuration: download failed after attempts=6: dial tcp 127.0.0.9:9: connect: connection refused",
      'containerd/kubelet: failed to copy: httpReadSeeker: failed open: failed to do request: Get "https://production.cloudflare.docker.com/registry-v2/docker/registry/v2/blobs/sha256/…": dial tcp 104.16.0.1:443: i/o timeout',
      'podman/skopeo: reading blob sha256:a8c7…: Get "http://127.0.0.9:9/v2/cdnblocked/app/blobs/sha256:a8c7…": dial tcp 127.0.0.9:9: connect: connection refused',
    ],
    causes: [
      "a firewall or security group that allows the registry but not its blob storage/CDN host",
      "an HTTP proxy allow-list that lacks the CDN host",
      "DNS that does not resolve the CDN host (split-horizon, filtering resolver)",
      "TLS interception that breaks on the CDN host only",
    ],
    howKnown:
      "GET of a blob answered a redirect; pulldoctor followed it by hand and probed the new host with its own DNS lookup, TCP connect and TLS handshake: the failing step is named with its error.",
    detail: (p) =>
      `${p.registry} redirects blobs to ${p.blobHost}, which fails at ${STEP[p.failedAt]}: ${p.error}${p.proxy ? ` (via proxy ${p.proxy})` : ""}`,
    fixes: (p) => [
      ...(p.failedAt === "dns"
        ? [
            `Make ${p.hostname} resolvable from this host (and from the Docker daemon): check a filtering or split-horizon DNS; test with: getent hosts ${p.hostname}`,
          ]
        : p.failedAt === "tls"
          ? [
              `The certificate ${p.hostname} presents is not trusted here (usually TLS inspection on the CDN host only). Exempt ${p.hostname} from inspection, or add the inspecting CA to the system store of the Docker host (e.g. /usr/local/share/ca-certificates/ then update-ca-certificates) and restart dockerd: certs.d/<registry>/ca.crt does not cover the CDN host.`,
            ]
          : p.failedAt === "http"
            ? [
                `${p.hostname}:${p.port} accepts connections but does not answer: a firewall or proxy is dropping the traffic after the handshake; check with: curl -sv -o /dev/null '${p.url}'`,
              ]
            : [
                `Allow outbound ${p.url.startsWith("http:") ? "HTTP" : "HTTPS"} to ${p.hostname}:${p.port}${p.addresses.length ? ` (resolved to ${p.addresses.join(", ")})` : ""} in the firewall / security group.`,
              ]),
      p.proxy
        ? `Add ${p.hostname} to the proxy's allow-list (the proxy ${p.proxy} carries this request).`
        : `If a proxy is required here, set ${p.url.startsWith("http:") ? "HTTP_PROXY" : "HTTPS_PROXY"} for the Docker daemon (systemctl edit docker → Environment="${p.url.startsWith("http:") ? "HTTP_PROXY" : "HTTPS_PROXY"}=…") so ${p.hostname} goes through it.`,
      ...(hub(p.registry)
        ? [
            "Docker Hub serves blobs from production.cloudflare.docker.com and docker-images-prod.*.r2.cloudflarestorage.com: allow both (see Docker's allow-list documentation), or use a registry mirror inside your network.",
          ]
        : [`Or use a mirror / pull-through cache that fetches blobs for you.`]),
      `Check from this host: curl -sv -o /dev/null '${p.url}'`,
    ],
    genericFixes: [
      "Allow the blob/CDN host in the firewall and proxy allow-lists",
      "Use a registry mirror inside the network",
      "Fix DNS for the CDN host",
    ],
  }),

  BLOB_REDIRECT_LOOP: entry<{ image: string; registry: string; hops: string[]; reason: "loop" | "too-many" }>({
    stage: "blob",
    severity: "error",
    title: "Blob requests are redirected in a loop",
    explain:
      "Following the registry's blob redirects never reaches the content: the chain returns to a URL already visited, or exceeds the 10 redirects Go's HTTP client (used by Docker) follows. Usually a misconfigured reverse proxy or storage redirect.",
    seen: [
      'docker: error pulling image configuration: download failed after attempts=6: Get "https://cdn.example.com/…": stopped after 10 redirects',
    ],
    causes: [
      "a reverse proxy rewriting Location back to itself",
      "http↔https redirects between a proxy and the registry",
      "a storage redirect misconfiguration",
    ],
    howKnown: "pulldoctor follows blob redirects by hand (max 10) and records every hop's URL and status.",
    detail: (p) => `${p.reason === "loop" ? "redirect loop" : "more than 10 redirects"}: ${p.hops.join(" → ")}`,
    fixes: (p) => [
      `Look at the chain: curl -sIL --max-redirs 12 '${p.hops[0] ?? ""}'`,
      `Fix the Location rewriting of the reverse proxy in front of ${p.registry} (proxy_redirect / X-Forwarded-Proto).`,
    ],
    genericFixes: ["Inspect the chain with curl -IL", "Fix the reverse proxy's Location rewriting"],
  }),

  BLOB_REDIRECT_INSECURE: entry<{ registry: string; from: string; to: string; url: string; authorization: boolean }>({
    stage: "blob",
    severity: "warning",
    title: "Blobs are redirected from HTTPS to plain HTTP",
    explain:
      "The registry answers blob requests over HTTPS with a redirect to an http:// URL (a CDN or object store). Docker follows it (Go's HTTP client allows an https → http redirect), so pulls work; the digest check still catches altered bytes, but the layers, and a pre-signed URL's signature, cross the network in clear where anyone on the path can read them. pulldoctor follows the redirect as Docker does and never sends the registry's credentials over the plain-HTTP hop (nor to any other host).",
    seen: ["docker: (no message: the pull succeeds)", "a proxy log showing GET http://…/blobs/sha256:…?X-Amz-Signature=… in clear"],
    causes: [
      "a storage backend (S3, MinIO, GCS) configured with an http:// endpoint or redirect URL",
      "a reverse proxy that terminates TLS and rewrites Location to http://",
      "a CDN configured for plain-HTTP origin pulls",
    ],
    howKnown:
      "pulldoctor follows blob redirects by hand and records each hop's scheme; a hop from https to http is this finding (the evidence's hops show which, and that no Authorization went there).",
    detail: (p) => `${p.from} redirects blobs to ${p.url} (plain HTTP)${p.authorization ? "" : "; no credentials were sent there"}`,
    fixes: (p) => [
      `Configure ${p.registry}'s storage redirect with an https:// URL (distribution: storage.redirect / the S3 driver's regionendpoint; MinIO or S3 behind TLS), or disable redirects so ${p.registry} serves blobs itself.`,
      `If a reverse proxy rewrites Location, make it keep https (nginx: proxy_redirect http:// https://; X-Forwarded-Proto https).`,
      `Check: curl -sI '${p.url.replace(/\?.*$/, "")}' shows what ${p.to} serves in clear.`,
    ],
    genericFixes: ["Use an https:// storage/CDN redirect URL", "Keep https in the reverse proxy's Location rewriting"],
  }),

  BLOB_UNKNOWN: entry<{
    image: string;
    registry: string;
    repository: string;
    digest: string;
    what: "config" | "layer";
    mirror: boolean /** The registry redirected, and this host (its storage or CDN) answered 404. */;
    redirectedTo?: string /** That host's (redacted) URL. */;
    url?: string;
  }>({
    stage: "blob",
    severity: "error",
    title: "A blob the manifest references is missing from the registry",
    explain:
      "The manifest names a blob the registry does not have (404 BLOB_UNKNOWN). The image is broken on this registry: garbage collection removed a layer still in use, a push was interrupted, or a mirror/pull-through cache is incomplete. Docker does not retry this.",
    seen: [
      "docker: blob unknown: blob unknown to registry",
      "docker (a layer during the pull): unknown blob",
      "containerd/kubelet: content at http://127.0.0.1:5000/v2/team/app/blobs/sha256:…: not found: not found",
    ],
    causes: [
      "registry garbage collection deleted a referenced layer",
      "an interrupted or partial push",
      "a mirror or pull-through cache that lost or never fetched the blob",
    ],
    howKnown: "GET /v2/NAME/blobs/DIGEST of a blob listed in the manifest answered 404 (BLOB_UNKNOWN).",
    detail: (p) =>
      p.redirectedTo
        ? `${p.registry}/${p.repository}: the registry redirected the ${p.what} blob ${p.digest} to ${p.redirectedTo}, which answered 404: the registry lists the blob, its storage or CDN does not serve it at that URL`
        : `${p.registry}/${p.repository}: the ${p.what} blob ${p.digest} is missing`,
    fixes: (p) => [
      ...(p.redirectedTo
        ? [
            `Check the registry's storage redirect (bucket, path prefix, signed-URL settings, a proxy rewriting Location): curl -sI '${(p.url ?? "").replace(/\?.*$/, "")}' answers 404 from ${p.redirectedTo}`,
          ]
        : []),
      `Push the image again (all its blobs): docker push ${p.image}  (or skopeo copy from the source registry)`,
      ...(p.mirror ? ["Purge the mirror's cache for this repository, or pull from the upstream registry."] : []),
      "If the registry runs garbage collection, run it only with the registry read-only and check its --delete-untagged settings.",
    ],
    genericFixes: ["Re-push the image", "Repair or purge the mirror's cache", "Review the registry's garbage collection"],
  }),

  BLOB_RANGE_UNSUPPORTED: entry<{
    host: string;
    status: number;
    contentRange: string | null;
    requested: string /** The (redacted) URL that answered. */;
    url?: string /** That request carried the registry's token. */;
    authorized?: boolean;
  }>({
    stage: "blob",
    severity: "warning",
    title: "The blob host ignores Range requests: interrupted downloads restart from zero",
    explain:
      "A ranged GET of a blob did not come back as 206 Partial Content with a matching Content-Range. Docker then logs `expected HTTP 206 from byte range request` and restarts a broken layer download from the first byte; containerd forces parallelism to 1. Pulls still work, but large layers over flaky links may never finish.",
    seen: [
      "docker: expected HTTP 206 from byte range request",
      "containerd/kubelet: remote host ignored content range, forcing parallelism to 1",
    ],
    causes: ["a proxy or CDN that strips the Range header", "a registry or storage backend without Range support"],
    howKnown:
      "pulldoctor sent Range: bytes=0-N and got 200 (the whole blob), or 206 with a Content-Range that does not match the range asked for.",
    detail: (p) =>
      `${p.host} answered ${p.status}${p.contentRange ? ` with Content-Range ${p.contentRange}` : " without Content-Range"} to Range: ${p.requested}`,
    fixes: (p) => [
      `Check: curl -s -o /dev/null -D - -H 'Range: ${p.requested}' '${p.url ?? "BLOB_URL"}' (expect 206 and Content-Range${p.authorized ? `; this registry wants its credentials: -u USER:PASSWORD for Basic, -H "Authorization: Bearer $TOKEN" for a token` : ""})`,
      `Let the proxy in front of ${p.host} pass Range through (nginx: do not set proxy_force_ranges off / max_ranges 0).`,
    ],
    genericFixes: ["Let proxies pass Range requests", "Use a registry/storage backend that supports Range"],
  }),

  BLOB_SLOW: entry<{
    host: string;
    bytes: number;
    seconds: number;
    bytesPerSecond: number;
    imageBytes: number;
    image?: string;
    plainHttp?: boolean;
  }>({
    stage: "blob",
    severity: "warning",
    title: "Blob downloads are slow",
    explain:
      "The measured download rate from the blob host is below 1 MiB/s. pulldoctor reads up to 4 MiB of the smallest layer of at least 512 KiB and judges the rate only over a probe of at least 512 KiB (or when a smaller probe stalls), timed from the first body byte so that connection setup does not count. At this rate large images take many minutes and kubelet's image pull may time out.",
    seen: [
      "docker: (progress bars crawl, then) net/http: request canceled (Client.Timeout exceeded while reading body)",
      "containerd/kubelet: failed to pull image: rpc error: code = Canceled desc = failed to pull and unpack image: context canceled",
    ],
    causes: [
      "a congested or throttled link or proxy",
      "a distant or overloaded registry / CDN edge",
      "traffic shaping or deep packet inspection",
    ],
    howKnown: "A timed ranged GET of a layer: bytes read / seconds since the first byte.",
    detail: (p) =>
      `${p.host}: ${rate(p.bytesPerSecond)} over ${p.bytes} bytes in ${p.seconds.toFixed(1)} s (threshold ${rate(SLOW_BYTES_PER_SECOND)}); this image's ${p.imageBytes} bytes would take about ${Math.ceil(p.imageBytes / Math.max(p.bytesPerSecond, 1))} s`,
    fixes: (p) => [
      // A blob URL alone is no command: it needs the registry's token, and a CDN URL is signed.
      p.image
        ? `Measure a whole pull outside Docker: time skopeo copy${p.plainHttp ? " --src-tls-verify=false" : ""} docker://${p.image} oci:/tmp/pd-speed (or: pulldoctor pull ${p.image} --output oci:/tmp/pd-speed)`
        : `Measure a whole pull outside Docker: time skopeo copy docker://IMAGE oci:/tmp/pd-speed`,
      "Use a mirror or pull-through cache closer to this machine.",
      "Raise kubelet's --runtime-request-timeout / image pull deadline for big images.",
    ],
    genericFixes: ["Use a nearby mirror", "Check the link and proxy for throttling"],
  }),

  BLOB_DIGEST_MISMATCH: entry<{ host: string; digest: string; actual: string; bytes: number }>({
    stage: "blob",
    severity: "error",
    title: "The blob served does not hash to its digest",
    explain:
      "The whole blob was fetched and its bytes do not hash to the digest the manifest names. Docker rejects such a layer (`filesystem layer verification failed`) and the pull fails; something between registry and client changes the content, or the storage is corrupt.",
    seen: [
      "docker: filesystem layer verification failed for digest sha256:…",
      "docker: image config verification failed for digest sha256:…",
      'containerd/kubelet: failed commit on ref "config-sha256:…": unexpected commit digest sha256:…, expected sha256:…: failed precondition',
    ],
    causes: ["a proxy or antivirus rewriting responses", "corrupt registry storage", "a CDN serving stale or wrong content"],
    howKnown: "pulldoctor hashed the complete blob it received and compared it with the manifest's digest.",
    detail: (p) => `${p.host}: ${p.bytes} bytes hash to ${p.actual}, expected ${p.digest}`,
    fixes: () => [
      "Bypass any content-inspecting proxy for the registry and blob hosts.",
      "Re-push the image; ask the registry operator to check storage integrity.",
    ],
    genericFixes: ["Bypass inspecting proxies", "Re-push the image"],
  }),

  BLOB_FETCH_FAILED: entry<{ url: string; host: string; status: number | null; error: string }>({
    stage: "blob",
    severity: "error",
    title: "The blob request failed",
    explain:
      "A blob GET to the registry failed in transport, broke off or stalled mid-body, answered an unexpected status (5xx, or 401/403 — for example an expired pre-signed CDN URL), or redirected somewhere Go's client refuses to go. " +
      "408, 429 and 5xx answers are retried as Docker retries a download (5 attempts, backoff from 200 ms, a Retry-After waited for up to --timeout): when a retry then succeeds this is a warning, since pulls work, slowly, while the registry keeps failing requests.",
    seen: [
      "docker: error pulling image configuration: download failed after attempts=6: received unexpected HTTP status: 500 Internal Server Error",
      "docker: unexpected EOF",
      "containerd/kubelet: short read: expected 614400 bytes but got 100000: unexpected EOF",
      "containerd/kubelet: unexpected status code https://…/blobs/sha256:…: 403 Forbidden",
    ],
    causes: [
      "the registry's storage backend failing",
      "a proxy or load balancer cutting long responses (size or time limits)",
      "a pre-signed redirect URL that expired or was altered",
      "a token without pull access on the blob path",
    ],
    howKnown:
      "The blob GET threw a transport error, its body ended before the bytes asked for, or it answered a status other than 200/206/3xx/404.",
    detail: (p) => `${p.host}: ${p.status !== null ? `HTTP ${p.status}; ` : ""}${p.error}`,
    fixes: (p) => [`Look at the raw answer: curl -sv -o /dev/null '${p.url}'`, "Check the registry's and storage backend's logs."],
    genericFixes: ["Inspect the raw answer with curl -v", "Check the registry's storage backend"],
  }),
} satisfies CatalogueSection;
