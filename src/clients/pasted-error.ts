import { catalogueEntry, type FindingCode } from "../model/catalogue/index";
import { familiarName, isImplicitLatest } from "../registry/reference";
import { CLIENT_TEXTS, type ClientMarker, type ErrorText, SHARED_TEXTS, type TextClient } from "./error-texts/index";
import { findImage, findPlatform, findRegistryHost } from "./pasted-image";

/** What `explain --error` found in a pasted text (printed by src/ui/pasted-error.ts, schema in docs/pasted-error.schema.json). */
export interface PastedError {
  recognised: boolean;
  /** Why the text is not a pull error, when it is not. */
  notPullError: string | null;
  client: PastedClient | null;
  codes: PastedCode[];
  image: {
    found: string;
    canonical: string;
    familiar: string;
    registry: string;
    repository: string;
    tag: string | null;
    digest: string | null;
  } | null;
  /** The registry host when the text names no image (a /v2/ ping, a DNS lookup). */
  registry: string | null;
  platform: string | null;
  /** The pulldoctor check command that confirms it. */
  command: string | null;
}

export interface PastedClient {
  name: TextClient;
  /** docker only, when the wording tells. */
  store: "classic" | "containerd" | null;
  /** kubelet only: the runtime whose error is inside. */
  runtime: "containerd" | "cri-o" | null;
  tool: string | null;
  versions: string[];
  /** The phrases that named the client. */
  basedOn: string[];
}

export interface PastedCode {
  code: FindingCode;
  title: string;
  severity: string;
  stage: string;
  /** The phrases that matched, most specific first. */
  why: string[];
  /** The matched part of the pasted text. */
  matched: string;
  sources: string[];
}

/** Texts that are errors but not pull errors (SPEC: exit 1): an OOM kill, a build step, the API server. */
const NOT_PULL: { pattern: RegExp; what: string }[] = [
  { pattern: /\bOOMKilled\b|Out of memory: Killed process|oom-kill/, what: "an out-of-memory kill" },
  {
    pattern: /did not complete successfully: exit code|failed to solve: process|returned a non-zero code: \d+/,
    what: "a build step that failed",
  },
  {
    pattern: /Error from server \(\w+\)|Unable to connect to the server: |The connection to the server \S+ was refused/,
    what: "an error from the Kubernetes API server (kubectl), not from a pull",
  },
  { pattern: /\bCrashLoopBackOff\b|Back-off restarting failed container/, what: "a container that crashes after it started" },
];

/** Undo what logging did to the text: skopeo's logrus escapes quotes and newlines; terminals add colour. */
export function normaliseText(raw: string): string {
  return raw
    .replace(/\x1b\[[0-9;?]*[A-Za-z]/g, "")
    .replace(/\r\n?/g, "\n")
    .replace(/\\"/g, '"')
    .replace(/\\n/g, "\n");
}

interface Hit {
  marker: ClientMarker;
  client: TextClient;
}

export function recognisePastedError(raw: string): PastedError {
  const text = normaliseText(raw);
  const hits: Hit[] = [];
  for (const c of CLIENT_TEXTS) {
    for (const m of c.markers) if (m.pattern.test(text)) hits.push({ marker: m, client: c.client });
    // A text only this client prints names it too, below its wrappers (which say who wraps whom).
    for (const t of c.texts)
      if (t.weight === 3 && t.pattern.test(text))
        hits.push({ marker: { pattern: t.pattern, phrase: t.phrase, weight: 2, source: t.source }, client: c.client });
  }
  const codes = matchCodes(text);
  const client = decideClient(hits);
  const specific = codes.some((c) => c.specific);
  const veto = NOT_PULL.find((n) => n.pattern.test(text));
  // A veto (an OOM kill, a crash loop) stands unless a wrapper only a pull prints is there too.
  const pullWrapper = hits.some((h) => h.marker.weight === 3);
  // Go's network texts alone are not a pull's, unless the request was to a registry's /v2/ API.
  const registryApi = codes.length > 0 && /https?:\/\/[^\s"]+\/v2\//.test(text);
  const recognised = !(veto && !pullWrapper) && (client !== null || specific || registryApi);
  const found = findImage(text);
  // "pull access denied for NAME" names no tag: say none rather than the :latest Docker would add.
  const untagged = found !== null && isImplicitLatest(found.found, found.ref);
  const image = found
    ? {
        found: found.found,
        canonical: untagged ? `${found.ref.registry}/${found.ref.repository}` : found.ref.canonical,
        familiar: untagged ? familiarName(found.ref.registry, found.ref.repository) : found.ref.familiar,
        registry: found.ref.registry,
        repository: found.ref.repository,
        tag: untagged ? null : found.ref.tag,
        digest: found.ref.digest,
      }
    : null;
  const registry = image ? image.registry : findRegistryHost(text);
  const platform = findPlatform(text);
  return {
    recognised,
    notPullError: recognised ? null : veto ? `this is ${veto.what}` : "no phrase that a pull error prints was found",
    client: recognised ? client : null,
    codes: recognised ? codes.map(({ specific: _s, ...c }) => c) : [],
    image: recognised ? image : null,
    registry: recognised ? registry : null,
    platform: recognised ? platform : null,
    command: recognised ? checkCommand(client, image?.familiar ?? null, registry, platform) : null,
  };
}

/** Every text that matches, grouped by code; best first: the most specific phrase, then the earliest in the text. */
function matchCodes(text: string): (PastedCode & { specific: boolean })[] {
  const all: ErrorText[] = [...CLIENT_TEXTS.flatMap((c) => c.texts), ...SHARED_TEXTS];
  const by = new Map<FindingCode, { best: number; at: number; texts: ErrorText[]; matched: string }>();
  for (const t of all) {
    const m = t.pattern.exec(text);
    if (!m) continue;
    const cur = by.get(t.code);
    if (!cur) by.set(t.code, { best: t.weight, at: m.index, texts: [t], matched: m[0] });
    else {
      cur.texts.push(t);
      if (t.weight > cur.best) Object.assign(cur, { best: t.weight, matched: m[0] });
      cur.at = Math.min(cur.at, m.index);
    }
  }
  return [...by.entries()]
    .sort(([, a], [, b]) => b.best - a.best || b.texts.length - a.texts.length || a.at - b.at)
    .map(([code, g]) => {
      const e = catalogueEntry(code);
      const texts = [...g.texts].sort((a, b) => b.weight - a.weight);
      return {
        code,
        title: e.title,
        severity: e.severity,
        stage: e.stage,
        why: [...new Set(texts.map((t) => t.phrase))],
        matched: g.matched.length > 200 ? `${g.matched.slice(0, 200)}…` : g.matched,
        sources: [...new Set(texts.map((t) => t.source))],
        specific: texts.some((t) => !t.generic && t.weight >= 2),
      };
    });
}

/**
 * kubelet wraps the runtime's error, and Docker 29's containerd store wraps containerd's:
 * the outer wrapper names the client, the inner one the runtime or store.
 */
function decideClient(hits: Hit[]): PastedClient | null {
  const score = (c: TextClient) => hits.filter((h) => h.client === c).reduce((s, h) => s + h.marker.weight, 0);
  const strong = (c: TextClient) => hits.some((h) => h.client === c && h.marker.weight === 3);
  let name: TextClient | null = null;
  if (strong("kubelet")) name = "kubelet";
  else if (strong("docker")) name = "docker";
  else {
    const ranked = (["containerd", "podman", "docker", "kubelet"] as TextClient[])
      .filter((c) => score(c) > 0)
      .sort((a, b) => score(b) - score(a));
    name = ranked[0] ?? null;
  }
  if (!name) return null;
  const own = hits.filter((h) => h.client === name);
  const inner =
    name === "kubelet" || name === "docker"
      ? score("podman") > score("containerd")
        ? "podman"
        : score("containerd") > 0
          ? "containerd"
          : null
      : null;
  const crictl = hits.find((h) => h.marker.tool === "crictl");
  // crictl speaks CRI to a runtime: judged as that runtime's client.
  if (name === "containerd" && !crictl && score("podman") > score("containerd")) name = "podman";
  const store =
    name === "docker" ? (inner === "containerd" ? "containerd" : (own.find((h) => h.marker.store)?.marker.store ?? null)) : null;
  const runtimeHit = hits.find((h) => h.marker.runtime);
  const runtime =
    name === "kubelet"
      ? (runtimeHit?.marker.runtime ?? (inner === "podman" ? "cri-o" : inner === "containerd" ? "containerd" : null))
      : null;
  // The narrowest tool named wins: "docker compose" over "docker", "crictl" over "CRI".
  const tools = [...own, ...hits].map((h) => h.marker.tool).filter((t): t is string => !!t);
  const tool = tools.find((t) => !["docker", "podman", "CRI"].includes(t)) ?? tools[0] ?? null;
  const versions = [...new Set(hits.map((h) => h.marker.versions).filter((v): v is string => !!v))];
  return {
    name,
    store,
    runtime,
    tool,
    versions,
    basedOn: [...new Set(hits.sort((a, b) => b.marker.weight - a.marker.weight).map((h) => h.marker.phrase))],
  };
}

/** The check that confirms it, as the client that printed it. */
function checkCommand(client: PastedClient | null, image: string | null, registry: string | null, platform: string | null): string {
  const target = image ?? (registry ? `${registry}/REPOSITORY:TAG` : "IMAGE");
  const parts = ["pulldoctor", "check", target, "--client", client?.name ?? "all"];
  if (client?.name === "docker" && client.store) parts.push("--docker-store", client.store);
  if (platform) parts.push("--platform", platform);
  return parts.join(" ");
}
