import { hostPlatform } from "../model/deps";
import type { FaultOutcome, InstalledFault, NamedFault } from "./fault-catalogue";
import { both, fails, installAt, onLab, ownLab, repoOf, shapedOnLab, silent, small } from "./fault-kit";
import type { ProtocolFault } from "./faults-protocol";
import { startFloodRegistry } from "./faults-protocol-hosts";
import { type BuiltImage, buildImage, buildIndex, MT, sha256 } from "./image";
import { otherPlatforms } from "./scenarios";
import type { LabRegistry } from "./server";

/**
 * The protocol faults of the catalogue (see fault-catalogue.ts): the /v2/ probe, the token
 * endpoint and the manifest meet a silent host, a drip, a stall after the head, a manifest over
 * containerd's 4 MiB, a manifest that is not JSON or nests 10,000 deep, a 100 MiB token answer,
 * a 64 KiB challenge, header bytes that are not UTF-8, a 429 with Retry-After.
 */
const MIB = 1024 * 1024;

/** A manifest of the lab's small image with descriptors rewritten by `shape` (served under the digest of its bytes). */
function odd(name: string, title: string, shape: (img: BuiltImage) => { config: object; layers: object[] }): NamedFault {
  return {
    name,
    title,
    group: "protocol",
    expect: both(fails("MANIFEST_INVALID")),
    async install(lab: LabRegistry): Promise<InstalledFault> {
      const img = small(name);
      const manifest = new TextEncoder().encode(JSON.stringify({ schemaVersion: 2, mediaType: MT.ociManifest, ...shape(img) }));
      return installAt(lab, name, { ...img, manifest, digest: sha256(manifest) });
    },
  };
}

/** An unsigned JWT a hostile token server might hand out: times no Date can hold, control characters, nested shapes. */
function hostileJwt(): string {
  const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
  const nested = JSON.parse("[".repeat(5000) + "]".repeat(5000)) as unknown;
  const claims = {
    iss: "\u001b[2Jlab",
    sub: 42,
    aud: [nested, "registry"],
    exp: 1e300,
    nbf: -1e300,
    iat: 1e300,
    access: [{ type: "repository", name: "\u009bx", actions: ["pull", { a: nested }] }, null, 7],
  };
  return `${b64({ alg: "none", kid: "\u001b]0;title\u0007" })}.${b64(claims)}.c2ln`;
}
/** Terminal escape sequences a hostile registry may hide in text: clear the screen, turn red. */
const CLEAR_SCREEN = "\u001b[2J\u001b[H";
const RED = "\u001b[31m";

/** A registry of its own whose token or manifest answer floods (streamed, never held whole by the lab). */
function flooded(name: string, title: string, what: "token" | "manifest", outcome: FaultOutcome): NamedFault {
  return {
    name,
    title,
    group: "protocol",
    expect: both(outcome),
    async install(): Promise<InstalledFault> {
      const f = await startFloodRegistry(what, what === "token" ? 100 * MIB : 1024 * MIB);
      return { image: `${f.host}/${repoOf(name)}:latest`, insecure: [f.host], stop: () => f.close() };
    },
  };
}
const OVER = 5 * MIB;
const drip = (on: ProtocolFault & { kind: "drip" }) => on;

export const PROTOCOL_FAULTS: NamedFault[] = [
  silent(
    "silent-host",
    "a registry host that accepts connections and never answers a request (a TLS hello gets a plain-HTTP 400)",
    true,
    "V2_NO_RESPONSE",
  ),
  silent(
    "silent-host-raw",
    "a registry host that accepts connections and never writes a byte (not even to a TLS hello)",
    false,
    "TLS_HANDSHAKE_FAILED",
  ),
  ownLab(
    "drip-v2",
    "every response, head included, dripped a byte a second (the /v2/ probe meets it first)",
    both(fails("V2_NO_RESPONSE")),
    {
      protocolFaults: [drip({ kind: "drip", on: "any", bytesPerSecond: 1 })],
    },
  ),
  onLab("drip-manifest", "the manifest GET dripped a byte a second (HEAD answers normally)", both(fails("MANIFEST_FETCH_FAILED")), [
    { kind: "drip", on: "manifest", bytesPerSecond: 1, methods: ["GET"] },
  ]),
  onLab("drip-manifest-head", "manifest HEAD and GET dripped a byte a second", both(fails("AUTH_NO_RESPONSE")), [
    { kind: "drip", on: "manifest", bytesPerSecond: 1 },
  ]),
  onLab("stall-manifest", "the manifest GET sends its head, then nothing on an open connection", both(fails("MANIFEST_FETCH_FAILED")), [
    { kind: "stall-after-head", on: "manifest" },
  ]),
  onLab("stall-token", "the token endpoint sends its head, then nothing", both(fails("AUTH_TOKEN_SERVER_UNREACHABLE")), [
    { kind: "auth-required" },
    { kind: "stall-after-head", on: "token" },
  ]),
  onLab("drip-token", "the token endpoint drips its answer a byte a second", both(fails("AUTH_TOKEN_SERVER_UNREACHABLE")), [
    { kind: "auth-required" },
    { kind: "drip", on: "token", bytesPerSecond: 1 },
  ]),
  onLab(
    "token-hostile-claims",
    "the token is a JWT whose times are beyond any date (1e300) and whose claims carry escape sequences and odd shapes",
    // Anonymous: a token that grants nothing refuses no identity (AUTH_DENIED is for credentials sent and refused).
    both(fails("AUTH_CREDENTIALS_REQUIRED")),
    [
      { kind: "auth-required" },
      { kind: "token-answer", body: JSON.stringify({ token: hostileJwt(), expires_in: 1e300, issued_at: "\u001b[2Jnot a time" }) },
    ],
  ),
  odd("manifest-size-1e300", "a manifest whose config size is 1e300 and a layer's is negative (Go cannot unmarshal it)", (img) => ({
    config: { mediaType: MT.ociConfig, digest: img.config.digest, size: 1e300 },
    layers: [{ mediaType: MT.ociLayerGzip, digest: img.layers[0]!.digest, size: -5 }],
  })),
  odd("manifest-digest-traversal", "a manifest whose config digest is sha256:../../../etc/passwd (never put into a URL)", (img) => ({
    config: { mediaType: MT.ociConfig, digest: "sha256:../../../etc/passwd", size: img.config.bytes.length },
    layers: img.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })),
  })),
  onLab("manifest-oversize", "a 5 MiB manifest with an honest Content-Length", both(fails("MANIFEST_UNSUPPORTED_MEDIA_TYPE")), [
    { kind: "oversize-manifest", bytes: OVER, framing: "length" },
  ]),
  onLab("manifest-oversize-chunked", "a 5 MiB manifest, chunked (no Content-Length)", both(fails("MANIFEST_UNSUPPORTED_MEDIA_TYPE")), [
    { kind: "oversize-manifest", bytes: OVER, framing: "chunked" },
  ]),
  onLab("manifest-oversize-close", "a 5 MiB manifest delimited by closing the connection", both(fails("MANIFEST_UNSUPPORTED_MEDIA_TYPE")), [
    { kind: "oversize-manifest", bytes: OVER, framing: "close" },
  ]),
  onLab(
    "manifest-oversize-head-lies",
    "the HEAD says 600 bytes, the GET sends 5 MiB chunked",
    both(fails("MANIFEST_UNSUPPORTED_MEDIA_TYPE")),
    [{ kind: "oversize-manifest", bytes: OVER, framing: "chunked", headLength: 600 }],
  ),
  onLab("manifest-html", "200 with the manifest media type and an HTML page as body", both(fails("MANIFEST_INVALID")), [
    { kind: "bad-manifest", body: "html" },
  ]),
  onLab("manifest-random", "200 with the manifest media type and random bytes as body", both(fails("MANIFEST_INVALID")), [
    { kind: "bad-manifest", body: "random" },
  ]),
  onLab("manifest-deep-arrays", "a manifest of 10,000 nested arrays", both(fails("MANIFEST_INVALID")), [
    { kind: "bad-manifest", body: "deep-arrays" },
  ]),
  onLab("manifest-deep-objects", "a manifest of 10,000 nested objects", both(fails("MANIFEST_INVALID")), [
    { kind: "bad-manifest", body: "deep-objects" },
  ]),
  onLab("manifest-deep-100k", "a manifest of 100,000 nested arrays (past Go's 10,000 limit)", both(fails("MANIFEST_INVALID")), [
    { kind: "bad-manifest", body: "deep-arrays", depth: 100_000 },
  ]),
  // As the demo's arm-only scenario: the same images for other architectures.
  shapedOnLab("platform-mismatch", "an index whose platforms all differ from this host's", both(fails("PLATFORM_UNAVAILABLE")), () =>
    buildIndex(otherPlatforms(hostPlatform()).map((p) => buildImage({ label: "fault platform-mismatch", platform: p }))),
  ),
  shapedOnLab(
    "index-17k-entries",
    "an index of 17,000 entries (just under 4 MiB), none for this platform",
    both(fails("PLATFORM_UNAVAILABLE")),
    () => {
      const other = otherPlatforms(hostPlatform())[0]!;
      const entry = (i: number) => ({
        mediaType: MT.ociManifest,
        digest: `sha256:${i.toString(16).padStart(64, "0")}`,
        size: 500,
        platform: { os: other.os, architecture: other.architecture, variant: `v${i % 300}` },
      });
      const manifest = new TextEncoder().encode(
        JSON.stringify({ schemaVersion: 2, mediaType: MT.ociIndex, manifests: Array.from({ length: 17_000 }, (_, i) => entry(i)) }),
      );
      return { digest: sha256(manifest), mediaType: MT.ociIndex, manifest, images: [] };
    },
  ),
  flooded("token-flood", "the token endpoint answers 100 MiB (streamed)", "token", fails("AUTH_TOKEN_INVALID")),
  flooded(
    "manifest-flood",
    "the HEAD says 600 bytes, the GET streams a 1 GiB chunked manifest",
    "manifest",
    fails("MANIFEST_UNSUPPORTED_MEDIA_TYPE"),
  ),
  // Docker reads a 64 KiB challenge (Go accepts 10 MiB of headers) and asks the realm it names;
  // so does the doctor: the realm, a closed port, is what fails.
  ownLab(
    "huge-challenge-v2",
    "/v2/ answers 401 with a 64 KiB WWW-Authenticate whose realm is a closed port",
    both(fails("AUTH_TOKEN_SERVER_UNREACHABLE")),
    { protocolFaults: [{ kind: "huge-challenge", on: "v2", bytes: 64 * 1024 }] },
  ),
  // /v2/ is open: classic Docker sends nothing; the doctor's re-send (as containerd) finds the realm closed, and no
  // credentials are configured, so anonymous access is refused (AUTH_NOT_SENT needs something that could have been sent).
  ownLab(
    "huge-challenge-manifest",
    "/v2/ is open; the manifest answers 401 with a 64 KiB WWW-Authenticate",
    both(fails("AUTH_CREDENTIALS_REQUIRED")),
    {},
    (own) => own.setFaults(repoOf("huge-challenge-manifest"), [{ kind: "huge-challenge", on: "manifest", bytes: 64 * 1024 }]),
  ),
  // Past pulldoctor's 1 MiB head limit: said as such, nothing more is buffered.
  ownLab("huge-headers-v2", "/v2/ answers 401 with a 2 MiB WWW-Authenticate (past the 1 MiB head limit)", both(fails("V2_NO_RESPONSE")), {
    protocolFaults: [{ kind: "huge-challenge", on: "v2", bytes: 2 * 1024 * 1024 }],
  }),
  ownLab(
    "bad-header-bytes",
    "invalid UTF-8 in every header the doctor reads, on every response (token auth on)",
    both(fails("MANIFEST_INVALID")),
    { protocolFaults: [{ kind: "bad-header-bytes" }] },
    // A protected neighbour turns token auth on: the challenge and the token answer meet the bytes too.
    (own) => own.addImage("fault/private", "latest", small("private"), [{ kind: "auth-required" }]),
  ),
  ownLab(
    "bad-header-bytes-but-digest",
    "invalid UTF-8 in every header the doctor reads but Docker-Content-Digest, on every response: the check goes on to the blobs",
    // The blob stage cannot read the Content-Range (a warning); the pull verifies every digest and succeeds.
    both({ exit: 0, codes: ["BLOB_RANGE_UNSUPPORTED"] }),
    { protocolFaults: [{ kind: "bad-header-bytes", spare: ["docker-content-digest"] }] },
    (own) => own.addImage("fault/private", "latest", small("private"), [{ kind: "auth-required" }]),
  ),
  onLab(
    "bad-location-bytes",
    "the manifest redirects to a portal whose Location (and every other header) carries invalid UTF-8",
    both(fails("MANIFEST_INVALID")),
    [{ kind: "manifest-redirect", to: "http://127.0.0.1:9/portal/login" }, { kind: "bad-header-bytes" }],
  ),
  ownLab("bad-header-control", "an ESC sequence (a control character) in every header the doctor reads", both(fails("V2_NO_RESPONSE")), {
    protocolFaults: [{ kind: "bad-header-bytes", control: true }],
  }),
  onLab(
    "manifest-error-control",
    "the manifest answers 500 with an error message full of terminal escape sequences",
    both(fails("MANIFEST_FETCH_FAILED")),
    [{ kind: "error-answer", status: 500, message: `${CLEAR_SCREEN}storage backend down\r${RED}forged line\u009b0m` }],
  ),
  shapedOnLab(
    "index-control-platforms",
    "an index whose platform names carry terminal escape sequences (none matches)",
    both(fails("PLATFORM_UNAVAILABLE")),
    () => {
      const odd = [
        { os: `linux${CLEAR_SCREEN}`, architecture: "amd64" },
        { os: "linux", architecture: `arm64${RED}` },
      ];
      return buildIndex(odd.map((p) => buildImage({ label: "fault index-control-platforms", platform: p })));
    },
  ),
  shapedOnLab(
    "tags-control",
    "a missing tag whose near misses in tags/list carry terminal escape sequences",
    both(fails("MANIFEST_UNKNOWN")),
    () => small("tags-control"),
    `latest${RED}`,
  ),
  onLab("manifest-429-retry-after", "the manifest answers 429 TOOMANYREQUESTS with Retry-After", both(fails("RATE_LIMITED")), [
    { kind: "rate-limited", remaining: 0, limit: 100 },
  ]),
];
