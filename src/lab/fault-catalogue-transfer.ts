import { startBlobHost } from "./blob-host";
import type { FaultOutcome, NamedFault } from "./fault-catalogue";
import { fails, installAt } from "./fault-kit";
import type { Fault } from "./faults";
import { type BuiltImage, buildImage, noise } from "./image";
import { startLabRegistry } from "./server";

/**
 * The transfer faults: what a registry, CDN or middlebox does wrong while blob bytes move.
 *
 * Two image shapes. "probed": config + one 300 KiB layer; the doctor's blob stage asks for
 * the first KiB of both, so a fault on every blob meets `check` first (and `pull`, which
 * diagnoses before it downloads, stops there with the same finding). "hidden": config + a
 * tiny layer + a 300 KiB layer with the fault on the big one only; the probe reads the tiny
 * one (the blob stage times no layer under 512 KiB), so `check` honestly sees nothing wrong
 * and the pull engine meets the fault: that is how a middlebox that breaks only large
 * transfers looks (an MTU black hole, a proxy's body limit).
 *
 * The time rules a hanging host meets are the pull engine's (src/pull/fetch-blob.ts):
 * response headers within --timeout; then the body must keep moving: fewer than
 * 1 KiB (LOW_SPEED_BYTES) in any --timeout window ends the attempt as stalled. A link at
 * 1 KiB/s or faster is never cut; a byte-a-second drip is, after one window.
 *
 * Each fault's big layer is its own bytes (seeded by the fault's name): a layer shared with a
 * fault pulled earlier would come from the local blob store and the fault would never be met.
 */
const LAYER_BYTES = 300 * 1024;
const CREDENTIALS = { username: "demo", password: "s3cret-demo" };

export function probedImage(name: string): BuiltImage {
  return buildImage({ label: `fault ${name}`, layers: [[{ name: "data.bin", content: noise(LAYER_BYTES, `probed ${name}`) }]] });
}

export function hiddenImage(name: string): BuiltImage {
  return buildImage({
    label: `fault ${name}`,
    layers: [[{ name: "hello.txt", content: `fault ${name}\n` }], [{ name: "data.bin", content: noise(LAYER_BYTES, `hidden ${name}`) }]],
  });
}

/** The big layer of a hidden image: the one its faults target. */
export function bigLayer(img: BuiltImage) {
  return img.layers[img.layers.length - 1]!;
}

const ok: FaultOutcome = { exit: 0, codes: [] };
const warns = (...codes: string[]): FaultOutcome => ({ exit: 0, codes });

/** A fault on the big layer of a hidden image only. */
function hidden(name: string, title: string, pull: FaultOutcome, fault: (digest: string) => Fault): NamedFault {
  return {
    name,
    title,
    group: "transfer",
    expect: { check: ok, pull },
    async install(lab) {
      const img = hiddenImage(name);
      return installAt(lab, name, img, [fault(bigLayer(img).digest)]);
    },
  };
}

/** A fault on every blob of a probed image: `check` meets it, and `pull` stops at the same finding. */
function everywhere(name: string, title: string, check: FaultOutcome, faults: Fault[], pull: FaultOutcome = check): NamedFault {
  return {
    name,
    title,
    group: "transfer",
    expect: { check, pull },
    install: async (lab) => installAt(lab, name, probedImage(name), faults),
  };
}

/** Every blob of a probed image redirected to a second host (a CDN) broken by `cdnFaults`; it records what reaches it. */
function viaCdn(
  name: string,
  title: string,
  outcome: FaultOutcome,
  cdnFaults: Fault[],
  redirect: { invalidBytes?: boolean } = {},
): NamedFault {
  return {
    name,
    title,
    group: "transfer",
    expect: { check: outcome, pull: outcome },
    async install(lab) {
      const img = probedImage(name);
      const cdn = await startBlobHost([img.config, ...img.layers], { faults: cdnFaults });
      return { ...installAt(lab, name, img, [{ kind: "blob-redirect", to: cdn.url, ...redirect }]), stop: cdn.stop, observed: cdn };
    },
  };
}

export const TRANSFER_FAULTS: NamedFault[] = [
  hidden("blob-drop-recovers", "the connection is reset mid-layer twice, then the layer is served (resume with Range)", ok, (digest) => ({
    kind: "drop-connection",
    digest,
    afterBytes: 100_000,
    times: 2,
  })),
  hidden(
    "blob-drop-always",
    "the connection is reset after 40 KB of every layer response: retries run out",
    fails("PULL_INTERRUPTED"),
    (digest) => ({ kind: "drop-connection", digest, afterBytes: 40_000, times: Number.POSITIVE_INFINITY }),
  ),
  hidden("blob-short-body", "every layer response ends (FIN) 100 KB into a longer Content-Length (resume with Range)", ok, (digest) => ({
    kind: "truncate-blob",
    digest,
    afterBytes: 100_000,
  })),
  everywhere(
    "blob-long-body",
    "every blob response carries a second, forged response after its Content-Length on a kept-alive connection",
    ok,
    [
      {
        kind: "long-body",
        extra: "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 16\r\n\r\nforged-response!",
      },
    ],
  ),
  hidden("blob-corrupt", "a layer's bytes are wrong (same length): only its digest can tell", fails("PULL_DIGEST_MISMATCH"), (digest) => ({
    kind: "corrupt-blob",
    digest,
  })),
  everywhere(
    "blob-corrupt-config",
    "the config blob's bytes are wrong (same length); the probe reads it whole",
    fails("BLOB_DIGEST_MISMATCH"),
    [{ kind: "corrupt-blob" }],
  ),
  viaCdn("blob-host-silent", "blobs redirect to a host that accepts connections and never answers", fails("BLOB_REDIRECT_UNREACHABLE"), [
    { kind: "silent-blob" },
  ]),
  {
    name: "blob-host-silent-layer",
    title: "one layer redirects to a host that accepts connections and never answers",
    group: "transfer",
    expect: { check: ok, pull: fails("PULL_INTERRUPTED") },
    async install(lab) {
      const img = hiddenImage("blob-host-silent-layer");
      const cdn = await startBlobHost([bigLayer(img)], { faults: [{ kind: "silent-blob" }] });
      return {
        ...installAt(lab, "blob-host-silent-layer", img, [{ kind: "blob-redirect", to: cdn.url, digest: bigLayer(img).digest }]),
        stop: cdn.stop,
      };
    },
  },
  everywhere("blob-drip", "every blob response, head included, drips at one byte a second", fails("BLOB_FETCH_FAILED"), [
    { kind: "drip-blob", bytesPerSecond: 1 },
  ]),
  hidden("blob-drip-layer", "a layer's response, head included, drips at one byte a second", fails("PULL_INTERRUPTED"), (digest) => ({
    kind: "drip-blob",
    digest,
    bytesPerSecond: 1,
  })),
  everywhere("blob-stall", "every blob response sends its headers, then nothing, on an open connection", fails("BLOB_FETCH_FAILED"), [
    { kind: "stall-blob", afterBytes: 0 },
  ]),
  hidden(
    "blob-stall-layer",
    "every layer response sends its headers and 100 KB, then nothing, on an open connection (the pull resumes past each stall)",
    ok,
    (digest) => ({ kind: "stall-blob", digest, afterBytes: 100_000 }),
  ),
  hidden(
    "blob-stall-layer-always",
    "every layer response sends its headers, then nothing, on an open connection",
    fails("PULL_INTERRUPTED"),
    (digest) => ({ kind: "stall-blob", digest, afterBytes: 0 }),
  ),
  everywhere("blob-5xx-then-ok", "every blob GET answers 500, 502, 503, then the blob (Docker retries)", warns("BLOB_FETCH_FAILED"), [
    { kind: "blob-status", statuses: [500, 502, 503] },
  ]),
  everywhere("blob-429-retry-after", "every blob GET answers 429 with Retry-After: 1, then the blob", warns("BLOB_FETCH_FAILED"), [
    { kind: "blob-status", statuses: [429], retryAfter: "1" },
  ]),
  hidden("blob-429-long", "a layer's GET always answers 429 with Retry-After: 3600", fails("PULL_INTERRUPTED"), (digest) => ({
    kind: "blob-status",
    digest,
    statuses: [429],
    retryAfter: "3600",
    forever: true,
  })),
  hidden(
    "blob-error-stall",
    "a layer's GET answers 500 and then never sends the error body it announced",
    fails("PULL_INTERRUPTED"),
    (digest) => ({ kind: "blob-status", digest, statuses: [500], forever: true, stallBody: true }),
  ),
  everywhere("blob-redirect-loop", "blob GETs redirect to themselves", fails("BLOB_REDIRECT_LOOP"), [
    { kind: "redirect-chain", hops: "loop" },
  ]),
  everywhere("blob-redirect-chain", "blob GETs go through 11 redirects (Go's client stops after 10)", fails("BLOB_REDIRECT_LOOP"), [
    { kind: "redirect-chain", hops: 11 },
  ]),
  {
    name: "blob-https-to-http",
    title: "an HTTPS registry (login required) redirects blobs to a plain-HTTP host",
    group: "transfer",
    expect: { check: warns("BLOB_REDIRECT_INSECURE"), pull: warns("BLOB_REDIRECT_INSECURE") },
    async install() {
      // Its own registry: this one speaks TLS (the lab given may not).
      const img = probedImage("blob-https-to-http");
      const [secure, cdn] = await Promise.all([startLabRegistry({ tls: true }), startBlobHost([img.config, ...img.layers])]);
      secure.addImage("fault/blob-https-to-http", "latest", img, [
        { kind: "auth-required", ...CREDENTIALS },
        { kind: "blob-redirect", to: cdn.url },
      ]);
      return {
        image: `${secure.host}/fault/blob-https-to-http:latest`,
        insecure: [secure.host],
        credentials: CREDENTIALS,
        observed: cdn,
        stop: async () => void (await Promise.all([secure.stop(), cdn.stop()])),
      };
    },
  },
  // Followed as Go sends it (the bytes percent-encoded); the CDN has no such object: a 404 from the redirect target.
  viaCdn(
    "blob-location-bytes",
    "blobs redirect to a CDN through a Location with bytes that are not UTF-8 (and a C1 control) in its path",
    fails("BLOB_UNKNOWN"),
    [],
    { invalidBytes: true },
  ),
  {
    name: "blob-cross-host",
    title: "a registry (login required) redirects blobs to another host, which cuts every layer response 100 KB in",
    group: "transfer",
    expect: { check: ok, pull: ok },
    async install(lab) {
      const img = probedImage("blob-cross-host");
      // Every layer response ends (FIN) 100 KB in: the pull resumes with Range, through the registry's redirect each time.
      const cdn = await startBlobHost([img.config, ...img.layers], {
        faults: [{ kind: "truncate-blob", digest: bigLayer(img).digest, afterBytes: 100_000 }],
      });
      return {
        ...installAt(lab, "blob-cross-host", img, [
          { kind: "auth-required", ...CREDENTIALS },
          { kind: "blob-redirect", to: cdn.url },
        ]),
        credentials: CREDENTIALS,
        stop: cdn.stop,
        observed: cdn,
      };
    },
  },
];
