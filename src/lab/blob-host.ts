import { type Fault, serveBlob } from "./faults";
import type { Blob } from "./image";
import { LAB_CERT_PEM, LAB_KEY_PEM } from "./tls-material";
import { startWire } from "./wire";

/**
 * A second host for blobs, as a CDN or object store is: serves GET …/blobs/DIGEST (any
 * prefix, any query: a pre-signed URL's signature is ignored) with Range, applying `faults`
 * (e.g. silent-blob: accepts and never answers). It records every request's headers, so a
 * test can assert what reached it — above all, that no Authorization ever did.
 */
export interface BlobHost {
  /** http(s)://127.0.0.1:PORT */
  url: string;
  host: string;
  /** Every request, oldest first; header names lower-case. */
  requests: { method: string; path: string; headers: Record<string, string> }[];
  stop(): Promise<void>;
}

export async function startBlobHost(blobs: readonly Blob[], opts: { faults?: Fault[]; tls?: boolean } = {}): Promise<BlobHost> {
  const byDigest = new Map(blobs.map((b) => [b.digest, b.bytes]));
  const counters = new Map<Fault, number>();
  const requests: BlobHost["requests"] = [];
  const wire = await startWire(
    "127.0.0.1",
    0,
    (req, res) => {
      requests.push({ method: req.method, path: req.path, headers: { ...req.headers } });
      const m = /\/blobs\/([a-z0-9]+:[a-f0-9]+)$/.exec(req.path);
      const bytes = m ? byDigest.get(m[1]!) : undefined;
      if (!m || !bytes) return res.send(404, { "Content-Type": "text/plain" }, "no such object\n");
      serveBlob(req, res, { digest: m[1]!, bytes }, opts.faults ?? [], counters);
    },
    opts.tls ? { key: LAB_KEY_PEM, cert: LAB_CERT_PEM } : undefined,
  );
  const url = `${opts.tls ? "https" : "http"}://127.0.0.1:${wire.port}`;
  return { url, host: `127.0.0.1:${wire.port}`, requests, stop: () => wire.close() };
}
