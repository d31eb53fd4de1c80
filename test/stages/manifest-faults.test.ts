import { afterAll, beforeAll, expect, test } from "bun:test";
import { buildImage, MT, sha256 } from "../../src/lab/image";
import { manifestStage } from "../../src/stages/manifest";
import { loopbackRef, stageCtx } from "./manifest-facts";

/**
 * A small registry-like server for what a real registry will not serve: schema 1, a captive
 * portal page, an oversized manifest, a lying Docker-Content-Digest, a 500 and a hang.
 */
const img = buildImage({ label: "faults" });
const enc = (s: string) => new TextEncoder().encode(s);
const schema1 = enc(
  JSON.stringify({ schemaVersion: 1, name: "old/app", tag: "1.0", architecture: "amd64", fsLayers: [], history: [], signatures: [] }),
);
const huge = enc(
  JSON.stringify({
    schemaVersion: 2,
    mediaType: MT.ociManifest,
    config: { mediaType: MT.ociConfig, digest: img.config.digest, size: 2 },
    layers: [],
    annotations: { pad: "x".repeat(5 * 1024 * 1024) },
  }),
);
const portal = enc("<!DOCTYPE html><html><head><title>Guest Wi-Fi</title></head><body>Please log in</body></html>");

type Route = { status?: number; type: string; body: Uint8Array; digest?: string | null; hang?: boolean; noHead?: boolean };
const routes: Record<string, Route> = {
  "old/app": { type: MT.schema1Signed, body: schema1 },
  "rh/app": { type: "text/plain", body: schema1 },
  "portal/app": { type: "text/html; charset=utf-8", body: portal, digest: null },
  "huge/app": { type: MT.ociManifest, body: huge, digest: null },
  "lying/app": { type: MT.ociManifest, body: img.manifest, digest: `sha256:${"a".repeat(64)}` },
  "broken/app": {
    status: 500,
    type: "application/json",
    body: enc('{"errors":[{"code":"UNKNOWN","message":"unknown error","detail":"s3: connection reset"}]}'),
  },
  "hang/app": { type: MT.ociManifest, body: img.manifest, hang: true },
  "nohead/app": { type: MT.ociManifest, body: img.manifest, noHead: true },
};

let server: ReturnType<typeof Bun.serve>;
let base = "";
const hanging: (() => void)[] = [];
beforeAll(() => {
  server = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const m = /^\/v2\/(.+)\/manifests\/(.+)$/.exec(new URL(req.url).pathname);
      const r = m ? routes[m[1]!] : undefined;
      if (!r && m?.[1] !== "wifi/app")
        return new Response('{"errors":[{"code":"NAME_UNKNOWN","message":"repository name not known to registry"}]}', { status: 404 });
      if (m?.[1] === "wifi/app")
        return new Response(null, { status: 302, headers: { location: "http://login.hotspot.example/portal?session=secret-session-id" } });
      if (!r) return new Response(null, { status: 500 });
      if (r.noHead && req.method === "HEAD") return new Response(null, { status: 405 });
      if (r.hang) await new Promise<void>((resolve) => hanging.push(resolve));
      const digest = r.digest === undefined ? sha256(r.body) : r.digest;
      const headers: Record<string, string> = { "content-type": r.type, "docker-distribution-api-version": "registry/2.0" };
      if (digest) headers["docker-content-digest"] = digest;
      return new Response(req.method === "HEAD" ? null : r.body, { status: r.status ?? 200, headers });
    },
  });
  base = `http://127.0.0.1:${server.port}`;
});
afterAll(() => {
  for (const h of hanging) h();
  server?.stop(true);
});

const run = (repo: string, over: Parameters<typeof stageCtx>[2] = {}, digest: string | null = null) =>
  manifestStage.run(stageCtx(base, loopbackRef(new URL(base).host, repo, digest ? null : "1.0", digest), over));

test("schema 1 (prettyjws) → MANIFEST_SCHEMA1", async () => {
  const out = await run("old/app");
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_SCHEMA1"]);
  expect(out.findings[0]!.detail).toContain(MT.schema1Signed);
  expect(out.findings[0]!.fixes[0]).toContain("skopeo copy --format v2s2");
});

test("schema 1 served as text/plain (Red Hat's quirk) → MANIFEST_SCHEMA1", async () => {
  const out = await run("rh/app");
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_SCHEMA1"]);
  expect((out.findings[0]!.evidence.get as any).contentType).toBe("text/plain");
});

test("a captive-portal HTML page → MANIFEST_INVALID with Go's JSON error and the page's first bytes", async () => {
  const out = await run("portal/app");
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_INVALID"]);
  const f = out.findings[0]!;
  expect(f.detail).toContain("invalid character '<' looking for beginning of value");
  expect((f.evidence.get as any).bodyStart).toContain("Guest Wi-Fi");
});

test("a manifest over 4 MiB → MANIFEST_UNSUPPORTED_MEDIA_TYPE (oversized), body read only up to the cap", async () => {
  const out = await run("huge/app");
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_UNSUPPORTED_MEDIA_TYPE"]);
  expect(out.findings[0]!.detail).toContain("above containerd's 4 MiB limit");
});

test("Docker-Content-Digest that disagrees with the bytes → DIGEST_MISMATCH", async () => {
  const out = await run("lying/app");
  expect(out.findings.map((f) => f.code)).toEqual(["DIGEST_MISMATCH"]);
  const f = out.findings[0]!;
  expect(f.detail).toBe(
    `${new URL(base).host}/lying/app:1.0: Docker-Content-Digest says sha256:${"a".repeat(64)}, the bytes hash to ${img.digest}`,
  );
  expect((f.evidence.get as any).computedDigest).toBe(img.digest);
  const h = new URL(base).host;
  expect(f.fixes[0]).toBe(
    `Fetch it again bypassing any proxy: skopeo inspect --raw --tls-verify=false docker://${h}/lying/app@sha256:${"a".repeat(64)} | sha256sum (or with curl: http://${h}/v2/lying/app/manifests/sha256:${"a".repeat(64)})`,
  );
});

test("a pinned digest the served bytes do not hash to → DIGEST_MISMATCH (pinned)", async () => {
  const pinned = `sha256:${"b".repeat(64)}`;
  const out = await run("lying/app", {}, pinned);
  expect(out.findings.map((f) => f.code)).toEqual(["DIGEST_MISMATCH"]);
  expect(out.findings[0]!.detail).toContain(`the reference pins ${pinned}`);
});

test("500 from the registry → MANIFEST_FETCH_FAILED with the error body", async () => {
  const out = await run("broken/app");
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_FETCH_FAILED"]);
  expect(out.findings[0]!.detail).toContain("HTTP 500");
  expect((out.findings[0]!.evidence.get as any).errors).toEqual([{ code: "UNKNOWN", message: "unknown error" }]);
});

test("a registry that never answers → MANIFEST_FETCH_FAILED (timeout) within the timeout", async () => {
  const t0 = performance.now();
  const out = await run("hang/app", { options: { timeoutMs: 800 } });
  expect(performance.now() - t0).toBeLessThan(3000);
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_FETCH_FAILED"]);
  expect((out.findings[0]!.evidence.error as any).kind).toBe("timeout");
});

test("a token refresh that fails now → MANIFEST_FETCH_FAILED naming the token step, no throw", async () => {
  const { NetError } = await import("../../src/registry/http");
  const session = {
    scheme: "bearer" as const,
    invalidate() {},
    authorize: async () => {
      throw new NetError("cannot resolve auth.pd.invalid: ENOTFOUND", { kind: "dns", phase: "dns", host: "auth.pd.invalid" });
    },
  };
  const out = await run("old/app", { facts: { session } });
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_FETCH_FAILED"]);
  expect(out.findings[0]!.detail).toContain("token: cannot resolve auth.pd.invalid");
});

test("a server that refuses HEAD (405): the GET stands in, as containerd does; the manifest resolves", async () => {
  const out = await run("nohead/app");
  expect(out.findings).toEqual([]);
  expect(out.evidence.headRefused).toBe(405);
  expect(out.provides!.manifest!.digest).toBe(img.digest);
});

test("a hotspot that redirects the manifest to its login page → MANIFEST_INVALID naming the redirect (query redacted)", async () => {
  const out = await run("wifi/app");
  expect(out.findings.map((f) => f.code)).toEqual(["MANIFEST_INVALID"]);
  expect(out.findings[0]!.detail).toContain("redirected to http://login.hotspot.example/portal?session=REDACTED");
  expect(JSON.stringify(out)).not.toContain("secret-session-id");
});
