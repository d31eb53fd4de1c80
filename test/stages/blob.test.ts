import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { buildImage, noise } from "../../src/lab/image";
import type { AuthSession, ResolvedManifest } from "../../src/model/facts";
import { Secret } from "../../src/model/secret";
import { blobStage } from "../../src/stages/blob";
import { pushImage } from "../helpers/push";
import { type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort } from "../peers/require";
import { loopbackRef, stageCtx } from "./manifest-facts";

/** A 640 KiB layer of noise (large enough to time) and a tiny one. */
const img = buildImage({
  label: "blob",
  layers: [[{ name: "big.bin", content: noise(640 * 1024, 7) }], [{ name: "small.txt", content: "small\n" }]],
});
const broken = buildImage({ label: "broken-blob" });

function resolved(im = img): ResolvedManifest {
  return {
    digest: im.digest,
    mediaType: im.mediaType,
    index: null,
    image: {
      digest: im.digest,
      mediaType: im.mediaType,
      size: im.manifest.length,
      raw: im.manifest,
      config: { mediaType: im.config.mediaType, digest: im.config.digest, size: im.config.bytes.length },
      layers: im.layers.map((l) => ({ mediaType: l.mediaType, digest: l.digest, size: l.bytes.length })),
    },
    platform: "linux/amd64",
  };
}

const TOKEN = "Bearer blob-stage-secret-token";
const tokenSession: AuthSession = { scheme: "bearer", authorize: async () => new Secret(TOKEN), invalidate() {} };

let reg: RegistryPeer;
let nginx: NginxPeer;
let cdn: ReturnType<typeof Bun.serve>;
const cdnSaw: { authorization: string | null; range: string | null }[] = [];
const ports = { redirectOk: 0, redirectDead: 0, redirectNoName: 0, loop: 0, err500: 0 };
let dnsPort = 0;
let dns: import("node:dgram").Socket;

/** A DNS server that answers NXDOMAIN to everything (a filtering resolver that does not know the CDN). */
async function startNxdomainDns(): Promise<number> {
  const dgram = await import("node:dgram");
  dns = dgram.createSocket("udp4");
  dns.on("message", (q, rinfo) => {
    let off = 12;
    while (off < q.length && q[off] !== 0) off += q[off]! + 1;
    const r = Buffer.from(q.subarray(0, off + 5));
    r[2] = 0x81; // QR, RD
    r[3] = 0x83; // RA, RCODE=3 NXDOMAIN
    r.writeUInt16BE(1, 4);
    r.writeUInt32BE(0, 6);
    r.writeUInt16BE(0, 10);
    dns.send(r, rinfo.port, rinfo.address);
  });
  await new Promise<void>((res) => dns.bind(0, "127.0.0.1", () => res()));
  return dns.address().port;
}

beforeAll(async () => {
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", img);
  await pushImage(reg.url, "gone/app", "1.0", broken);
  // A garbage-collected layer: the manifest still names it, the registry lost it.
  const del = await fetch(`${reg.url}/v2/gone/app/blobs/${broken.layers[0]!.digest}`, { method: "DELETE" });
  if (del.status !== 202) throw new Error(`blob delete: ${del.status}`);
  // The "CDN": records what it was sent and serves the registry's bytes.
  // On another loopback address: another host, as a CDN is.
  cdn = Bun.serve({
    port: 0,
    hostname: "127.0.0.2",
    fetch(req) {
      cdnSaw.push({ authorization: req.headers.get("authorization"), range: req.headers.get("range") });
      const path = new URL(req.url).pathname;
      return fetch(`${reg.url}${path}`, { headers: { range: req.headers.get("range") ?? "" } });
    },
  });
  for (const k of Object.keys(ports) as (keyof typeof ports)[]) ports[k] = await freePort();
  dnsPort = await startNxdomainDns();
  const rest = `location / { proxy_pass http://127.0.0.1:${reg.port}; }`;
  nginx = await startNginx({
    httpBlock: `
  server { listen 127.0.0.1:${ports.redirectOk};   location ~ ^/v2/.+/blobs/ { return 307 http://127.0.0.2:${cdn.port}$request_uri?X-Amz-Signature=cdn-signature-secret; } ${rest} }
  server { listen 127.0.0.1:${ports.redirectDead}; location ~ ^/v2/.+/blobs/ { return 307 http://127.0.0.9:9$request_uri; } ${rest} }
  server { listen 127.0.0.1:${ports.redirectNoName}; location ~ ^/v2/.+/blobs/ { return 307 https://cdn.pd.invalid$request_uri; } ${rest} }
  server { listen 127.0.0.1:${ports.loop};         location ~ ^/v2/.+/blobs/ { return 302 $request_uri; } ${rest} }
  server { listen 127.0.0.1:${ports.err500};       location ~ ^/v2/.+/blobs/ { return 500; } ${rest} }`,
  });
});
afterAll(async () => {
  await nginx?.stop();
  cdn?.stop(true);
  dns?.close();
  await reg?.stop();
});

const run = (base: string, repo = "team/app", o: Parameters<typeof stageCtx>[2] = {}, im = img) =>
  blobStage.run(stageCtx(base, loopbackRef(new URL(base).host, repo, "1.0"), { ...o, facts: { manifest: resolved(im), ...o.facts } }));
const front = (p: number) => `http://127.0.0.1:${p}`;

describe("blob stage against a real docker-registry", () => {
  test("healthy: 206 with Content-Range for the config, whole config verified, the big layer timed and verified", async () => {
    const out = await run(reg.url);
    expect(out.findings).toEqual([]);
    const c = out.evidence.config as any;
    expect(c.status).toBe(206);
    expect(c.range).toBe(`bytes=0-${img.config.bytes.length - 1}`);
    expect(c.contentRange).toBe(`bytes 0-${img.config.bytes.length - 1}/${img.config.bytes.length}`);
    expect(c.verified).toBe(true);
    const l = out.evidence.layer as any;
    expect(l.digest).toBe(img.layers[0]!.digest);
    expect(l.bytesRead).toBe(img.layers[0]!.bytes.length);
    expect(l.verified).toBe(true);
    expect(l.throughput.bytesPerSecond).toBeGreaterThan(1024 * 1024);
  });

  test("a layer the registry lost → BLOB_UNKNOWN", async () => {
    const out = await run(reg.url, "gone/app", {}, broken);
    expect(out.findings.map((f) => f.code)).toEqual(["BLOB_UNKNOWN"]);
    expect(out.findings[0]!.detail).toContain(`the layer blob ${broken.layers[0]!.digest} is missing`);
    expect((out.evidence.layer as any).errors[0].code).toBe("BLOB_UNKNOWN");
  });
});

describe("blob redirects (nginx in front of the registry)", () => {
  test("redirect to a reachable CDN: followed hop by hop, Authorization never sent to the CDN, signature redacted", async () => {
    cdnSaw.length = 0;
    const out = await run(front(ports.redirectOk), "team/app", { facts: { session: tokenSession } });
    expect(out.findings).toEqual([]);
    const hops = (out.evidence.config as any).hops;
    expect(hops.map((h: any) => [h.status, h.authorization])).toEqual([
      [307, true],
      [206, false],
    ]);
    expect(hops[1].tcp[0]).toMatchObject({ address: "127.0.0.2", ok: true });
    expect(cdnSaw.length).toBeGreaterThan(0);
    expect(cdnSaw.every((s) => s.authorization === null)).toBe(true);
    expect(JSON.stringify(out.evidence)).not.toContain("cdn-signature-secret");
    expect(JSON.stringify(out.evidence)).not.toContain("blob-stage-secret-token");
  });

  test("redirect to a blocked host → BLOB_REDIRECT_UNREACHABLE naming the host and Docker's dial error", async () => {
    const out = await run(front(ports.redirectDead));
    expect(out.findings.map((f) => f.code)).toEqual(["BLOB_REDIRECT_UNREACHABLE"]);
    const f = out.findings[0]!;
    expect(f.detail).toBe(
      `127.0.0.1:${ports.redirectDead} redirects blobs to 127.0.0.9:9, which fails at connect: dial tcp 127.0.0.9:9: connect: connection refused`,
    );
    // The redirect goes to http://127.0.0.9:9: the firewall rule is for HTTP, not HTTPS.
    expect(f.fixes[0]).toBe("Allow outbound HTTP to 127.0.0.9:9 (resolved to 127.0.0.9) in the firewall / security group.");
    expect(f.fixes[1]).toContain('Environment="HTTP_PROXY=…"');
    const hops = (f.evidence.config as any).hops;
    expect(hops[0].status).toBe(307);
    expect(hops[1].tcp[0].error.kind).toBe("refused");
  });

  test("redirect to a host DNS does not know → BLOB_REDIRECT_UNREACHABLE at dns, with the resolver's answer", async () => {
    const out = await run(front(ports.redirectNoName), "team/app", { options: { dns: [`127.0.0.1:${dnsPort}`] } });
    expect(out.findings.map((f) => f.code)).toEqual(["BLOB_REDIRECT_UNREACHABLE"]);
    const f = out.findings[0]!;
    expect(f.detail).toBe(
      `127.0.0.1:${ports.redirectNoName} redirects blobs to cdn.pd.invalid, which fails at DNS: dial tcp: lookup cdn.pd.invalid on 127.0.0.1:${dnsPort}: no such host`,
    );
    expect(f.fixes[0]).toContain("getent hosts cdn.pd.invalid");
    const dnsEv = (f.evidence.config as any).hops[1].dns;
    expect(dnsEv.outcome).toBe("nxdomain");
    expect(dnsEv.queries.some((q: any) => q.server === `127.0.0.1:${dnsPort}` && q.rcode === "NXDOMAIN")).toBe(true);
  });

  test("a redirect loop → BLOB_REDIRECT_LOOP, never a hang", async () => {
    const out = await run(front(ports.loop));
    expect(out.findings.map((f) => f.code)).toEqual(["BLOB_REDIRECT_LOOP"]);
    expect(out.findings[0]!.detail).toStartWith("redirect loop: ");
  });

  test("500 on blobs → BLOB_FETCH_FAILED", async () => {
    const out = await run(front(ports.err500));
    expect(out.findings.map((f) => f.code)).toEqual(["BLOB_FETCH_FAILED"]);
    expect(out.findings[0]!.detail).toContain("HTTP 500");
  });
});
