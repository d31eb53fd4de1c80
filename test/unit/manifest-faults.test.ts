import { describe, expect, test } from "bun:test";
import { MAX_NESTING_DEPTH } from "../../src/host/go-json";
import { badManifestBytes, corruptHeaders, paddedManifest } from "../../src/lab/faults-protocol";
import { parseRegistryErrors } from "../../src/registry/errors";
import { goJsonError, isDigest, MAX_MANIFEST_BYTES, nestingExceeds, parseManifest } from "../../src/registry/manifest";
import { classifyTagsList } from "../../src/registry/manifest-classify";
import { MEDIA } from "../../src/registry/media-types";

/** Hostile manifest bodies (issue 7): not JSON, nested past Go's limit, control characters in every string. */
const enc = (s: string) => new TextEncoder().encode(s);
const digest = `sha256:${"a".repeat(64)}`;

describe("documents that are not manifests", () => {
  test("random bytes: Go's error quotes the byte, not U+FFFD", () => {
    const p = parseManifest(badManifestBytes("random"), MEDIA.ociManifest);
    expect(p).toEqual({
      kind: "invalid",
      mediaType: MEDIA.ociManifest,
      problem: "invalid character '\\u009b' looking for beginning of value",
    });
    expect(goJsonError("\u0001x", new Uint8Array([0x01, 0x78]))).toBe("invalid character '\\x01' looking for beginning of value");
    expect(goJsonError("ÿ", new Uint8Array([0xc3, 0xbf]))).toBe("invalid character 'Ã' looking for beginning of value");
  });

  test("an HTML page", () => {
    expect(parseManifest(badManifestBytes("html"), MEDIA.ociManifest)).toMatchObject({
      kind: "invalid",
      problem: "invalid character '<' looking for beginning of value",
    });
  });

  test(`${MAX_NESTING_DEPTH} levels parse (as in Go) and are judged by shape; one more is refused as Go refuses it`, () => {
    expect(parseManifest(badManifestBytes("deep-arrays"), MEDIA.ociManifest)).toMatchObject({
      kind: "invalid",
      problem: "the document is not a JSON object",
    });
    expect(parseManifest(badManifestBytes("deep-objects"), MEDIA.ociManifest)).toMatchObject({
      kind: "invalid",
      problem: "no config descriptor (digest and size)",
    });
    expect(parseManifest(badManifestBytes("deep-arrays", MAX_NESTING_DEPTH + 1), "")).toMatchObject({
      kind: "invalid",
      problem: expect.stringContaining("invalid character '[' exceeded max depth"),
    });
    expect(parseManifest(badManifestBytes("deep-objects", MAX_NESTING_DEPTH + 1), "")).toMatchObject({
      kind: "invalid",
      problem: expect.stringContaining("invalid character '{' exceeded max depth"),
    });
  });

  test("nesting as deep as 4 MiB allows (2 million levels) is refused in linear time, no stack overflow", () => {
    const half = MAX_MANIFEST_BYTES / 2;
    const bytes = enc("[".repeat(half) + "]".repeat(half));
    const t = performance.now();
    expect(parseManifest(bytes, "").kind).toBe("invalid");
    expect(performance.now() - t).toBeLessThan(1000);
  });

  test("brackets inside strings do not count", () => {
    expect(nestingExceeds(enc(JSON.stringify({ a: "[".repeat(MAX_NESTING_DEPTH + 5) })))).toBeNull();
    expect(nestingExceeds(enc(`{"a":"\\"${"[".repeat(20)}"}`), 10)).toBeNull();
    expect(nestingExceeds(enc("[[[]]]"), 2)).toBe(0x5b);
  });

  test("a padded manifest is exactly the size asked and valid JSON", () => {
    const m = paddedManifest(digest, 5000);
    expect(m.length).toBe(5000);
    expect(parseManifest(m, "").kind).toBe("image");
  });
});

describe("descriptors Docker would refuse", () => {
  const image = (config: object, layers: object[] = []) =>
    enc(JSON.stringify({ schemaVersion: 2, mediaType: MEDIA.ociManifest, config: { mediaType: MEDIA.ociConfig, ...config }, layers }));
  test.each([
    [{ digest, size: 1e300 }, "the config has size 1e+300, not a whole number of bytes"],
    [{ digest, size: 336.5 }, "the config has size 336.5, not a whole number of bytes"],
    [{ digest, size: -5 }, "the config has a negative size (-5)"],
    [{ digest: "sha256:../../../etc/passwd", size: 10 }, 'the config has digest "sha256:../../../etc/passwd", which is not a valid digest'],
    [{ digest: `md5:${"a".repeat(32)}`, size: 10 }, "unsupported digest algorithm md5"],
  ])("config %j", (config, problem) => {
    const p = parseManifest(image(config), "");
    expect(p.kind).toBe("invalid");
    expect(p.kind === "invalid" && p.problem).toContain(problem);
  });

  test("a layer, and sha384/sha512 digests are fine", () => {
    expect(
      parseManifest(
        image({ digest, size: 2 }, [
          { digest: `sha384:${"c".repeat(96)}`, size: 3 },
          { digest: `sha512:${"d".repeat(128)}`, size: 0 },
        ]),
        "",
      ).kind,
    ).toBe("image");
    expect(parseManifest(image({ digest, size: 2 }, [{ digest, size: 2 ** 53 }]), "")).toMatchObject({
      kind: "invalid",
      problem: expect.stringContaining("a layer has size"),
    });
  });
});

describe("isDigest: what may be requested by digest", () => {
  test.each([
    [digest, true],
    [`sha512:${"b".repeat(128)}`, true],
    ["multihash+base58:QmRZxt2b1FVZPNqd8hsiykDL3TdBDeTSPX9Kv46HmX4Gx8", true],
    [`sha256:${"a".repeat(63)}`, false],
    [`sha256:${"A".repeat(64)}`, false],
    [`${digest}\\xff\\xfe`, false],
    ["sha256", false],
    ["", false],
  ])("%s → %s", (d, ok) => expect(isDigest(d)).toBe(ok));
});

describe("control characters in registry text are escaped", () => {
  test("index platforms, media types and digests", () => {
    const doc = {
      schemaVersion: 2,
      mediaType: MEDIA.ociIndex,
      manifests: [{ mediaType: `x\u001b[2J`, digest, size: 1, platform: { os: "linux\u001b[31m", architecture: "amd64", variant: "\r" } }],
    };
    const p = parseManifest(enc(JSON.stringify(doc)), "");
    expect(p.kind === "index" && p.manifests[0]).toEqual({
      mediaType: "x\\x1b[2J",
      digest,
      size: 1,
      platform: { os: "linux\\x1b[31m", architecture: "amd64", variant: "\\x0d" },
    });
    // A digest with a control character is escaped, so it is no digest any more.
    const bad = parseManifest(enc(JSON.stringify({ ...doc, manifests: [{ digest: "sha256:\u009b", size: 1 }] })), "");
    expect(bad).toMatchObject({ kind: "invalid", problem: 'an index entry has digest "sha256:\\x9b", which is not a valid digest' });
  });

  test("error bodies and tag lists", () => {
    expect(parseRegistryErrors(enc(JSON.stringify({ errors: [{ code: "X\u0007", message: "a\u001b[2Jb" }] })))).toEqual([
      { code: "X\\x07", message: "a\\x1b[2Jb" },
    ]);
    expect(parseRegistryErrors(enc(JSON.stringify({ details: "\u009b31m" })))).toEqual([{ code: "UNKNOWN", message: "\\x9b31m" }]);
    expect(classifyTagsList(200, enc(JSON.stringify({ tags: ["1.0", "2\u001b[2J"] })), "application/json")).toEqual({
      kind: "listed",
      tags: ["1.0", "2\\x1b[2J"],
    });
  });

  test("the lab's corrupted headers keep framing headers and spare what is asked", () => {
    const h = corruptHeaders({ "Content-Length": 5, "Content-Type": "a/b", "Docker-Content-Digest": digest }, false, [
      "docker-content-digest",
    ]);
    expect(h["Content-Length"]).toBe(5);
    expect(h["Docker-Content-Digest"]).toBe(digest);
    expect(Buffer.from(h["Content-Type"] as Uint8Array).toString("latin1")).toBe("a/b\xff\xfe\xc3(\x80\x9b");
    expect(Object.keys(h)).toEqual(expect.arrayContaining(["server", "ratelimit-limit", "retry-after", "date"]));
  });
});

describe("token claims from a hostile token server", () => {
  test("times beyond any Date, escape sequences and odd shapes: read, never thrown on", async () => {
    const { checkTokenTimes, claimsEvidence, decodeJwt } = await import("../../src/registry/jwt");
    const b64 = (o: unknown) => Buffer.from(JSON.stringify(o)).toString("base64url");
    const d = decodeJwt(
      `${b64({ alg: "none" })}.${b64({ exp: 1e300, nbf: 1e300, iss: "\u001b[2Jx", aud: [[[1]], "r"], access: [{ type: "repository", name: "a", actions: ["pull", {}] }] })}.c2ln`,
    );
    expect(claimsEvidence(d)).toMatchObject({
      iss: "\\x1b[2Jx",
      aud: ["r"],
      exp: "1e+300 (seconds since 1970, beyond any date)",
      access: [{ type: "repository", name: "a", actions: ["pull"] }],
    });
    expect(checkTokenTimes(d!.claims, new Date()).problem).toContain("not valid before 1e+300 (seconds since 1970, beyond any date)");
  });
});
