import { finding } from "../model/finding";
import { addImage, type ReadContext } from "./check-image";
import { isObject, type Lines, list, str, type Value } from "./tree";
import type { DocumentFindings } from "./types";

type Obj = { [k: string]: Value };

/**
 * Where each workload kind keeps its pod spec (kubernetes/api core/v1, apps/v1, batch/v1).
 * A kind not listed (a CRD such as an Argo Rollout) is read at the same template paths when
 * one holds containers.
 */
const POD_SPEC_PATH: Record<string, string[]> = {
  Pod: ["spec"],
  PodTemplate: ["template", "spec"],
  Deployment: ["spec", "template", "spec"],
  StatefulSet: ["spec", "template", "spec"],
  DaemonSet: ["spec", "template", "spec"],
  ReplicaSet: ["spec", "template", "spec"],
  ReplicationController: ["spec", "template", "spec"],
  Job: ["spec", "template", "spec"],
  CronJob: ["spec", "jobTemplate", "spec", "template", "spec"],
};
const GUESSED_PATHS = [
  ["spec", "template", "spec"],
  ["spec", "jobTemplate", "spec", "template", "spec"],
];

/** kubelet's waiting reasons of a pull that failed (kubernetes/kubernetes:pkg/kubelet/images/types.go). */
export const PULL_WAITING_REASONS = new Set(["ErrImagePull", "ImagePullBackOff", "InvalidImageName"]);

export function isKubernetesObject(v: Obj): boolean {
  return typeof v.kind === "string" && typeof v.apiVersion === "string";
}

/** A Pod as `kubectl get pods -o json` prints it: with its status. */
function isLivePod(o: Obj): boolean {
  return o.kind === "Pod" && isObject(o.status);
}

export interface KubernetesRead extends DocumentFindings {
  livePods: number;
  objects: number;
}

/** One Kubernetes document: an object, or a List (kubectl's output) of them. */
export function readKubernetes(doc: Obj, ctx: ReadContext & { lines: Lines; all: boolean }, out: KubernetesRead): void {
  if (Array.isArray(doc.items) && /List$/.test(String(doc.kind))) {
    for (const item of doc.items) if (isObject(item)) readKubernetes(item, ctx, out);
    return;
  }
  out.objects++;
  const kind = String(doc.kind);
  const meta = isObject(doc.metadata) ? doc.metadata : {};
  const name = str(meta.name) ?? str(meta.generateName) ?? "(unnamed)";
  const ns = str(meta.namespace);
  const object = `${kind}/${ns ? `${ns}/` : ""}${name}`;
  const known = POD_SPEC_PATH[kind];
  const spec = known ? at(doc, known) : (GUESSED_PATHS.map((p) => at(doc, p)).find((s) => s && Array.isArray(s.containers)) ?? null);
  // Services, ConfigMaps and other kinds that run nothing have no images to find.
  if (!spec) return;
  const before = out.images.length + out.findings.length;
  if (isLivePod(doc)) {
    out.livePods++;
    readLivePod(doc, spec, object, ctx, out);
    return;
  }
  readPodSpec(spec, object, ctx, out, null);
  if (out.images.length + out.findings.length === before) {
    const place = { file: ctx.file, document: ctx.document, line: ctx.lines.of(doc, "kind"), object };
    out.findings.push(finding("INPUT_NO_IMAGES", place, place));
  }
}

function at(o: Obj, path: readonly string[]): Obj | null {
  let cur: Value = o;
  for (const k of path) {
    if (!isObject(cur)) return null;
    cur = cur[k] ?? null;
  }
  return isObject(cur) ? cur : null;
}

interface Waiting {
  reason: string;
  message: string | null;
}

/**
 * Every image a pod spec pulls: containers, init containers (a native sidecar is an init
 * container with restartPolicy Always), ephemeral containers and image volumes. `only`, for a
 * live pod, names the containers to take with kubelet's waiting state.
 */
function readPodSpec(
  spec: Obj,
  object: string,
  ctx: ReadContext & { lines: Lines },
  out: DocumentFindings,
  only: Map<string, Waiting> | null,
) {
  const pullSecrets = list(spec.imagePullSecrets).flatMap((s) => (isObject(s) && str(s.name) ? [str(s.name)!] : []));
  const groups: [string, string][] = [
    ["containers", ""],
    ["initContainers", "init:"],
    ["ephemeralContainers", "ephemeral:"],
  ];
  for (const [field, prefix] of groups) {
    for (const c of list(spec[field])) {
      if (!isObject(c)) continue;
      const cname = str(c.name) ?? "(unnamed)";
      const label = prefix === "init:" && c.restartPolicy === "Always" ? `sidecar:${cname}` : `${prefix}${cname}`;
      const waiting = only?.get(label);
      if (only && !waiting) continue;
      const image = str(c.image);
      if (image === null) continue;
      const source = { file: ctx.file, document: ctx.document, object, container: label, line: ctx.lines.of(c, "image") };
      addImage(out, image, source, { pullSecrets, waitingMessage: waiting?.message ?? null, waitingReason: waiting?.reason ?? null });
    }
  }
  if (only) return;
  for (const v of list(spec.volumes)) {
    if (!isObject(v) || !isObject(v.image)) continue;
    const image = str(v.image.reference);
    if (image === null) continue;
    const source = {
      file: ctx.file,
      document: ctx.document,
      object,
      container: `volume:${str(v.name) ?? "(unnamed)"}`,
      line: ctx.lines.of(v.image, "reference"),
    };
    addImage(out, image, source, { pullSecrets });
  }
}

/**
 * A pod from `kubectl get pods -o json`: only the containers kubelet is waiting on for a
 * pull (ErrImagePull, ImagePullBackOff, InvalidImageName), with kubelet's message; every
 * container with `all`.
 */
function readLivePod(pod: Obj, spec: Obj, object: string, ctx: ReadContext & { lines: Lines; all: boolean }, out: DocumentFindings) {
  const status = pod.status as Obj;
  const waiting = new Map<string, Waiting>();
  const statusGroups: [string, string][] = [
    ["containerStatuses", ""],
    ["initContainerStatuses", "init:"],
    ["ephemeralContainerStatuses", "ephemeral:"],
  ];
  const sidecars = new Set(
    list(spec.initContainers).flatMap((c) => (isObject(c) && c.restartPolicy === "Always" && str(c.name) ? [str(c.name)!] : [])),
  );
  for (const [field, prefix] of statusGroups) {
    for (const s of list(status[field])) {
      if (!isObject(s) || !isObject(s.state) || !isObject(s.state.waiting)) continue;
      const reason = str(s.state.waiting.reason) ?? "";
      if (!ctx.all && !PULL_WAITING_REASONS.has(reason)) continue;
      const cname = str(s.name) ?? "";
      const label = prefix === "init:" && sidecars.has(cname) ? `sidecar:${cname}` : `${prefix}${cname}`;
      waiting.set(label, { reason, message: str(s.state.waiting.message) });
    }
  }
  if (ctx.all) {
    const from = out.images.length;
    readPodSpec(spec, object, ctx, out, null);
    // Every image, with kubelet's waiting state beside the ones it is waiting on.
    for (const img of out.images.slice(from)) {
      const w = waiting.get(img.source.container);
      if (w && img.waitingReason === null) {
        img.waitingReason = w.reason;
        img.waitingMessage = w.message;
      }
    }
    return;
  }
  if (waiting.size > 0) readPodSpec(spec, object, ctx, out, waiting);
}
