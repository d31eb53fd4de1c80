import type { PullClient } from "../model/catalogue/reference";
import { escapeControls } from "../model/escape";
import type { Json } from "../model/evidence";
import type { ImageRef } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import type { StageOutcome } from "../model/stage";
import { isImplicitLatest, parseReference, ReferenceParseError } from "../registry/reference";

/*
 * The reference stage's outcome for one input, apart from the stage (stages/reference.ts):
 * `pulldoctor ref` needs it but none of the clients' readings the stage also makes (ctr's,
 * podman's short names: smol-toml, node:os, node:path and node:fs at its start; docs/performance.md,
 * "Start-up of ref and explain").
 */

/** Pure: the whole stage for one input (also used by `pulldoctor ref`). */
export function referenceOutcome(input: string, client: PullClient | null = null): StageOutcome {
  const raw = rawReferenceOutcome(input, client);
  // Every string in it is the catalogue's words, the parser's, or the input and parts of it
  // (JSON-quoted in an error's summary): an input with nothing to escape leaves nothing to
  // escape, and the copy (its map and fromEntries compiled at `ref`'s start) is skipped.
  return escapeControls(input) === input ? raw : escapeOutcome(raw);
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
    return refusedOutcome(input, e, client);
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
  if (ref.registry !== "localhost" && !/[.:]/.test(ref.registry) && ref.registry.toLowerCase() !== ref.registry) {
    findings.push(capitalHost(input, ref, client));
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

/** A reference Docker refuses: its own function, as the parser's errors are (reference.ts). */
function refusedOutcome(input: string, e: ReferenceParseError, client: PullClient | null): StageOutcome {
  return {
    summary: `${JSON.stringify(input)}: ${e.message}`,
    evidence: { input, error: { kind: e.kind, message: e.message } },
    findings: [classifyReferenceError(input, e, client)],
  };
}

/**
 * "Foo/app": the capitals make Docker's CLI take "Foo" as a registry host (no '.' or ':'
 * needed); a Docker Engine 20.10 refuses the same name (seen with the real daemon). Either
 * way the user almost certainly meant the Docker Hub namespace "foo". Its own function: at
 * bytecode depth 0 a function is compiled whole when first called, and `ref nginx` has no
 * use for these words (docs/performance.md, "Start-up of ref and explain").
 */
function capitalHost(input: string, ref: ImageRef, client: PullClient | null): Finding {
  return finding(
    "REF_UPPERCASE",
    { input, repository: `${ref.registry}/${ref.repository}`, lowered: lowercaseSuggestion(input), client },
    { input, registry: ref.registry },
    {
      severity: "warning",
      note: `(Docker's CLI takes "${ref.registry}" as a registry host because of its capitals, and such a host rarely resolves; Docker Engine 20.10 refuses it: "invalid reference format: repository name must be lowercase".)`,
    },
  );
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
