import { API_HEADER, type Fault, rateLimitHeaders, sendError, serveBlob } from "./faults";
import { answerManifestFault, isProtocolFault, type ProtocolFault } from "./faults-protocol";
import { type BuiltImage, type BuiltIndex, MT } from "./image";
import type { TokenAuthority } from "./token";
import { tagsPage, type WireRequest, type WireResponse } from "./wire";

export interface StoredManifest {
  bytes: Uint8Array;
  mediaType: string;
  digest: string;
}

/** One repository of the lab: its tags, manifests, blobs and faults. */
export interface Repo {
  tags: Map<string, string>;
  manifests: Map<string, StoredManifest>;
  blobs: Map<string, Uint8Array>;
  faults: Fault[];
  protocol: ProtocolFault[];
}

const DIGEST_RE = /^sha256:[a-f0-9]{64}$/;

/**
 * A manifest GET/HEAD as distribution answers it: the rate limit first, then the tag or
 * digest, Accept negotiation, and a tampered body when the repository has that fault.
 */
export function serveManifest(req: WireRequest, res: WireResponse, ref: string, repo: Repo | undefined) {
  const rl = repo?.faults.find((f) => f.kind === "rate-limited") as Extract<Fault, { kind: "rate-limited" }> | undefined;
  const rlHeaders = rl ? rateLimitHeaders(rl, req.remoteAddress.replace(/^::ffff:/, "")) : {};
  if (rl && (rl.remaining ?? 0) <= 0) {
    return sendError(
      res,
      429,
      "TOOMANYREQUESTS",
      "You have reached your unauthenticated pull rate limit. https://www.docker.com/increase-rate-limit",
      undefined,
      {
        ...rlHeaders,
        "Retry-After": "3600",
      },
    );
  }
  const digest = DIGEST_RE.test(ref) ? ref : repo?.tags.get(ref);
  let man = digest ? repo?.manifests.get(digest) : undefined;
  if (!man)
    return sendError(res, 404, "MANIFEST_UNKNOWN", "manifest unknown", DIGEST_RE.test(ref) ? { Digest: ref } : { Tag: ref }, rlHeaders);
  // Accept negotiation as distribution does (registry/handlers/manifests.go): OCI
  // content needs an OCI Accept; a Docker list without list support falls back to
  // the linux/amd64 image; no Accept at all is treated as accepting everything here.
  const accepts = (req.headers.accept ?? "")
    .split(",")
    .map((s) => s.split(";")[0]!.trim())
    .filter(Boolean);
  const ok = (t: string) => accepts.length === 0 || accepts.includes(t) || accepts.includes("*/*");
  if (!ok(man.mediaType)) {
    if (man.mediaType === MT.dockerList) {
      const list = JSON.parse(new TextDecoder().decode(man.bytes)) as {
        manifests: { digest: string; platform?: { os: string; architecture: string } }[];
      };
      const amd = list.manifests.find((d) => d.platform?.os === "linux" && d.platform.architecture === "amd64");
      const child = amd ? repo!.manifests.get(amd.digest) : undefined;
      if (!child) return sendError(res, 404, "MANIFEST_UNKNOWN", "manifest unknown", { Tag: ref });
      man = child;
    } else if (man.mediaType === MT.ociIndex || man.mediaType === MT.ociManifest) {
      const what =
        man.mediaType === MT.ociIndex
          ? "OCI index found, but accept header does not support OCI indexes"
          : "OCI manifest found, but accept header does not support OCI manifests";
      return sendError(res, 404, "MANIFEST_UNKNOWN", what, undefined, rlHeaders);
    }
  }
  const tampered = repo!.faults.some((f) => f.kind === "digest-mismatch");
  // A tampering proxy or a corrupt store: the header names one digest, the bytes hash to another.
  const served = tampered
    ? new TextEncoder().encode(new TextDecoder().decode(man.bytes).replace('schemaVersion":2', 'schemaVersion": 2'))
    : man.bytes;
  res.send(
    200,
    { ...API_HEADER, ...rlHeaders, "Content-Type": man.mediaType, "Docker-Content-Digest": man.digest, Etag: `"${man.digest}"` },
    served,
  );
}

/** What the repository routes need of the lab: its repositories, its token authority and its faults. */
export interface RepoRoutes {
  repos: Map<string, Repo>;
  tokens: TokenAuthority;
  challenge: (scope?: string, error?: string) => string;
  authFault: (name: string) => Extract<Fault, { kind: "auth-required" }> | undefined;
  /** drop-connection faults' state across requests. */
  counters: Map<Fault, number>;
  /** The protocol faults that apply to this request. */
  faults: ProtocolFault[];
}

/** /v2/<name>/(manifests|blobs|tags)/<ref>: the token check, then tags, blobs or the manifest. */
export function serveRepository(req: WireRequest, res: WireResponse, x: RepoRoutes) {
  const m = /^\/v2\/(.+)\/(manifests|blobs|tags)\/(.+)$/.exec(req.path);
  if (!m) return sendError(res, 404, "UNSUPPORTED", "The operation is unsupported.");
  const [, name, kind, rest] = m as unknown as [string, string, string, string];
  if (req.method !== "GET" && req.method !== "HEAD") return sendError(res, 405, "UNSUPPORTED", "The operation is unsupported.");
  const repo = x.repos.get(name);
  const scope = `repository:${name}:pull`;
  if (x.authFault(name) && !x.tokens.granted(req.headers.authorization).has(name)) {
    return sendError(res, 401, "UNAUTHORIZED", "authentication required", [{ Type: "repository", Class: "", Name: name, Action: "pull" }], {
      "WWW-Authenticate": x.challenge(scope, req.headers.authorization ? "insufficient_scope" : undefined),
    });
  }
  if (kind === "tags") {
    if (rest !== "list") return sendError(res, 404, "UNSUPPORTED", "The operation is unsupported.");
    if (!repo || repo.tags.size === 0) return sendError(res, 404, "NAME_UNKNOWN", "repository name not known to registry", { name });
    // Paged as the distribution spec describes (?n=, ?last=, a Link to the next page).
    const page = tagsPage([...repo.tags.keys()].sort(), req.query, req.path);
    return res.send(
      200,
      { ...API_HEADER, "Content-Type": "application/json; charset=utf-8", ...page.headers },
      JSON.stringify({ name, tags: page.tags }),
    );
  }
  if (kind === "blobs") {
    const bytes = repo?.blobs.get(rest);
    if (!repo || !bytes) return sendError(res, 404, "BLOB_UNKNOWN", "blob unknown to registry", rest);
    return serveBlob(req, res, { digest: rest, bytes }, repo.faults, x.counters);
  }
  if (repo && answerManifestFault(req, res, x.faults, API_HEADER, [...repo.blobs.keys()][0] ?? `sha256:${"0".repeat(64)}`)) return;
  return serveManifest(req, res, rest, repo);
}

/** An image (or an index and its images) stored under a tag, with the repository's faults added. */
export function storeImage(repo: Repo, tag: string, image: BuiltImage | BuiltIndex, faults: readonly (Fault | ProtocolFault)[]): void {
  const put = (im: BuiltImage) => {
    repo.manifests.set(im.digest, { bytes: im.manifest, mediaType: im.mediaType, digest: im.digest });
    repo.blobs.set(im.config.digest, im.config.bytes);
    for (const l of im.layers) repo.blobs.set(l.digest, l.bytes);
  };
  if ("images" in image) {
    for (const im of image.images) put(im);
    repo.manifests.set(image.digest, { bytes: image.manifest, mediaType: image.mediaType, digest: image.digest });
  } else put(image);
  repo.tags.set(tag, image.digest);
  for (const f of faults) {
    if (isProtocolFault(f)) repo.protocol.push(f);
    else repo.faults.push(f);
  }
}
