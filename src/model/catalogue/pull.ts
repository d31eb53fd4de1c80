import { plural } from "../units";
import { type CatalogueSection, entry } from "./entry";

const mib = (n: number) => `${(n / 1048576).toFixed(1)} MiB`;

/** Findings of the `pull` stage. */
export const pull = {
  PULL_DIGEST_MISMATCH: entry<{
    image: string;
    repository: string;
    digest: string;
    actual: string;
    size: number;
    received: number;
    host: string;
    endpoint: string;
    resumedFrom: number;
    storeDir: string;
  }>({
    stage: "pull",
    severity: "error",
    title: "A downloaded blob does not match its digest",
    explain:
      "Every layer and config is named by the sha256 of its bytes. The bytes received had the expected size but hashed to " +
      "something else, so they were thrown away: the image would not be the one the manifest names. Something between the " +
      "registry's storage and this host changed the content, or the registry stores a damaged copy.",
    seen: [
      "docker: filesystem layer verification failed for digest sha256:3f5e…",
      "docker: image config verification failed for digest sha256:…",
      'containerd/kubelet: failed commit on ref "layer-sha256:3f5e…": unexpected commit digest sha256:9a1c…, expected sha256:3f5e…: failed precondition (ErrImagePull)',
      "podman: Digest did not match, expected sha256:3f5e…, got sha256:9a1c…",
      'crane: error verifying sha256 checksum after reading 2097152 bytes; got "sha256:9a1c…", want "sha256:3f5e…"',
    ],
    causes: [
      "a proxy, antivirus or TLS-inspecting gateway rewriting or re-encoding the body",
      "corrupt registry storage or an incomplete pull-through cache (Harbor, Nexus, Artifactory)",
      "a mirror or CDN serving a different object under the same path",
      "bad RAM or NIC offload on this host (rare; then it moves between runs)",
    ],
    howKnown:
      "The blob was streamed to disk while its sha256 was computed; size and Content-Length matched the descriptor but the digest differed. " +
      "The host that served the final bytes (after redirects) is recorded; a resumed download is re-fetched once from byte 0 before this is reported.",
    detail: (p) =>
      `${p.digest} (${p.size} bytes) from ${p.host} hashed to ${p.actual}` +
      (p.resumedFrom > 0 ? ` (resumed at byte ${p.resumedFrom}, then re-fetched from 0)` : ""),
    fixes: (p) => [
      `Fetch the blob once by hand and compare: curl -sSL ${p.endpoint}/v2/${p.repository}/blobs/${p.digest} | sha256sum (expected ${p.digest.replace(/^sha256:/, "")})`,
      p.host !== new URL(p.endpoint).host
        ? `The bytes came from ${p.host} (a redirect): bypass any proxy or inspection for ${p.host}, or pull through another mirror`
        : `If a proxy sits between this host and ${p.host}, exempt it (NO_PROXY=${p.host.replace(/:\d+$/, "")}) or disable content inspection for it`,
      `If the registry itself stores the damaged blob, re-push the image (docker push ${p.image}) or repair the cache; then pulldoctor pull ${p.image}`,
      `Nothing damaged is kept: partial data was removed from ${p.storeDir}`,
    ],
    genericFixes: [
      "Compare `curl -sSL https://REGISTRY/v2/REPO/blobs/DIGEST | sha256sum` with the digest",
      "Bypass proxies or TLS inspection for the registry and its blob/CDN hosts",
      "Re-push the image or repair the registry / pull-through cache storage",
    ],
  }),

  PULL_NO_SPACE: entry<{
    image: string;
    path: string;
    needed: number;
    free: number;
    what: string[];
    filesNeeded?: number;
    filesFree?: number | null;
  }>({
    stage: "pull",
    severity: "error",
    title: "Not enough free space for the pull",
    explain:
      "The bytes still to be written (blobs not yet in the store, and the output) exceed the free space of the filesystem that " +
      "holds them. The pull stops before downloading, instead of failing half-way with a half-written file.",
    seen: [
      "docker: failed to register layer: Error processing tar file(exit status 1): write /usr/lib/x86_64-linux-gnu/libLLVM.so.17: no space left on device",
      "docker: write /var/lib/docker/tmp/GetImageBlob123456789: no space left on device",
      "containerd/kubelet: failed to copy: write /var/lib/containerd/io.containerd.content.v1.content/ingest/…/data: no space left on device (ErrImagePull)",
      'podman: writing blob: storing blob to file "/var/tmp/storage123/1": write /var/tmp/storage123/1: no space left on device',
    ],
    causes: [
      "the disk or partition holding the store or the output is nearly full",
      "a small tmpfs or container overlay as the destination",
      "old images, build cache or earlier partial pulls filling the disk",
    ],
    howKnown:
      "statfs(2) of each destination filesystem (available blocks × block size, and free inodes) compared with the bytes and files still needed there; blobs already in the store and bytes of partial downloads are not counted. A write failing with ENOSPC mid-pull is reported the same way.",
    detail: (p) =>
      p.needed > p.free
        ? `${p.path} has ${mib(p.free)} free; ${mib(p.needed)} still to write (${p.what.join(", ")})`
        : `${p.path} has ${p.filesFree ?? 0} free inodes; ${p.filesNeeded ?? 0} files still to create (${p.what.join(", ")})`,
    fixes: (p) => [
      p.needed > p.free
        ? `Free at least ${mib(p.needed - p.free)} on the filesystem of ${p.path} (df -h ${p.path}; docker system prune; rm old image tarballs)`
        : `Free inodes on the filesystem of ${p.path}: it is out of files, not bytes (df -i ${p.path}; remove many small files, e.g. old build caches)`,
      `Or write elsewhere: pulldoctor pull ${p.image} --output oci:/path/on/a/bigger/disk`,
      `Or keep the blob store on a bigger disk: PULLDOCTOR_STORE=/path/on/a/bigger/disk pulldoctor pull ${p.image}`,
    ],
    genericFixes: [
      "Free space on the destination filesystem (df -h; docker system prune)",
      "Choose another --output directory or file",
      "Set PULLDOCTOR_STORE to a directory on a bigger disk",
    ],
  }),

  PULL_INTERRUPTED: entry<{
    image: string;
    digest: string;
    host: string;
    attempts: number;
    error: string;
    received: number;
    size: number;
    storeDir: string;
    aborted: boolean;
  }>({
    stage: "pull",
    severity: "error",
    title: "The download of a blob kept failing",
    explain:
      "A layer or config could not be downloaded completely: the connection dropped, stalled or the registry answered with an " +
      "error on every attempt (with backoff, resuming with Range from the bytes already received), and on every endpoint. " +
      "What did arrive is kept: the next run resumes where this one stopped.",
    seen: [
      'docker: unexpected EOF (after "Retrying in 5 seconds")',
      "docker: error pulling image configuration: download failed after attempts=6: dial tcp 104.16.0.1:443: i/o timeout",
      'containerd/kubelet: failed to copy: httpReadSeeker: failed open: failed to do request: Get "https://registry.example.com/v2/team/app/blobs/sha256:…": read: connection reset by peer (ErrImagePull)',
      "containerd/kubelet: short read: expected 31457280 bytes but got 15728640: unexpected EOF",
      'podman: copying system image from manifest list: reading blob sha256:…: Get "https://…": unexpected EOF',
    ],
    causes: [
      "a proxy, load balancer or firewall cutting long or large transfers (size or idle-time limits)",
      "an unstable link (Wi-Fi, VPN, MTU problems making large responses stall)",
      "registry storage errors (5xx) or rate limiting (429) on blob requests",
      "the pull was cancelled (Ctrl-C)",
    ],
    howKnown:
      "Each attempt's outcome is recorded: bytes received vs the descriptor's size, the HTTP status, or the socket error; retries resume with Range: bytes=<received>- and a 206 is checked against Content-Range. " +
      "Time rules end an attempt that hangs (an inactivity timer alone never ends a drip of a byte a second): the response head must arrive within --timeout; then the body must move, no gap of --timeout without a byte and at least 1 KiB in every --timeout window (68 B/s at the default 15 s), so a slow link that moves is never cut. " +
      "A 429/503 Retry-After is waited for up to 60 s; a longer one ends the attempts at once and is named. Each retried attempt is in the pull stage's evidence (blobs[].retryLog).",
    detail: (p) =>
      p.aborted
        ? `cancelled while fetching ${p.digest} (${p.received} of ${p.size} bytes kept)`
        : `${p.digest} from ${p.host}: ${p.error} (after ${plural(p.attempts, "attempt")}; ${p.received} of ${p.size} bytes kept)`,
    fixes: (p) => [
      `Run the same pull again: it resumes from the ${p.received} bytes kept in ${p.storeDir}: pulldoctor pull ${p.image}`,
      // A curl of "https://HOST/v2/…" was no command (no path, no token, maybe not https).
      `Check what cuts the transfer: pulldoctor check ${p.image} --verbose shows each request to ${p.host}, its status, and where it stops`,
      "If a proxy or load balancer sits in between, raise its body-size and idle-timeout limits for registry traffic",
      `Reduce parallel transfers on a weak link: pulldoctor pull ${p.image} --concurrency 1`,
    ],
    genericFixes: [
      "Run the pull again: it resumes from the bytes already downloaded",
      "Raise proxy / load-balancer body-size and idle-timeout limits",
      "Lower --concurrency on a weak link",
    ],
  }),

  PULL_STORE_BLOB_CORRUPT: entry<{ digest: string; actual: string; size: number; storeDir: string }>({
    stage: "pull",
    severity: "warning",
    title: "A blob in the local store no longer matched its digest; it was downloaded again",
    explain:
      "pulldoctor keeps verified blobs in its store and reuses them on later pulls, but it hashes a stored blob again " +
      "before reusing it. This one had the right size and the wrong bytes, so it was deleted and fetched again from the " +
      "registry: the output holds verified content. Something changed a file that nothing should write: the disk, " +
      "the filesystem, or another program or user with access to the store.",
    seen: [
      'skopeo copy from an oci: layout holding such a blob: level=fatal msg="writing blob: happened during read: Digest did not match, expected sha256:3f5e…, got sha256:9a1c…"',
      "umoci unpack of that layout: create runtime bundle: unpack rootfs: discard trailing archive bits: expected sha256:3f5e… not sha256:9a1c…: verified reader digest mismatch",
    ],
    causes: [
      "a failing disk or a filesystem error (check dmesg and the SMART status)",
      "another program or user writing into the store directory (PULLDOCTOR_STORE shared on purpose)",
      "a backup or sync tool restoring an older or damaged copy of the cache",
    ],
    howKnown:
      "The stored file had the descriptor's size; its sha256, computed again before reuse, differed from the digest it is named by. " +
      "The fresh download was verified as every download is.",
    detail: (p) => `${p.digest} (${p.size} bytes) in ${p.storeDir} hashed to ${p.actual}; discarded and downloaded again`,
    fixes: (p) => [
      "Check the disk holding the store: dmesg | grep -i -E 'I/O error|EXT4-fs error|XFS' (and smartctl -a on its device)",
      `If other blobs may be damaged too, empty the store (it is only a cache): rm -rf ${p.storeDir}`,
    ],
    genericFixes: ["Check the disk that holds the store (dmesg, smartctl)", "Empty the store: it is a cache, rebuilt by the next pull"],
  }),

  PULL_DAEMON_UNAVAILABLE: entry<{ image: string; address: string; source: string; error: string; archiveFile: string }>({
    stage: "pull",
    severity: "error",
    title: "No Docker Engine answers to load the image into",
    explain:
      "The `docker` output loads the pulled image into the local Docker Engine through its API socket, but nothing answered " +
      "there (or the Engine answered and then refused or dropped the load). The pull itself does not need Docker: the verified " +
      "blobs are in the store, so writing a docker-archive file (or an OCI layout) downloads nothing again; load it wherever an Engine runs.",
    seen: [
      "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
      'docker: permission denied while trying to connect to the Docker daemon socket at unix:///var/run/docker.sock: Get "http://%2Fvar%2Frun%2Fdocker.sock/v1.47/info": dial unix /var/run/docker.sock: connect: permission denied',
      'docker: error during connect: Get "http://docker.example.com:2375/_ping": dial tcp 10.0.0.5:2375: connect: connection refused',
    ],
    causes: [
      "dockerd is not running or not installed (a host with containerd only, or an air-gapped machine)",
      "DOCKER_HOST points to another socket or host",
      "the user may not open /var/run/docker.sock (not in the docker group)",
      "rootless Docker listens on $XDG_RUNTIME_DIR/docker.sock",
      "the Engine refused the archive (its disk is full, or it runs out of memory or restarts during the load)",
    ],
    howKnown:
      "GET /_ping on the Engine address (DOCKER_HOST, else the default socket) failed before any byte was downloaded; or, after the pull, " +
      "POST /images/load answered with an error or the connection broke (the Engine's own message is quoted).",
    detail: (p) => `${p.address} (${p.source}): ${p.error}`,
    fixes: (p) => [
      `Write a docker-archive instead: pulldoctor pull ${p.image} --output docker-archive:${p.archiveFile} (then: docker load -i ${p.archiveFile})`,
      `Start the Engine: sudo systemctl start docker (then check: docker -H ${p.address} version)`,
      p.error.includes("EACCES") || p.error.includes("permission")
        ? "Add yourself to the docker group: sudo usermod -aG docker $USER (then log in again)"
        : `If the Engine listens elsewhere, point DOCKER_HOST at it (e.g. DOCKER_HOST=unix://$XDG_RUNTIME_DIR/docker.sock for rootless Docker)`,
    ],
    genericFixes: [
      "Use --output docker-archive:FILE and `docker load -i FILE` where an Engine runs",
      "Start dockerd (systemctl start docker)",
      "Set DOCKER_HOST to the Engine's socket",
    ],
  }),
} satisfies CatalogueSection;
