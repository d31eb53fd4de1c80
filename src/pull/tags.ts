import { sameOrigin } from "../net/origin";
import { tagsUrl } from "../registry/manifest";
import { requestInit, requestUrl } from "./request";
import type { BlobSource } from "./source";
import { openWithFetch } from "./transport";

/** A repository's tag list is small; these only bound a hostile registry. */
const MAX_PAGES = 10_000;
const MAX_PAGE_BYTES = 4 * 1024 * 1024;

export type TagsAnswer = { ok: true; tags: string[]; pages: number; urls: string[] } | { ok: false; error: string; urls: string[] };

/**
 * Every tag of the repository, as `docker pull --all-tags` lists them: GET /v2/NAME/tags/list,
 * then each page the `Link: <…>; rel="next"` header names (distribution's spec, "Listing Image
 * Tags"; docker/distribution registry/client/repository.go, tags.All, follows it the same
 * way). `pageSize` asks for `?n=` per page (the registry's default page when null).
 */
export async function listAllTags(src: BlobSource, signal: AbortSignal, pageSize: number | null = null): Promise<TagsAnswer> {
  const tags: string[] = [];
  const urls: string[] = [];
  let url: string | null = tagsUrl(src.baseUrl, src.repository) + (pageSize ? `?n=${pageSize}` : "");
  for (let page = 0; url !== null; page++) {
    if (page >= MAX_PAGES) return { ok: false, error: `more than ${MAX_PAGES} pages of tags (the Link headers may loop)`, urls };
    urls.push(url);
    const r = await getPage(src, url, signal);
    if ("error" in r) return { ok: false, error: r.error, urls };
    tags.push(...r.tags);
    url = r.next;
  }
  return { ok: true, tags: [...new Set(tags)], pages: urls.length, urls };
}

async function getPage(
  src: BlobSource,
  url: string,
  signal: AbortSignal,
): Promise<{ tags: string[]; next: string | null } | { error: string }> {
  const u = new URL(url);
  const headers: Record<string, string> = { Accept: "application/json" };
  try {
    const auth = src.session ? await src.session.authorize() : null;
    if (auth) headers.Authorization = auth.reveal();
    const res = await openWithFetch(requestUrl(u, src, true, headers), { headers, signal, init: requestInit(u, src), tls: null });
    const text = await res.text();
    if (res.status !== 200) return { error: `GET ${u.pathname}${u.search} answered ${res.status}: ${text.slice(0, 200)}` };
    if (text.length > MAX_PAGE_BYTES) return { error: `GET ${u.pathname} answered more than ${MAX_PAGE_BYTES} bytes` };
    const body = JSON.parse(text) as { tags?: unknown };
    // distribution answers "tags": null for a repository without tags.
    const list = Array.isArray(body.tags) ? body.tags.filter((t): t is string => typeof t === "string") : [];
    return { tags: list, next: nextLink(res.header("link"), url) };
  } catch (e) {
    return { error: `GET ${u.pathname}${u.search}: ${e instanceof Error ? e.message : String(e)}` };
  }
}

/** RFC 8288's `<URI>; rel="next"`, resolved against the page it came with; only on the registry's own origin. */
export function nextLink(header: string | null, base: string): string | null {
  if (!header) return null;
  for (const part of header.split(",")) {
    const m = /^\s*<([^>]*)>\s*;(.*)$/.exec(part);
    if (!m || !/(^|;)\s*rel\s*=\s*"?next"?\s*(;|$)/i.test(m[2]!)) continue;
    const next = new URL(m[1]!, base);
    return sameOrigin(next, base) ? next.toString() : null;
  }
  return null;
}
