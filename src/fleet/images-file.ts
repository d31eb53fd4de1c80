import { parseAllDocuments } from "yaml";

export interface ImagesFromFile {
  images: string[];
  /** imagePullSecrets named by the pod specs: the Secrets the fleet pods mount. */
  pullSecrets: string[];
}

/**
 * `fleet manifest -f FILE`: the images of a Kubernetes manifest (any workload, List,
 * CronJob template: every containers/initContainers/ephemeralContainers image and image
 * volume), of a compose file (services.*.image), or a plain list, one image a line. The
 * pods cannot read the user's file, so the images become the check's arguments.
 */
export function imagesFromText(text: string): ImagesFromFile {
  const images: string[] = [];
  const pullSecrets: string[] = [];
  const add = (list: string[], v: unknown) => {
    if (typeof v === "string" && v.trim() !== "" && !list.includes(v.trim())) list.push(v.trim());
  };
  let structured = false;
  try {
    for (const doc of parseAllDocuments(text)) {
      if (doc.errors.length > 0) throw doc.errors[0];
      const value: unknown = doc.toJS();
      if (typeof value !== "object" || value === null) continue;
      structured = true;
      const services = (value as Record<string, unknown>).services;
      if (isRecord(services)) for (const s of Object.values(services)) if (isRecord(s)) add(images, s.image);
      walk(value, (key, v) => {
        if ((key === "containers" || key === "initContainers" || key === "ephemeralContainers") && Array.isArray(v))
          for (const c of v) if (isRecord(c)) add(images, c.image);
        if (key === "volumes" && Array.isArray(v))
          for (const vol of v) if (isRecord(vol) && isRecord(vol.image)) add(images, vol.image.reference);
        if (key === "imagePullSecrets" && Array.isArray(v)) for (const s of v) if (isRecord(s)) add(pullSecrets, s.name);
      });
    }
  } catch {
    structured = false;
  }
  if (!structured) {
    for (const line of text.split(/\r?\n/)) {
      const t = line.replace(/#.*$/, "").trim();
      if (t !== "") add(images, t);
    }
  }
  return { images, pullSecrets };
}

function walk(v: unknown, visit: (key: string, value: unknown) => void, depth = 0): void {
  if (depth > 64 || typeof v !== "object" || v === null) return;
  if (Array.isArray(v)) {
    for (const item of v) walk(item, visit, depth + 1);
    return;
  }
  for (const [k, child] of Object.entries(v)) {
    visit(k, child);
    walk(child, visit, depth + 1);
  }
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
