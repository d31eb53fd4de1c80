/**
 * A registry laid out as Docker Hub is, on loopback, for the check's benchmark: the registry
 * behind a front that redirects every blob GET to a CDN on another port (with a signed-looking
 * query), a token realm on a third port, all three over TLS 1.3 and each behind its own relay.
 * The registry is a real docker-registry with token auth; the token server is the tests' own;
 * the front and the CDN are small Bun servers in the benchmark's process.
 */
import { blobResponse } from "../test/peers/recorder";
import { type RegistryPeer, startRegistry } from "../test/peers/registry";
import { startTokenServer, type TokenServer } from "../test/peers/token-server";

export interface HubLike {
  /** host:port of the front's relay: what the image reference names. */
  host: string;
  stop(): Promise<void>;
}

type Relay = (port: number) => { host: string; stop(): void };
type Pem = { cert: string; key: string; certFile: string; keyFile: string };
/** The image pushed: its manifest, and every blob by digest (what the CDN serves). */
export type PushImage = (reg: RegistryPeer, headers: Record<string, string>) => Promise<Map<string, Uint8Array>>;

export async function startHubLike(leaf: Pem, relay: Relay, push: PushImage): Promise<HubLike> {
  const tls = { cert: leaf.cert, key: leaf.key };
  const token: TokenServer = await startTokenServer({ tls, grants: { "": { "bench/img": ["pull"] } } });
  const realm = relay(Number(new URL(token.url).port));
  const reg = await startRegistry({
    tls: { certificate: leaf.certFile, key: leaf.keyFile },
    token: { realm: `https://${realm.host}/token`, service: token.service, issuer: token.issuer, rootCertBundle: token.rootCertBundle },
  });
  const pushToken = token.issue("bench", [{ type: "repository", name: "bench/img", actions: ["pull", "push"] }]);
  const blobs = await push(reg, { Authorization: `Bearer ${pushToken}` });
  const cdn = Bun.serve({ hostname: "127.0.0.1", port: 0, tls, fetch: (req) => serveBlob(req, blobs) });
  const cdnRelay = relay(cdn.port as number);
  const front = Bun.serve({
    hostname: "127.0.0.1",
    port: 0,
    tls,
    async fetch(req) {
      const u = new URL(req.url);
      const digest = /^\/v2\/.+\/blobs\/(sha256:[0-9a-f]{64})$/.exec(u.pathname)?.[1];
      if (digest && req.method === "GET")
        return new Response(null, { status: 307, headers: { location: `https://${cdnRelay.host}/blobs/${digest}?X-Amz-Signature=bench` } });
      const headers = new Headers(req.headers);
      headers.delete("host");
      const r = await fetch(`${reg.url}${u.pathname}${u.search}`, {
        method: req.method,
        headers,
        redirect: "manual",
        tls: { rejectUnauthorized: false },
      });
      return new Response(req.method === "HEAD" ? null : r.body, { status: r.status, headers: r.headers });
    },
  });
  const frontRelay = relay(front.port as number);
  return {
    host: frontRelay.host,
    async stop() {
      for (const r of [frontRelay, cdnRelay, realm]) r.stop();
      front.stop(true);
      cdn.stop(true);
      await reg.stop();
      await token.stop();
    },
  };
}

/** A blob by digest, with a Range answered as 206 as a CDN does. */
function serveBlob(req: Request, blobs: Map<string, Uint8Array>): Response {
  const blob = blobs.get(new URL(req.url).pathname.replace(/^\/blobs\//, ""));
  return blob ? blobResponse(req, blob) : new Response("not found", { status: 404 });
}
