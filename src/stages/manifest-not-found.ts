import type { Evidence } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import type { Secret } from "../model/secret";
import type { StageContext, StageOutcome } from "../model/stage";
import { type HttpClient, type HttpResponse, NetError } from "../registry/http";
import { tagsUrl } from "../registry/manifest";
import { classifyTagsList, exchangeEvidence } from "../registry/manifest-classify";
import { closestTags, tagsToName } from "../registry/manifest-tags";

/** A request's answer, or the transport failure (the only error we turn into a finding). */
export type Attempt = { ok: true; res: HttpResponse } | { ok: false; error: NetError };

/** One request; a NetError comes back as a value, anything else thrown is a bug. */
export async function attempt(client: HttpClient, init: Parameters<HttpClient["request"]>[0]): Promise<Attempt> {
  try {
    return { ok: true, res: await client.request(init) };
  } catch (e) {
    if (e instanceof NetError) return { ok: false, error: e };
    throw e;
  }
}

/** 404 on the manifest: ask tags/list whether the repository exists, and which tags are close. */
export async function notFound(
  client: HttpClient,
  ctx: StageContext,
  img: { image: string; registry: string; repository: string; reference: string; baseUrl?: string },
  authorization: Secret | null,
  evidence: Evidence,
  findings: Finding[],
  code: "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | null,
): Promise<StageOutcome> {
  const link = ctx.facts.link!;
  const u = tagsUrl(link.baseUrl, img.repository);
  const a = await attempt(client, { method: "GET", url: u, authorization, maxBodyBytes: 1024 * 1024 });
  const answer = a.ok
    ? classifyTagsList(a.res.status, a.res.body, a.res.headers["content-type"])
    : ({ kind: "unavailable", status: null } as const);
  evidence.tagsList = a.ok
    ? { ...exchangeEvidence("GET", a.res), answer: answer.kind, tagCount: answer.kind === "listed" ? answer.tags.length : null }
    : { url: u, error: a.error.toEvidence() };
  if (answer.kind === "no-repository" || (answer.kind === "unavailable" && code === "NAME_UNKNOWN")) {
    findings.push(finding("NAME_UNKNOWN", img, evidence));
    return { summary: `repository ${img.repository} does not exist`, evidence, findings };
  }
  const tags = answer.kind === "listed" ? answer.tags : [];
  const near = answer.kind === "listed" && !img.reference.includes(":") ? closestTags(img.reference, tags) : [];
  evidence.closestTags = near;
  // The common case is `latest` missing while versions exist: name them (the newest when there are many).
  const named = tagsToName(tags);
  evidence.tags = named;
  const listed = answer.kind === "listed";
  findings.push(
    finding(
      "MANIFEST_UNKNOWN",
      { ...img, closestTags: near, tags: named, tagsListed: listed, tagCount: listed ? tags.length : null },
      evidence,
    ),
  );
  return { summary: `manifest ${img.reference} not found${near.length ? `; closest tags: ${near.join(", ")}` : ""}`, evidence, findings };
}
