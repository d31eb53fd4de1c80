import { describe, expect, test } from "bun:test";
import { createHash } from "node:crypto";
import fc from "fast-check";
import { endpointSettings, registryTarget } from "../../src/model/client-settings";
import type { Facts, Platform } from "../../src/model/facts";
import type { Finding } from "../../src/model/finding";
import type { HttpClient, HttpRequestInit, HttpResponse } from "../../src/registry/http-types";
import { type ParsedManifest, parseManifest } from "../../src/registry/manifest";
import { resolveImageManifest } from "../../src/registry/manifest-resolve";
import { MEDIA } from "../../src/registry/media-types";
import { formatPlatform, only, rankPlatforms } from "../../src/registry/platform";
import { parseReference } from "../../src/registry/reference";
import { testContext } from "../helpers/context";

/**
 * Manifests and indexes from a hostile registry: whatever the bytes, parseManifest returns
 * a value (an "invalid" one carries the problem), and the resolver that walks the result
 * (platform selection, the child manifest, media types) ends in a manifest or a finding.
 */

const enc = new TextEncoder();
const sha256 = (b: Uint8Array) => `sha256:${createHash("sha256").update(b).digest("hex")}`;
const MEDIA_TYPES = [
  MEDIA.ociManifest,
  MEDIA.dockerManifest,
  MEDIA.ociIndex,
  MEDIA.dockerList,
  MEDIA.schema1Signed,
  "application/vnd.oci.image.config.v1+json",
  "application/vnd.docker.container.image.v1+json",
  "text/plain",
  "application/json",
  "text/html",
];
const junk = fc.jsonValue({ maxDepth: 2 });
const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
const digest = fc.oneof(
  hex(64).map((h) => `sha256:${h}`),
  hex(128).map((h) => `sha512:${h}`),
  fc.constantFrom("sha256:", "sha256:../../x", "md5:abc", ":", "", `sha256:${"A".repeat(64)}`),
  fc.string({ maxLength: 20 }),
);
const size = fc.oneof(fc.nat({ max: 10_000_000 }), fc.constantFrom(-1, 0, 1.5, 1e300, 2 ** 53 + 2, 5 * 1024 * 1024), fc.double());
const platformish = fc.oneof(
  fc.record(
    {
      os: fc.oneof(fc.constantFrom("linux", "windows", "unknown", ""), junk),
      architecture: fc.oneof(fc.constantFrom("amd64", "arm64", "arm", "386", "unknown"), junk),
      variant: fc.oneof(fc.constantFrom("v7", "v8", "v99999999", ""), junk),
      "os.version": fc.oneof(fc.string(), junk),
      "os.features": fc.oneof(fc.array(fc.string(), { maxLength: 2 }), junk),
    },
    { requiredKeys: [] },
  ),
  junk,
);
const descriptorish = fc.oneof(
  {
    arbitrary: fc.record(
      {
        mediaType: fc.oneof(fc.constantFrom(...MEDIA_TYPES), junk),
        digest: fc.oneof({ arbitrary: digest, weight: 4 }, { arbitrary: junk, weight: 1 }),
        size: fc.oneof({ arbitrary: size, weight: 4 }, { arbitrary: junk, weight: 1 }),
        urls: fc.oneof(fc.array(fc.oneof(fc.webUrl(), junk), { maxLength: 2 }), junk),
        platform: platformish,
        annotations: junk,
      },
      { requiredKeys: [] },
    ),
    weight: 5,
  },
  { arbitrary: junk, weight: 1 },
);
const imageDoc = fc.record(
  {
    schemaVersion: fc.oneof(fc.constantFrom(2, 1, "2"), junk),
    mediaType: fc.oneof(fc.constantFrom(...MEDIA_TYPES), junk),
    config: descriptorish,
    layers: fc.oneof({ arbitrary: fc.array(descriptorish, { maxLength: 4 }), weight: 4 }, { arbitrary: junk, weight: 1 }),
  },
  { requiredKeys: [] },
);
const indexDoc = fc.record(
  {
    schemaVersion: fc.oneof(fc.constant(2), junk),
    mediaType: fc.oneof(fc.constantFrom(MEDIA.ociIndex, MEDIA.dockerList), junk),
    manifests: fc.oneof({ arbitrary: fc.array(descriptorish, { maxLength: 5 }), weight: 4 }, { arbitrary: junk, weight: 1 }),
  },
  { requiredKeys: [] },
);
const deep = fc
  .tuple(fc.integer({ min: 9_990, max: 12_000 }), fc.constantFrom("[", '{"a":'), fc.constantFrom('{"manifests":', '{"layers":', ""))
  .map(([d, open, head]) => head + open.repeat(d) + (open === "[" ? "]" : "}").repeat(d) + (head ? "}" : ""));

const manifestBytes = fc.oneof(
  fc.uint8Array({ maxLength: 300 }),
  fc.string({ unit: "binary", maxLength: 200 }).map((s) => enc.encode(s)),
  fc.json({ maxDepth: 4 }).map((s) => enc.encode(s)),
  imageDoc.map((d) => enc.encode(JSON.stringify(d))),
  indexDoc.map((d) => enc.encode(JSON.stringify(d))),
  fc.tuple(fc.oneof(imageDoc, indexDoc), fc.nat()).map(([d, cut]) => {
    const s = JSON.stringify(d);
    return enc.encode(s.slice(0, cut % (s.length + 1)));
  }),
);
const contentType = fc.option(
  fc.oneof(
    fc.constantFrom(...MEDIA_TYPES),
    fc.constantFrom(...MEDIA_TYPES).map((t) => `${t}; charset=utf-8`),
    fc.string({ maxLength: 30 }),
  ),
  { nil: undefined },
);

function expectWellFormed(p: ParsedManifest): void {
  expect(["index", "image", "schema1", "invalid"]).toContain(p.kind);
  expect(typeof p.mediaType).toBe("string");
  if (p.kind === "invalid") expect(p.problem.length).toBeGreaterThan(0);
  const descriptors = p.kind === "index" ? p.manifests : p.kind === "image" ? [p.config, ...p.layers] : [];
  for (const d of descriptors) {
    expect([typeof d.digest, typeof d.size, typeof d.mediaType]).toEqual(["string", "number", "string"]);
    if (d.platform) expect([typeof d.platform.os, typeof d.platform.architecture]).toEqual(["string", "string"]);
  }
}

describe("parseManifest", () => {
  test("any bytes and Content-Type: a manifest, an index, schema1, or invalid with its problem; never an exception", () => {
    fc.assert(
      fc.property(manifestBytes, contentType, (bytes, ct) => {
        expectWellFormed(parseManifest(bytes, ct));
      }),
      { numRuns: 3000 },
    );
  }, 20_000);

  test("nesting past Go's 10,000 levels is refused as Go words it; below it the document is judged by its shape", () => {
    fc.assert(
      fc.property(deep, (text) => {
        const p = parseManifest(enc.encode(text), "application/json");
        expectWellFormed(p);
        const levels = text.split("[").length - 1 + (text.split("{").length - 1);
        expect(p.kind === "invalid" && p.problem.includes("exceeded max depth")).toBe(levels > 10_000);
      }),
      // Each case is a 10-60 KB document: 150 runs.
      { numRuns: 150 },
    );
  }, 20_000);

  test("every descriptor accepted has a valid digest and a non-negative integer size (nothing else is ever put into a URL)", () => {
    const hex = (n: number) => fc.string({ unit: fc.constantFrom(..."0123456789abcdef"), minLength: n, maxLength: n });
    const digest = fc.oneof(
      hex(64).map((h) => `sha256:${h}`),
      fc.string({ maxLength: 20 }),
      fc.constantFrom("", "sha256:../../../etc/passwd", `sha256:${"A".repeat(64)}`),
    );
    const size = fc.oneof(fc.nat(), fc.double(), fc.constantFrom(-1, 1.5, 1e300, Number.MAX_SAFE_INTEGER + 2));
    const desc = fc.record({ mediaType: fc.constant("application/vnd.oci.image.layer.v1.tar+gzip"), digest, size });
    fc.assert(
      fc.property(desc, fc.array(desc, { maxLength: 3 }), fc.boolean(), (config, layers, asIndex) => {
        const doc = asIndex
          ? { schemaVersion: 2, manifests: [config, ...layers] }
          : { schemaVersion: 2, mediaType: MEDIA.ociManifest, config, layers };
        const p = parseManifest(enc.encode(JSON.stringify(doc)), undefined);
        expectWellFormed(p);
        const ds = p.kind === "index" ? p.manifests : p.kind === "image" ? [p.config, ...p.layers] : [];
        for (const d of ds) {
          expect(d.digest).toMatch(/^sha(256:[a-f0-9]{64}|384:[a-f0-9]{96}|512:[a-f0-9]{128})$/);
          expect(Number.isSafeInteger(d.size) && d.size >= 0).toBe(true);
        }
      }),
      { numRuns: 2000 },
    );
  }, 20_000);

  test("walking an index (platform names, selection for any wanted platform) never throws", () => {
    const want = fc.record(
      {
        os: fc.constantFrom("linux", "windows", ""),
        architecture: fc.constantFrom("amd64", "arm64", "arm", "riscv64"),
        variant: fc.constantFrom("v7", "v8", "v2", "v99999999"),
      },
      { requiredKeys: ["os", "architecture"] },
    );
    fc.assert(
      fc.property(indexDoc, want, (doc, w) => {
        const p = parseManifest(enc.encode(JSON.stringify(doc)), MEDIA.ociIndex);
        if (p.kind !== "index") return;
        const names = p.manifests.map((d) => (d.platform ? formatPlatform(d.platform) : "unknown"));
        const order = rankPlatforms(
          only(w as Platform),
          p.manifests.map((d) => d.platform ?? null),
        );
        for (const i of order) expect(names[i]).toBeString();
      }),
      { numRuns: 2000 },
    );
  }, 20_000);
});

/**
 * The resolver against a scripted registry: the top document is served for the tag's digest,
 * and a child image manifest (generated too) under its own digest, which the index names
 * among hostile entries. No network: the single-image config check is skipped (size 0).
 */
describe("resolveImageManifest on hostile documents", () => {
  const child = imageDoc.map((d) => ({
    ...d,
    config: d.config && typeof d.config === "object" && !Array.isArray(d.config) ? { ...d.config, size: 0 } : d.config,
  }));
  const scenario = fc.oneof(
    fc.tuple(manifestBytes, contentType).map(([top, ct]) => ({ top, ct, child: null as Uint8Array | null })),
    fc.tuple(indexDoc, child, platformish, fc.nat()).map(([idx, c, platform, at]) => {
      const childBytes = enc.encode(JSON.stringify(c));
      const list = Array.isArray(idx.manifests) ? [...idx.manifests] : [];
      list.splice(at % (list.length + 1), 0, {
        mediaType: MEDIA.ociManifest,
        digest: sha256(childBytes),
        size: childBytes.length,
        platform,
      });
      return {
        top: enc.encode(JSON.stringify({ ...idx, manifests: list })),
        ct: MEDIA.ociIndex as string | undefined,
        child: childBytes as Uint8Array | null,
      };
    }),
  );

  test("ends in a resolved manifest or at least one finding; never an exception", async () => {
    const ref = parseReference("registry.example.com/team/app:1");
    await fc.assert(
      fc.asyncProperty(scenario, fc.boolean(), async ({ top, ct, child }, explicitPlatform) => {
        const served = new Map<string, Uint8Array>([[sha256(top), top]]);
        if (child) served.set(sha256(child), child);
        const client: HttpClient = {
          async request(init: HttpRequestInit): Promise<HttpResponse> {
            const ref = init.url.slice(init.url.lastIndexOf("/") + 1);
            const body = served.get(ref);
            const headers: Record<string, string> = body
              ? { "content-type": body === top && ct ? ct : MEDIA.ociManifest, "docker-content-digest": ref }
              : {};
            return {
              status: body ? 200 : 404,
              statusText: "",
              headers,
              rawHeaders: Object.entries(headers),
              body: body ?? new Uint8Array(),
              truncated: false,
              url: init.url,
              durationMs: 1,
              remoteAddress: null,
            };
          },
          stream: () => Promise.reject(new Error("no streams here")),
          close: async () => undefined,
        };
        const ctx = testContext({
          options: { platform: explicitPlatform ? "linux/arm64" : null },
          facts: { ref, link: { baseUrl: "https://registry.example.com" } } as unknown as Facts,
        });
        const findings: Finding[] = [];
        const url = `https://registry.example.com/v2/team/app/manifests/1`;
        const want: Platform = explicitPlatform ? { os: "linux", architecture: "arm64" } : { os: "linux", architecture: "amd64" };
        const r = await resolveImageManifest(
          {
            client,
            settings: endpointSettings(ctx),
            registry: registryTarget(ctx),
            authorization: null,
            now: () => ctx.deps.now(),
            authenticated: false,
            explicitPlatform: explicitPlatform,
            evidence: {},
            findings,
          },
          {
            img: { image: "registry.example.com/team/app:1", registry: "registry.example.com", repository: "team/app", reference: "1" },
            url,
            headDigest: sha256(top),
            headSize: top.length,
          },
          want,
        );
        if (r === null) expect(findings.length).toBeGreaterThan(0);
        else expect(r.image.layers).toBeArray();
      }),
      { numRuns: 2000 },
    );
  }, 20_000);
});
