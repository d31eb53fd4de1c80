import type { Deps } from "../../model/deps";
import type { Options } from "../../model/options";
import type { Stage } from "../../model/stage";
import { sourceFrom } from "../../pull/source";
import { listAllTags } from "../../pull/tags";
import { isImplicitLatest, parseReference } from "../../registry/reference";
import { diagnoseRun, type Wanted } from "./many";

type Diagnosed = Awaited<ReturnType<typeof diagnoseRun>>;

export type AllTags =
  | { wanted: Wanted[]; summary: string }
  | { misuse: string }
  | { error: string }
  | { failed: { wanted: Wanted; diagnosed: Diagnosed } };

function typed(image: string): Wanted {
  return { image, platform: null, sources: [], sourceCount: 0, pullSecrets: [], waitingMessage: null, waitingReason: null };
}

/**
 * `pull --all-tags IMAGE`, as `docker pull --all-tags`: IMAGE names a repository (a tag or
 * digest is misuse, docker's words); it is diagnosed once for the session, then every tag of
 * tags/list (all pages) becomes one image to pull. PULLDOCTOR_TAGS_PAGE asks for smaller pages
 * (`?n=`), for tests of the Link pagination.
 */
export async function allTagsWanted(options: Options, deps: Deps, stages: readonly Stage[]): Promise<AllTags> {
  const image = options.image!;
  try {
    if (!isImplicitLatest(image, parseReference(image))) return { misuse: "tag can't be used with --all-tags/-a" };
  } catch {
    // An invalid reference is the reference stage's finding, as for any other pull.
  }
  const d = await diagnoseRun(options, image, null, deps, stages);
  // The repository's `latest` may be missing while other tags exist: any endpoint that got as far as a session will do.
  const ep = d.run.chosen ?? d.run.endpoints.find((e) => e.facts.session && e.facts.link);
  const src = ep ? sourceFrom(ep.endpoint, ep.facts) : null;
  if (!src) return { failed: { wanted: typed(image), diagnosed: d } };
  const page = Number(deps.env.PULLDOCTOR_TAGS_PAGE);
  const r = await listAllTags(src, deps.signal, Number.isInteger(page) && page > 0 ? page : null);
  if (!r.ok) return { error: `listing the tags of ${src.repository} at ${src.baseUrl}: ${r.error}` };
  if (r.tags.length === 0) return { error: `${src.repository} at ${src.baseUrl} has no tags` };
  return {
    wanted: r.tags.map((t) => typed(`${image}:${t}`)),
    summary: `${r.tags.length} tags of ${src.repository} (${r.pages} page${r.pages === 1 ? "" : "s"} of tags/list)`,
  };
}
