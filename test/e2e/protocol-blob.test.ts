import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage, noise } from "../../src/lab/image";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectNoSecrets } from "../helpers/schema";
import { type DnsmasqPeer, startDnsmasq } from "../peers/dnsmasq";
import { type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";

/**
 * Every blob code through the compiled binary. A real docker-registry (a layer deleted through
 * its API), nginx in front of it redirecting blobs (to a reachable "CDN" on 127.0.0.2, to a dead
 * host, to a name dnsmasq does not know, to itself, to a 500), and the project's lab registry for
 * what neither can do on demand (no Range support, a paced body, corrupted bytes).
 */

const img = buildImage({ label: "e2e-blob" });
const broken = buildImage({ label: "e2e-broken-blob" });
const big = buildImage({ label: "e2e-big", layers: [[{ name: "big.bin", content: noise(600 * 1024, 5) }]] });

let reg: RegistryPeer;
let nginx: NginxPeer;
let lab: LabRegistry;
let dns: DnsmasqPeer;
let cdn: ReturnType<typeof Bun.serve>;
const cdnSaw: string[] = [];
const ports = { redirectOk: 0, redirectDead: 0, redirectNoName: 0, loop: 0, err500: 0 };
let home: { dir: string; cleanup: () => void };

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-blob-");
  [reg, lab, dns] = await Promise.all([startRegistry(), startLabRegistry(), startDnsmasq({ nxdomain: ["cdn.pd.invalid"] })]);
  await pushImage(reg.url, "team/app", "1.0", img);
  await pushImage(reg.url, "gone/app", "1.0", broken);
  // A garbage-collected layer: the manifest still names it, the registry lost it.
  const del = await fetch(`${reg.url}/v2/gone/app/blobs/${broken.layers[0]!.digest}`, { method: "DELETE" });
  if (del.status !== 202) throw new Error(`blob delete: ${del.status}`);
  lab.addImage("norange/app", "1.0", img, [{ kind: "no-range" }]);
  lab.addImage("slow/app", "1.0", big, [{ kind: "slow-blob", digest: big.layers[0]!.digest, bytesPerSecond: 200 * 1024 }]);
  lab.addImage("corrupt/app", "1.0", img, [{ kind: "corrupt-blob", digest: img.config.digest }]);
  // Another host, as a CDN is: serves the registry's bytes and records what it was sent.
  cdn = Bun.serve({
    port: 0,
    hostname: "127.0.0.2",
    fetch(req) {
      cdnSaw.push(req.headers.get("authorization") ?? "none");
      return fetch(`${reg.url}${new URL(req.url).pathname}`, { headers: { range: req.headers.get("range") ?? "" } });
    },
  });
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  const dead = await freePort();
  const rest = `location / { proxy_pass http://127.0.0.1:${reg.port}; }`;
  nginx = await startNginx({
    httpBlock: `
  server { listen 127.0.0.1:${ports.redirectOk};     location ~ ^/v2/.+/blobs/ { return 307 http://127.0.0.2:${cdn.port}$request_uri?X-Amz-Signature=e2e-cdn-signature-secret; } ${rest} }
  server { listen 127.0.0.1:${ports.redirectDead};   location ~ ^/v2/.+/blobs/ { return 307 http://127.0.0.1:${dead}$request_uri; } ${rest} }
  server { listen 127.0.0.1:${ports.redirectNoName}; location ~ ^/v2/.+/blobs/ { return 307 http://cdn.pd.invalid$request_uri; } ${rest} }
  server { listen 127.0.0.1:${ports.loop};           location ~ ^/v2/.+/blobs/ { return 302 $request_uri; } ${rest} }
  server { listen 127.0.0.1:${ports.err500};         location ~ ^/v2/.+/blobs/ { return 500; } ${rest} }`,
  });
});
afterAll(async () => {
  cdn?.stop(true);
  await Promise.all([nginx?.stop(), reg?.stop(), lab?.stop(), dns?.stop()]);
  home?.cleanup();
});

/** ns: run in a private mount namespace whose resolv.conf names a dead loopback server (helpers/run-in-ns.ts), for runs that resolve a name. */
/** `codes` are the blob stage's. */
async function check(image: string, extra: string[] = [], timeout = "3", ns = false) {
  const c = await checkCli(image, extra, { home: home.dir, timeout: Number(timeout), ns: ns ? {} : undefined });
  return { ...c, codes: c.codesOf("blob") };
}

function expectBlob(c: Awaited<ReturnType<typeof check>>, code: string, severity: "error" | "warning") {
  expect(c.codes).toEqual([`${code}:${severity}`]);
  expect(c.stage("manifest").status).toBe("pass");
  expect(c.stage("blob").status).toBe(severity === "error" ? "fail" : "warn");
  if (severity === "error") expect(c.report.verdict).toMatchObject({ ok: false, code });
  else expect(c.report.verdict.ok).toBe(true);
  expect(c.r.code).toBe(severity === "error" ? 1 : 0);
  return c.find(code);
}

describe("blob codes from a real registry and nginx in front of it", () => {
  test("healthy through a redirect to a reachable CDN: followed by hand, signature redacted", async () => {
    cdnSaw.length = 0;
    const c = await check(`127.0.0.1:${ports.redirectOk}/team/app:1.0`);
    expect(c.codes).toEqual([]);
    expect(c.stage("blob").status).toBe("pass");
    expect(c.r.code).toBe(0);
    expect(cdnSaw.length).toBeGreaterThan(0);
    expect(cdnSaw.every((a) => a === "none")).toBe(true);
    expectNoSecrets(c.all, ["e2e-cdn-signature-secret"]);
  });

  test("BLOB_UNKNOWN: a layer the registry lost", async () => {
    const f = expectBlob(await check(`${reg.host}/gone/app:1.0`), "BLOB_UNKNOWN", "error");
    expect(f.detail).toContain(`the layer blob ${broken.layers[0]!.digest} is missing`);
  });

  test("BLOB_REDIRECT_UNREACHABLE: blobs redirected to a port nobody listens on (Docker's dial error)", async () => {
    const f = expectBlob(await check(`127.0.0.1:${ports.redirectDead}/team/app:1.0`), "BLOB_REDIRECT_UNREACHABLE", "error");
    expect(f.detail).toContain(`127.0.0.1:${ports.redirectDead} redirects blobs to 127.0.0.1:`);
    expect(f.detail).toContain("connect: connection refused");
    expect(f.evidence.config.hops[0].status).toBe(307);
  });

  test("BLOB_REDIRECT_UNREACHABLE: blobs redirected to a name the --dns server answers NXDOMAIN", async () => {
    const f = expectBlob(
      await check(`127.0.0.1:${ports.redirectNoName}/team/app:1.0`, ["--dns", dns.server], "3", true),
      "BLOB_REDIRECT_UNREACHABLE",
      "error",
    );
    expect(f.detail).toBe(
      `127.0.0.1:${ports.redirectNoName} redirects blobs to cdn.pd.invalid, which fails at DNS: dial tcp: lookup cdn.pd.invalid on ${dns.server}: no such host`,
    );
    expect(f.evidence.config.hops[1].dns.outcome).toBe("nxdomain");
  });

  test("BLOB_REDIRECT_LOOP: blobs redirected to themselves, never a hang", async () => {
    const f = expectBlob(await check(`127.0.0.1:${ports.loop}/team/app:1.0`), "BLOB_REDIRECT_LOOP", "error");
    expect(f.detail).toStartWith("redirect loop: ");
  });

  test("BLOB_FETCH_FAILED: 500 on blobs", async () => {
    const f = expectBlob(await check(`127.0.0.1:${ports.err500}/team/app:1.0`), "BLOB_FETCH_FAILED", "error");
    expect(f.detail).toContain("HTTP 500");
  });
});

describe("blob codes from the lab registry", () => {
  test("BLOB_RANGE_UNSUPPORTED: Range ignored (200, whole blob) — a warning, the blob still verified", async () => {
    const f = expectBlob(await check(`${lab.host}/norange/app:1.0`), "BLOB_RANGE_UNSUPPORTED", "warning");
    expect(f.detail).toBe(`${lab.host} answered 200 without Content-Range to Range: bytes=0-${img.config.bytes.length - 1}`);
    expect(f.evidence.config.verified).toBe(true);
  });

  test("BLOB_SLOW: a layer served at 200 KiB/s, bounded by --timeout", async () => {
    const t0 = Date.now();
    const f = expectBlob(await check(`${lab.host}/slow/app:1.0`, [], "1.5"), "BLOB_SLOW", "warning");
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(f.evidence.layer.throughput.bytesPerSecond).toBeLessThan(400 * 1024);
    expect(f.detail).toContain("threshold 1.0 MiB/s");
  });

  test("BLOB_DIGEST_MISMATCH: config bytes that do not hash to their digest", async () => {
    const f = expectBlob(await check(`${lab.host}/corrupt/app:1.0`), "BLOB_DIGEST_MISMATCH", "error");
    expect(f.detail).toContain(`expected ${img.config.digest}`);
    expect(f.evidence.config.verified).toBe(false);
  });
});
