import { readLocalFile } from "../host/local-file";

/** yaml only when a --pull-secret file is read (as pull-secret.ts). */
const yaml = () => require("yaml") as typeof import("yaml");

/** A --pull-secret file and the Secret name it holds; null for a bare .dockerconfigjson, or a file that does not read as a Secret. */
export interface GivenSecret {
  file: string;
  name: string | null;
}

/** metadata.name of a Secret file, or null (a bare config has no name; an unreadable file is reported by the kubelet client). */
export function secretName(file: string): string | null {
  const r = readLocalFile(file);
  if (!r.ok) return null;
  const doc = yaml().parseDocument(new TextDecoder().decode(r.bytes), { uniqueKeys: false });
  if (doc.errors.length > 0) return null;
  const v = doc.toJS() as { kind?: unknown; metadata?: { name?: unknown } } | null;
  if (typeof v !== "object" || v === null || v.kind !== "Secret") return null;
  const name = v.metadata?.name;
  return typeof name === "string" && name !== "" ? name : null;
}

export function givenSecrets(files: readonly string[]): GivenSecret[] {
  return files.map((file) => ({ file, name: secretName(file) }));
}

/** The pull secrets kubelet would hand the runtime for one image, and the names the pod lists that no file holds. */
export interface PodSecrets {
  files: string[];
  missing: string[];
}

/**
 * kubelet builds one keyring per pod from the Secrets its spec names, in the spec's order
 * (kubernetes/kubernetes:pkg/kubelet/kuberuntime/kuberuntime_image.go#PullImage,
 * pkg/credentialprovider/secrets/secrets.go#MakeDockerKeyring); a Secret the pod does not name is
 * never read for it. `podNames` null: an image typed on the command line, which has no pod, gets
 * every file. A file with no name (a bare .dockerconfigjson) stands for the node's or the user's
 * own credentials and applies to every image, as before.
 */
export function secretsForImage(given: readonly GivenSecret[], podNames: readonly string[] | null): PodSecrets {
  if (podNames === null) return { files: given.map((g) => g.file), missing: [] };
  const files: string[] = [];
  const missing: string[] = [];
  for (const name of podNames) {
    const held = given.filter((g) => g.name === name);
    if (held.length === 0) missing.push(name);
    for (const g of held) if (!files.includes(g.file)) files.push(g.file);
  }
  for (const g of given) if (g.name === null) files.push(g.file);
  return { files, missing };
}

/** The named Secrets no image's pod spec lists: kubelet would read them for no pull. */
export function unusedSecrets(given: readonly GivenSecret[], podNames: readonly (readonly string[] | null)[]): GivenSecret[] {
  const named = new Set(podNames.flatMap((n) => n ?? []));
  const typed = podNames.some((n) => n === null);
  // An image typed on the command line uses every file, so none is unused.
  return typed ? [] : given.filter((g) => g.name !== null && !named.has(g.name));
}
