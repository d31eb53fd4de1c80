import type { EgressEntry, NodeReport } from "./reports";

/**
 * One node's reports as one: a node checked once per image (one Job per image, `fleet run
 * --image` twice) sends a report per image, and each is its own evidence. Per image the newest
 * report stands (a rerun of the same image replaces the older one); the node is as bad as its
 * worst image. Reports of different images never replace each other.
 */
export function mergeNode(rs: readonly NodeReport[]): { report: NodeReport; replaced: number } {
  const newestFirst = [...rs].sort((a, b) => Date.parse(b.createdAt) - Date.parse(a.createdAt));
  const taken = new Set<string>();
  const kept: { r: NodeReport; images: Set<string> }[] = [];
  let replaced = 0;
  for (const r of newestFirst) {
    const images = new Set(r.judged.map((j) => j.image).filter((i) => !taken.has(i)));
    replaced += r.judged.filter((j) => !images.has(j.image)).length;
    // A report that judged no image at all (a report without input) stands for the node as before: once.
    if (r.judged.length === 0) {
      if (taken.has("")) replaced++;
      else kept.push({ r, images: new Set([""]) });
      taken.add("");
      continue;
    }
    for (const i of images) taken.add(i);
    if (images.size > 0) kept.push({ r, images });
  }
  const only = kept[0]!;
  if (kept.length === 1 && only.images.size === Math.max(1, only.r.judged.length)) return { report: only.r, replaced };
  return { report: combine(kept), replaced };
}

function combine(kept: { r: NodeReport; images: Set<string> }[]): NodeReport {
  const newest = kept[0]!.r;
  const several = kept.length > 1;
  // A single report's stages and findings name no image: once several reports share a node, each says its own.
  const own = (r: NodeReport, image: string | null) => image ?? (several && r.judged.length === 1 ? r.judged[0]!.image || null : null);
  const keeps = (k: { r: NodeReport; images: Set<string> }, image: string | null) =>
    image === null ? k.r.judged.length <= 1 : k.images.has(image);
  const judged = kept.flatMap((k) => k.r.judged.filter((j) => k.images.has(j.image)));
  const failing = judged.filter((j) => !j.ok);
  const first = failing[0];
  return {
    ...newest,
    source: kept.map((k) => k.r.source).join(", "),
    schemaVersion: Math.max(...kept.map((k) => k.r.schemaVersion)),
    ok: failing.length === 0,
    code: first?.code ?? null,
    summary:
      judged.length === 1
        ? judged[0]!.summary
        : first
          ? `${failing.length} of ${judged.length} images will not pull (${first.image}: ${first.summary})`
          : `all ${judged.length} images should pull`,
    stages: kept.flatMap((k) => k.r.stages.filter((s) => keeps(k, s.image)).map((s) => ({ ...s, image: own(k.r, s.image) }))),
    findings: kept.flatMap((k) => k.r.findings.filter((f) => keeps(k, f.image)).map((f) => ({ ...f, image: own(k.r, f.image) }))),
    egress: unionEgress(kept.map((k) => k.r.egress)),
    judged,
  };
}

/** A host in several reports' lists: reached if any pull reached it. */
function unionEgress(lists: (EgressEntry[] | null)[]): EgressEntry[] | null {
  if (lists.every((l) => l === null)) return null;
  const out = new Map<string, EgressEntry>();
  for (const e of lists.flatMap((l) => l ?? [])) {
    const key = `${e.host}:${e.port}`;
    const seen = out.get(key);
    out.set(key, seen ? { ...seen, reached: seen.reached || e.reached, observed: seen.observed || e.observed } : e);
  }
  return [...out.values()];
}
