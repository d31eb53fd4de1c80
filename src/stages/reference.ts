import { ctrReading } from "../clients/ctr-reference";
import { isShortName } from "../clients/short-names";
import type { PullClient } from "../model/catalogue/reference";
import { escapeControls } from "../model/escape";
import type { Json } from "../model/evidence";
import type { ImageRef } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { isImplicitLatest, parseReference, ReferenceParseError } from "../registry/reference";

/**
 * The `reference` stage: the input parses and normalizes exactly as Docker normalizes
 * it (distribution/reference). Nothing is sent on the network.
 */
export const referenceStage: Stage = {
  id: "reference",
  title: "Reference",
  scope: "local",
  needs: [],
  async run(ctx: StageContext): Promise<StageOutcome> {
    // The config stage judges the client later: only a --client that names one is known here.
    const c = ctx.options.client;
    const out = referenceOutcome(ctx.options.image ?? "", c === "auto" || c === "all" ? null : c);
    if (ctx.options.client === "containerd") return ctrOutcome(ctx.options.image ?? "", out);
    // podman resolves a short name itself (config stage): Docker's reading is only what the doctor keeps for the local files.
    if (ctx.options.client === "podman" && out.provides?.ref && isShortName(out.provides.ref.input))
      return { ...out, summary: `${out.summary} for Docker; podman resolves the short name with registries.conf (config stage)` };
    return out;
  },
};

/** Pure: the whole stage for one input (also used by `pulldoctor ref`). */
export function referenceOutcome(input: string, client: PullClient | null = null): StageOutcome {
  return escapeOutcome(rawReferenceOutcome(input, client));
}

/**
 * The outcome's words and evidence with the characters a terminal acts on (C0 but tab and
 * newline, DEL, C1) shown as \xNN: a reference or a local file may carry ESC sequences, and
 * the report goes to terminals and tickets. What the stage provides to later stages is kept.
 */
export function escapeOutcome(o: StageOutcome): StageOutcome {
  const deep = (v: Json | undefined): Json | undefined => {
    if (typeof v === "string") return escapeControls(v);
    if (Array.isArray(v)) return v.map((x) => deep(x) as Json);
    if (v && typeof v === "object") return Object.fromEntries(Object.entries(v).map(([k, x]) => [escapeControls(k), deep(x)]));
    return v;
  };
  return {
    ...o,
    summary: escapeControls(o.summary),
    evidence: deep(o.evidence) as StageOutcome["evidence"],
    findings: o.findings.map((f) => ({
      ...f,
      detail: escapeControls(f.detail),
      fixes: f.fixes.map(escapeControls),
      evidence: deep(f.evidence) as Finding["evidence"],
    })),
  };
}

function rawReferenceOutcome(input: string, client: PullClient | null): StageOutcome {
  let ref: ImageRef;
  try {
    ref = parseReference(input);
  } catch (e) {
    if (!(e instanceof ReferenceParseError)) throw e;
    return {
      summary: `${JSON.stringify(input)}: ${e.message}`,
      evidence: { input, error: { kind: e.kind, message: e.message } },
      findings: [classifyReferenceError(input, e, client)],
    };
  }
  const findings: Finding[] = [];
  const expansion = expansionOf(input, ref);
  const evidence = {
    input,
    registry: ref.registry,
    repository: ref.repository,
    tag: ref.tag,
    digest: ref.digest,
    canonical: ref.canonical,
    familiar: ref.familiar,
    expansion,
    implicitLatest: isImplicitLatest(input, ref),
  };
  // "Foo/app": the capitals make Docker's CLI take "Foo" as a registry host (no '.' or ':'
  // needed); a Docker Engine 20.10 refuses the same name (seen with the real daemon). Either
  // way the user almost certainly meant the Docker Hub namespace "foo".
  if (ref.registry !== "localhost" && !/[.:]/.test(ref.registry) && ref.registry.toLowerCase() !== ref.registry) {
    findings.push(
      finding(
        "REF_UPPERCASE",
        { input, repository: `${ref.registry}/${ref.repository}`, lowered: lowercaseSuggestion(input), client },
        { input, registry: ref.registry },
        {
          severity: "warning",
          note: `(Docker's CLI takes "${ref.registry}" as a registry host because of its capitals, and such a host rarely resolves; Docker Engine 20.10 refuses it: "invalid reference format: repository name must be lowercase".)`,
        },
      ),
    );
  }
  if (evidence.implicitLatest) {
    findings.push(
      finding(
        "REF_IMPLICIT_LATEST",
        { input, canonical: ref.canonical, familiar: ref.familiar, expansion, registry: ref.registry, repository: ref.repository },
        { input, canonical: ref.canonical },
      ),
    );
  }
  return { summary: `${input} → ${ref.canonical}`, evidence, findings, provides: { ref } };
}

/**
 * --client containerd is judged as ctr, which does not normalise (src/clients/ctr-reference.ts): a
 * name without a tag or digest, or with a one-part name and a tag, fails before any request, in
 * ctr's words; a name whose first part is no host is sent to that part as a host. nerdctl and
 * kubelet (which hands CRI the normalised name) read it as Docker does.
 */
export function ctrOutcome(input: string, docker: StageOutcome): StageOutcome {
  const ref = docker.provides?.ref;
  if (!ref) return docker;
  const ctr = ctrReading(input);
  if (ctr.ok) {
    if (ctr.ref.registry === ref.registry && ctr.ref.repository === ref.repository) return docker;
    const summary = `${input} → ${ctr.ref.canonical} as ctr reads it (no normalisation: "${ctr.ref.registry}" is the registry host); Docker and nerdctl read ${ref.canonical}`;
    return escapeOutcome({ ...docker, summary, evidence: { ...docker.evidence, ctr: { ...ctr.ref } }, provides: { ref: ctr.ref } });
  }
  const f = finding(
    "REF_INVALID",
    { input, message: ctr.message, kind: "ctr", hint: "ctr does not normalise a name; nerdctl and kubelet do, as Docker does" },
    { input, client: "containerd (ctr)", message: ctr.message, dockerReads: ref.canonical },
  );
  return escapeOutcome({
    summary: `${input}: ctr refuses it (${ctr.message})`,
    evidence: { ...docker.evidence, ctr: { message: ctr.message, fullName: ref.canonical } },
    findings: [{ ...f, fixes: [`Give ctr the full name with its tag: ctr images pull ${ref.canonical}`, ...f.fixes] }],
  });
}

/** Pure, table-tested: a parse error to its finding. */
export function classifyReferenceError(input: string, e: ReferenceParseError, client: PullClient | null = null): Finding {
  const evidence = { input, kind: e.kind, message: e.message };
  if (e.kind === "uppercase" && e.subject !== null) {
    return finding("REF_UPPERCASE", { input, repository: e.subject, lowered: lowercaseSuggestion(input), client }, evidence);
  }
  return finding("REF_INVALID", { input, message: e.message, kind: e.kind, hint: hintFor(input, e) }, evidence);
}

/** The same reference with the repository part lower-cased (host and tag kept). */
export function lowercaseSuggestion(input: string): string {
  const at = input.indexOf("@");
  const digest = at >= 0 ? input.slice(at) : "";
  const before = at >= 0 ? input.slice(0, at) : input;
  const slash = before.indexOf("/");
  const first = slash >= 0 ? before.slice(0, slash) : "";
  // A real host (with '.' or ':', or localhost) keeps its case; an upper-case first
  // component is a namespace the user meant, so it is lower-cased with the rest.
  const keepHost = slash >= 0 && (/[.:]/.test(first) || first === "localhost");
  const host = keepHost ? `${first}/` : "";
  const rest = keepHost ? before.slice(slash + 1) : before;
  const colon = rest.lastIndexOf(":");
  const name = colon >= 0 ? rest.slice(0, colon) : rest;
  const tag = colon >= 0 ? rest.slice(colon) : "";
  return `${host}${name.toLowerCase()}${tag}${digest}`;
}

function hintFor(input: string, e: ReferenceParseError): string | null {
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(input)) return "an image reference has no URL scheme";
  if (e.kind === "empty") return "no image name given";
  if (/\s/.test(input)) return "whitespace is not allowed";
  if (/\/$/.test(input)) return "trailing '/'";
  if (/\/\//.test(input)) return "empty path component '//'";
  const colon = input.lastIndexOf(":");
  if (colon >= 0 && !input.slice(colon).includes("/")) {
    const tag = input.slice(colon + 1).split("@")[0]!;
    if (tag.length > 128) return `tag is ${tag.length} characters; the limit is 128`;
    if (tag === "") return "empty tag after ':'";
    if (!/^[\w][\w.-]*$/.test(tag)) return `tag ${JSON.stringify(tag)} has characters outside [A-Za-z0-9_.-] or starts with '.' or '-'`;
  }
  return null;
}

/** How a short name expanded, in words (docker.io, library/). */
function expansionOf(input: string, ref: ImageRef): string | null {
  if (ref.registry !== "docker.io") return null;
  const first = input.split("/")[0]!;
  const hostGiven = input.includes("/") && (first === "docker.io" || first === "index.docker.io");
  const notes: string[] = [];
  if (!hostGiven) notes.push("no registry host given, so Docker Hub (docker.io, served by registry-1.docker.io)");
  if (first === "index.docker.io" && input.includes("/")) notes.push("index.docker.io is Docker Hub's legacy name for docker.io");
  if (ref.repository.startsWith("library/") && !input.includes("library/"))
    notes.push("a one-part Docker Hub name is an official image under library/");
  return notes.length ? notes.join("; ") : null;
}
