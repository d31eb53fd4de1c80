import { readdirSync } from "node:fs";
import path from "node:path";
import { readLocalFile } from "../host/local-file";
import type { FileProblem } from "./profile";
import { lineOf } from "./profile";

/** yaml when a file is read: every check builds the client profiles, few read a YAML file (docs/performance.md, "Start-up, diagnosis and small blobs"). */
const yaml = () => require("yaml") as typeof import("yaml");

/**
 * containers/image's signature policy (policy.json) for the docker transport, scoped as
 * containers/image:signature/policy_eval.go#requirementsForImageRef and
 * docker/policyconfiguration/naming.go (full reference, repository, each parent namespace,
 * the host, "*.domain" wildcards, then the transport's "" and the global default), and where
 * signatures could come from (registries.d: docker/registries_d.go, `lookaside`,
 * `use-sigstore-attachments`). Read only.
 */

export type Requirement = { type: string; keyPath?: string; keyPaths?: string[] };

export interface PolicyVerdict {
  path: string;
  found: boolean;
  /** The scope that chose the requirements: "docker:registry.example.com/team", "default". */
  scope: string | null;
  requirements: Requirement[];
  /** null = accepted (or signatures podman may find); else why podman refuses. */
  rejection: string | null;
  problem: FileProblem | null;
}

export function evaluatePolicy(
  file: string,
  name: string,
  tag: string | null,
  digest: string | null,
  registriesD: string[],
): PolicyVerdict {
  const base: PolicyVerdict = { path: file, found: false, scope: null, requirements: [], rejection: null, problem: null };
  const r = readLocalFile(file);
  if (!r.ok) return base;
  const text = new TextDecoder().decode(r.bytes);
  let doc: { default?: Requirement[]; transports?: Record<string, Record<string, Requirement[]>> };
  try {
    doc = JSON.parse(text);
  } catch (e) {
    return { ...base, found: true, problem: { path: file, line: null, column: null, message: e instanceof Error ? e.message : String(e) } };
  }
  if (!Array.isArray(doc.default))
    return {
      ...base,
      found: true,
      problem: { path: file, line: lineOf(text, "default"), column: null, message: 'Policy "default" is missing or not a list' },
    };
  const scopes = doc.transports?.docker ?? {};
  let scope = "default";
  let reqs: Requirement[] = doc.default;
  for (const s of candidateScopes(name, tag, digest))
    if (Array.isArray(scopes[s])) {
      scope = `docker:${s}`;
      reqs = scopes[s]!;
      break;
    }
  return { ...base, found: true, scope, requirements: reqs, rejection: rejectionOf(reqs, name, registriesD) };
}

/** naming.go: the most specific first; "" is the transport-wide default. */
export function candidateScopes(name: string, tag: string | null, digest: string | null): string[] {
  const out: string[] = [];
  if (digest) out.push(`${name}@${digest}`);
  else if (tag) out.push(`${name}:${tag}`);
  const parts = name.split("/");
  for (let i = parts.length; i >= 1; i--) out.push(parts.slice(0, i).join("/"));
  const host = parts[0]!.replace(/:\d+$/, "").split(".");
  for (let i = 1; i < host.length; i++) out.push(`*.${host.slice(i).join(".")}`);
  out.push("");
  return out;
}

function rejectionOf(reqs: Requirement[], name: string, registriesD: string[]): string | null {
  if (reqs.length === 0) return "the policy lists no requirement for this scope (an empty list is refused)";
  for (const q of reqs) {
    if (q.type === "insecureAcceptAnything") continue;
    if (q.type === "reject") return 'the requirement is "reject": every image in this scope is refused';
    if (q.type === "signedBy" || q.type === "sigstoreSigned") {
      const src = signatureSources(name, registriesD);
      const have = q.type === "signedBy" ? src.lookaside : src.sigstoreAttachments;
      if (!have)
        return q.type === "signedBy"
          ? 'the requirement is "signedBy" but no signature lookaside is configured for it in registries.d, so podman finds no signature'
          : 'the requirement is "sigstoreSigned" but registries.d does not enable use-sigstore-attachments for it, so podman reads no signature';
      continue;
    }
    return `unknown requirement type ${JSON.stringify(q.type)}: containers/image refuses the whole policy`;
  }
  return null;
}

/** registries.d/*.yaml: whether a lookaside (simple signing) or sigstore attachments apply to `name`. */
export function signatureSources(name: string, dirs: string[]): { lookaside: boolean; sigstoreAttachments: boolean } {
  const out = { lookaside: false, sigstoreAttachments: false };
  for (const dir of dirs) {
    let files: string[] = [];
    try {
      files = readdirSync(dir).filter((f) => f.endsWith(".yaml"));
    } catch {
      continue;
    }
    for (const f of files) {
      const r = readLocalFile(path.join(dir, f));
      if (!r.ok) continue;
      let doc: { "default-docker"?: Record<string, unknown>; docker?: Record<string, Record<string, unknown>> };
      try {
        doc = yaml().parse(new TextDecoder().decode(r.bytes)) ?? {};
      } catch {
        continue;
      }
      const entries = [
        doc["default-docker"],
        ...Object.entries(doc.docker ?? {})
          .filter(([k]) => name === k || name.startsWith(`${k}/`))
          .map(([, v]) => v),
      ];
      for (const e of entries) {
        if (!e) continue;
        if (e.lookaside || e.sigstore) out.lookaside = true;
        if (e["use-sigstore-attachments"] === true) out.sigstoreAttachments = true;
      }
    }
  }
  return out;
}
