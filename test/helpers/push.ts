import type { BuiltImage, BuiltIndex } from "../../src/lab/image";

export interface PushAuth {
  /** A ready Authorization header value ("Basic …" or "Bearer …"). */
  authorization: string;
}

/**
 * Push an image (or an index with its images) to a registry with the distribution API:
 * monolithic blob uploads (POST then PUT ?digest=), then the manifest PUT. Plain fetch,
 * no pulldoctor code, so the registry's content never depends on the code under test.
 */
export async function pushImage(
  baseUrl: string,
  repo: string,
  tag: string,
  image: BuiltImage | BuiltIndex,
  auth?: PushAuth,
): Promise<void> {
  const headers: Record<string, string> = auth ? { Authorization: auth.authorization } : {};
  const tls = { rejectUnauthorized: false };
  const images = "images" in image ? image.images : [image];
  for (const im of images) {
    for (const blob of [im.config, ...im.layers]) await pushBlob(baseUrl, repo, blob.digest, blob.bytes, headers, tls);
    if ("images" in image) await putManifest(baseUrl, repo, im.digest, im.mediaType, im.manifest, headers, tls);
  }
  await putManifest(baseUrl, repo, tag, image.mediaType, image.manifest, headers, tls);
}

export async function pushBlob(
  baseUrl: string,
  repo: string,
  digest: string,
  bytes: Uint8Array,
  headers: Record<string, string>,
  tls = { rejectUnauthorized: false },
): Promise<void> {
  const head = await fetch(`${baseUrl}/v2/${repo}/blobs/${digest}`, { method: "HEAD", headers, tls });
  if (head.status === 200) return;
  const start = await fetch(`${baseUrl}/v2/${repo}/blobs/uploads/`, { method: "POST", headers, tls });
  if (start.status !== 202) throw new Error(`blob upload start: ${start.status} ${await start.text()}`);
  const loc = new URL(start.headers.get("location")!, baseUrl);
  loc.searchParams.set("digest", digest);
  const put = await fetch(loc, {
    method: "PUT",
    headers: { ...headers, "Content-Type": "application/octet-stream", "Content-Length": String(bytes.length) },
    body: bytes,
    tls,
  });
  if (put.status !== 201) throw new Error(`blob upload ${digest}: ${put.status} ${await put.text()}`);
}

export async function putManifest(
  baseUrl: string,
  repo: string,
  ref: string,
  mediaType: string,
  bytes: Uint8Array,
  headers: Record<string, string>,
  tls = { rejectUnauthorized: false },
): Promise<void> {
  const res = await fetch(`${baseUrl}/v2/${repo}/manifests/${ref}`, {
    method: "PUT",
    headers: { ...headers, "Content-Type": mediaType },
    body: bytes,
    tls,
  });
  if (res.status !== 201) throw new Error(`manifest put ${repo}:${ref}: ${res.status} ${await res.text()}`);
}
