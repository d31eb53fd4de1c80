import { describe, expect, test } from "bun:test";
import {
  goJsonError,
  parseManifest,
  parseRateValue,
  parseRetryAfter,
  parseWarnings,
  rateLimitLow,
  readRateLimit,
} from "../../src/registry/manifest";
import { classifyManifestFailure, classifyTagsList } from "../../src/registry/manifest-classify";
import { configPlatform } from "../../src/registry/manifest-config";
import { closestTags, editDistance } from "../../src/registry/manifest-tags";
import { MEDIA } from "../../src/registry/media-types";

const enc = (s: string) => new TextEncoder().encode(s);
const d = (n: string) => ({ mediaType: MEDIA.ociManifest, digest: `sha256:${n.repeat(64)}`, size: 10 });

describe("parseManifest", () => {
  test.each([
    [
      "OCI index by mediaType",
      {
        schemaVersion: 2,
        mediaType: MEDIA.ociIndex,
        manifests: [{ ...d("a"), platform: { os: "linux", architecture: "arm64", variant: "v8" } }],
      },
      "",
      "index",
    ],
    ["index without mediaType (shape)", { schemaVersion: 2, manifests: [d("a")] }, MEDIA.ociIndex, "index"],
    ["Docker v2 image", { schemaVersion: 2, mediaType: MEDIA.dockerManifest, config: d("c"), layers: [d("d")] }, "", "image"],
    ["OCI image without mediaType, Content-Type decides", { schemaVersion: 2, config: d("c"), layers: [] }, MEDIA.ociManifest, "image"],
    ["schemaVersion 1", { schemaVersion: 1, fsLayers: [] }, "application/json", "schema1"],
    ["schema1 by Content-Type", { name: "x" }, MEDIA.schema1Signed, "schema1"],
    ["text/plain (Red Hat)", { name: "x" }, "text/plain; charset=utf-8", "schema1"],
    ["image without config", { schemaVersion: 2, layers: [] }, MEDIA.ociManifest, "invalid"],
    ["index entry without size", { manifests: [{ digest: "sha256:x" }] }, MEDIA.ociIndex, "invalid"],
  ])("%s", (_n, doc, ct, kind) => {
    expect(parseManifest(enc(JSON.stringify(doc)), ct).kind).toBe(kind as any);
  });
  test("keeps index platforms, with variant", () => {
    const p = parseManifest(
      enc(JSON.stringify({ manifests: [{ ...d("a"), platform: { os: "linux", architecture: "arm", variant: "v7" } }, d("b")] })),
      MEDIA.ociIndex,
    );
    expect(p.kind === "index" && p.manifests.map((m) => m.platform ?? null)).toEqual([
      { os: "linux", architecture: "arm", variant: "v7" },
      null,
    ]);
  });
  test.each([
    ["<html>", "invalid character '<' looking for beginning of value"],
    ["  \n<!DOCTYPE html>", "invalid character '<' looking for beginning of value"],
    ["", "unexpected end of JSON input"],
    ['{"schemaVersion": 2', "unexpected end of JSON input"],
    ["Forbidden", "invalid character 'F' looking for beginning of value"],
  ])("Go's JSON error for %j", (text, msg) => {
    expect(goJsonError(text)).toBe(msg);
    expect(parseManifest(enc(text), "text/html")).toEqual({ kind: "invalid", mediaType: "text/html", problem: msg });
  });
});

describe("rate limits", () => {
  test.each([
    ["100;w=21600", { value: 100, windowSeconds: 21600 }],
    ["76", { value: 76, windowSeconds: null }],
    ["100;w=21600, 10;w=3600", { value: 100, windowSeconds: 21600 }],
    ["0 ; w=60", { value: 0, windowSeconds: 60 }],
    ["abc", null],
    [undefined, null],
  ])("%j", (v, want) => expect(parseRateValue(v)).toEqual(want));
  test("Retry-After as seconds and as an HTTP date", () => {
    const now = new Date("2026-11-23T06:00:00Z");
    expect(parseRetryAfter("120", now)).toBe(120);
    expect(parseRetryAfter("Mon, 23 Nov 2026 07:00:00 GMT", now)).toBe(3600);
    expect(parseRetryAfter("soon", now)).toBeNull();
  });
  test("Warning headers: the quoted text", () => {
    expect(
      parseWarnings([
        ["warning", '299 - "this image is deprecated"'],
        ["x", "y"],
        ["warning", "garbage"],
      ]),
    ).toEqual(["this image is deprecated", "garbage"]);
  });
  test.each([
    [100, 3, true],
    [100, 9, true],
    [100, 10, false],
    [10, 4, true],
    [10, 5, false],
    [1000, 99, true],
    [1000, 100, false],
  ])("limit %d, remaining %d → low %p (max(5, 10 %))", (limit, remaining, low) => {
    const info = readRateLimit({ "ratelimit-limit": `${limit};w=21600`, "ratelimit-remaining": `${remaining};w=21600` }, [], new Date());
    expect(rateLimitLow(info)).toBe(low);
  });
  test("no headers: not low (unlimited or not Docker Hub)", () => expect(rateLimitLow(readRateLimit({}, [], new Date()))).toBe(false));
});

describe("classifyManifestFailure", () => {
  test.each([
    [429, [], "rate-limited"],
    [403, [{ code: "TOOMANYREQUESTS", message: "x" }], "rate-limited"],
    [404, [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }], "not-found"],
    [404, [{ code: "NAME_UNKNOWN", message: "repository name not known to registry" }], "not-found"],
    [404, [], "not-found"],
    [401, [{ code: "UNAUTHORIZED", message: "authentication required" }], "denied"],
    [403, [], "denied"],
    [500, [{ code: "UNKNOWN", message: "unknown error" }], "other"],
    [502, [], "other"],
  ])("%d %j → %s", (status, diags, kind) => expect(classifyManifestFailure(status, diags).kind).toBe(kind as any));
  test("keeps the registry's words", () => {
    expect(classifyManifestFailure(404, [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }])).toEqual({
      kind: "not-found",
      code: "MANIFEST_UNKNOWN",
      message: "manifest_unknown: manifest unknown",
    });
  });
});

describe("classifyTagsList", () => {
  test.each([
    [200, '{"name":"a/b","tags":["1.0","2.0"]}', { kind: "listed", tags: ["1.0", "2.0"] }],
    [200, '{"name":"a/b","tags":null}', { kind: "listed", tags: [] }],
    [404, '{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}', { kind: "no-repository" }],
    [404, "", { kind: "no-repository" }],
    [401, '{"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]}', { kind: "unavailable", status: 401 }],
    [200, "<html>", { kind: "unavailable", status: 200 }],
  ])("%d %s", (status, body, want) => expect(classifyTagsList(status, enc(body), "application/json")).toEqual(want as any));
});

describe("closestTags", () => {
  test("edit distance", () => {
    expect(editDistance("kitten", "sitting")).toBe(3);
    expect(editDistance("", "abc")).toBe(3);
  });
  test.each([
    ["1.25.4", ["1.25.3", "1.25.2", "1.24.0", "latest", "mainline"], ["1.25.3", "1.25.2", "1.24.0"]],
    ["3.19", ["3.19-alpine", "3.18", "3.20", "edge"], ["3.18", "3.19-alpine", "3.20"]],
    ["lates", ["latest", "stable", "1.0"], ["latest"]],
    ["nope", ["1.0", "1.1"], []],
    ["v1.2.0", ["1.2.0", "v1.2.1", "v2.0.0"], ["v1.2.1", "1.2.0", "v2.0.0"]],
  ])("%s in %j", (want, tags, expected) => expect(closestTags(want, tags)).toEqual(expected));
  test("at most five", () => expect(closestTags("1.0", ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "1.7"]).length).toBe(5));
});

describe("configPlatform", () => {
  test.each([
    ['{"os":"linux","architecture":"arm","variant":"v7","rootfs":{}}', { os: "linux", architecture: "arm", variant: "v7" }],
    [
      '{"os":"windows","architecture":"amd64","os.version":"10.0.20348.1"}',
      { os: "windows", architecture: "amd64", "os.version": "10.0.20348.1" },
    ],
    ['{"architecture":"amd64"}', null],
    ["not json", null],
  ])("%s", (json, want) => expect(configPlatform(enc(json))).toEqual(want as any));
});
