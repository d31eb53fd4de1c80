import { finding } from "../model/finding";
import { emptyFindings } from "./check-image";
import { looksLikeCompose, readCompose } from "./compose";
import { isKubernetesObject, type KubernetesRead, readKubernetes } from "./kubernetes";
import { isObject, Lines, parseDocuments, type Value } from "./tree";
import type { DocumentFindings, FoundImage, InputFormat, InputImage, InputsResult } from "./types";

/** Sources kept per image: 10,000 pods of one Deployment name one image, not 10,000 lines of report. */
export const MAX_SOURCES = 20;

export interface ReadOptions {
  /** kubectl output: every container, not only those waiting on a failed pull. */
  all: boolean;
  /** For compose interpolation and DOCKER_DEFAULT_PLATFORM. */
  env: Readonly<Record<string, string | undefined>>;
  cwd: string;
}

/** Images of several inputs, merged: each distinct (image, platform) once, with every source. */
export class InputCollector {
  private readonly byKey = new Map<string, InputImage>();
  private readonly result: InputsResult = { images: [], builtLocally: [], findings: [], files: [] };

  constructor(private readonly opts: ReadOptions) {}

  /** A file that could not be read at all. */
  unreadable(file: string, error: string): void {
    const place = { file, document: 0, line: 0, object: null };
    this.result.findings.push(finding("INPUT_UNREADABLE", { ...place, error }, place));
    this.result.files.push({ file, formats: [], documents: 0 });
  }

  /** One file's text (`file` is its name as given, `-` for standard input). */
  add(file: string, text: string): void {
    const lines = new Lines();
    const docs = parseDocuments(text, lines);
    const formats = new Set<InputFormat>();
    const out = emptyFindings();
    for (const d of docs) {
      const place = { file, document: d.index, line: d.error?.line ?? d.line, object: null };
      if (d.error) {
        out.findings.push(finding("INPUT_NOT_YAML", { ...place, message: d.error.message }, place));
        continue;
      }
      // `---` at the top or between objects (helm template prints them) leaves empty documents.
      if (d.value === null || d.value === undefined) continue;
      const f = this.readDocument(d.value, { file, document: d.index, lines }, out);
      if (f === "unrecognised") out.findings.push(finding("INPUT_UNRECOGNISED", { ...place, found: describe(d.value) }, place));
      formats.add(f);
    }
    if (docs.every((d) => d.value === null || d.value === undefined) && out.findings.length === 0) {
      const place = { file, document: 1, line: 1, object: null };
      out.findings.push(finding("INPUT_UNRECOGNISED", { ...place, found: "the file holds no document" }, place));
    }
    this.merge(out);
    this.result.files.push({ file, formats: [...formats], documents: docs.length });
  }

  private readDocument(value: Value, ctx: { file: string; document: number; lines: Lines }, out: DocumentFindings): InputFormat {
    // A JSON array of objects (some tools print one) reads as a List.
    const doc =
      Array.isArray(value) && value.length > 0 && value.every((v) => isObject(v) && isKubernetesObject(v))
        ? { kind: "List", apiVersion: "v1", items: value }
        : value;
    if (!isObject(doc)) return "unrecognised";
    if (isKubernetesObject(doc)) {
      const k: KubernetesRead = { ...out, livePods: 0, objects: 0 };
      readKubernetes(doc, { ...ctx, all: this.opts.all }, k);
      return k.livePods > 0 ? "kubectl-pods" : "kubernetes";
    }
    if (looksLikeCompose(doc)) {
      readCompose(doc, { ...ctx, env: this.opts.env, cwd: this.opts.cwd }, out);
      return "compose";
    }
    return "unrecognised";
  }

  private merge(out: DocumentFindings): void {
    for (const f of out.images) this.addFound(f);
    this.result.builtLocally.push(...out.built);
    this.result.findings.push(...out.findings);
  }

  private addFound(f: FoundImage): void {
    // kubelet reads a pod's own imagePullSecrets, in order: one image under different secrets is two pulls.
    const key = `${f.image}\u0000${f.platform ?? ""}\u0000${f.pullSecrets.join("\u0000")}`;
    let img = this.byKey.get(key);
    if (!img) {
      img = {
        image: f.image,
        sources: [],
        sourceCount: 0,
        platform: f.platform,
        pullSecrets: [],
        waitingMessage: null,
        waitingReason: null,
      };
      this.byKey.set(key, img);
      this.result.images.push(img);
    }
    img.sourceCount++;
    if (img.sources.length < MAX_SOURCES) img.sources.push(f.source);
    for (const s of f.pullSecrets) if (!img.pullSecrets.includes(s)) img.pullSecrets.push(s);
    if (img.waitingMessage === null && f.waitingMessage !== null) img.waitingMessage = f.waitingMessage;
    if (img.waitingReason === null && f.waitingReason !== null) img.waitingReason = f.waitingReason;
  }

  done(): InputsResult {
    return this.result;
  }
}

/** For INPUT_UNRECOGNISED: what the document is instead. */
function describe(v: Value): string {
  if (typeof v === "string") return `plain text (${JSON.stringify(v.length > 40 ? `${v.slice(0, 40)}…` : v)}), not a mapping`;
  if (Array.isArray(v)) return "a list that is not of Kubernetes objects";
  if (!isObject(v)) return `a ${typeof v}, not a mapping`;
  const keys = Object.keys(v);
  return `a mapping with keys ${keys.slice(0, 6).join(", ")}${keys.length > 6 ? ", …" : ""}: no services, no apiVersion and kind`;
}

/** Read every `-f` input: files by path, `-` from standard input (read once, even when repeated). */
export async function readInputs(
  files: readonly string[],
  opts: ReadOptions & { readFile: (p: string) => Promise<string>; readStdin: () => Promise<string> },
): Promise<InputsResult> {
  const c = new InputCollector(opts);
  let stdin: string | null = null;
  for (const file of files) {
    let text: string;
    try {
      if (file === "-") stdin ??= await opts.readStdin();
      text = file === "-" ? (stdin ?? "") : await opts.readFile(file);
    } catch (e) {
      c.unreadable(file, e instanceof Error ? e.message : String(e));
      continue;
    }
    c.add(file, text);
  }
  return c.done();
}
