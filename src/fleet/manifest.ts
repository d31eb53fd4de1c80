import { stringify } from "yaml";
import type { FleetNode } from "./nodes";

/**
 * `fleet manifest`: the Kubernetes objects that run the doctor on nodes, built as plain
 * data and serialised once. The shape follows what a node-level pull check needs
 * (research note §2): the node's own network and resolver, read-only views of what its
 * clients read, and nothing else.
 */
export interface ManifestPlan {
  images: string[];
  /** The doctor's own image. */
  image: string;
  namespace: string;
  /** Emit the Namespace object too (only for the default namespace: never relabel a user's). */
  createNamespace: boolean;
  client: string;
  /** Names of Secrets (kubernetes.io/dockerconfigjson) in the namespace. */
  pullSecrets: string[];
  /** One Job per node, or null for one DaemonSet. */
  nodes: FleetNode[] | null;
  version: string;
}

type Obj = Record<string, unknown>;

export const APP_LABEL = "pulldoctor";
/** Where pull secrets are mounted; check reads each `.dockerconfigjson` with --pull-secret. */
export const PULL_SECRET_DIR = "/var/run/pulldoctor/pull-secrets";
/**
 * `check` takes one IMAGE argument; several images go in a ConfigMap holding a Pod that names
 * them, mounted here and read with `check -f` (a Pod's containers are all taken), so each pod
 * prints one batch report.
 */
export const IMAGES_DIR = "/var/run/pulldoctor/images";
export const IMAGES_FILE = "images.json";
const IMAGES_CONFIGMAP = "pulldoctor-images";

/**
 * What the node's clients read, mounted read-only at the same paths so the doctor reads
 * exactly what they read (containerd's config_path names host paths). `type` decides what
 * happens when a path is missing: containerd's CRI creates a missing hostPath source as an
 * empty directory (containerd/containerd:internal/cri/opts/spec_linux_opts.go WithMounts),
 * which to dockerd, containerd, CRI-O and systemd means the same as no directory, so the
 * optional directories are unchecked. A missing config.json would become a directory that
 * kubelet then fails to read; FileOrCreate leaves an empty file instead, which kubelet
 * skips like a missing one (kubernetes/kubernetes:pkg/credentialprovider/config.go).
 */
export const HOST_MOUNTS: readonly { name: string; path: string; type: string }[] = [
  { name: "etc-resolv-conf", path: "/etc/resolv.conf", type: "File" },
  { name: "etc-hosts", path: "/etc/hosts", type: "File" },
  { name: "etc-containerd", path: "/etc/containerd", type: "" },
  { name: "etc-docker", path: "/etc/docker", type: "" },
  { name: "etc-containers", path: "/etc/containers", type: "" },
  // CRI-O's own config: without it a CRI-O node shows only /etc/containers, which `auto` reads as podman.
  { name: "etc-crio", path: "/etc/crio", type: "" },
  { name: "kubelet-config-json", path: "/var/lib/kubelet/config.json", type: "FileOrCreate" },
  { name: "containerd-service-d", path: "/etc/systemd/system/containerd.service.d", type: "" },
  { name: "docker-service-d", path: "/etc/systemd/system/docker.service.d", type: "" },
  { name: "crio-service-d", path: "/etc/systemd/system/crio.service.d", type: "" },
];

/** The objects, in apply order. */
export function buildManifest(plan: ManifestPlan): Obj[] {
  const objects: Obj[] = [];
  if (plan.createNamespace) objects.push(namespaceObject(plan));
  if (plan.images.length > 1) objects.push(imagesConfigMap(plan));
  if (plan.nodes === null) objects.push(daemonSet(plan));
  else for (const node of plan.nodes) objects.push(job(plan, node));
  return objects;
}

/** Multi-document YAML, the one serialisation of the objects. */
export function manifestYaml(objects: Obj[]): string {
  return objects.map((o) => stringify(o, { lineWidth: 0 })).join("---\n");
}

function namespaceObject(plan: ManifestPlan): Obj {
  return {
    apiVersion: "v1",
    kind: "Namespace",
    metadata: {
      name: plan.namespace,
      // hostNetwork and hostPath are refused below the "privileged" Pod Security level.
      labels: { ...labels(plan), "pod-security.kubernetes.io/enforce": "privileged" },
    },
  };
}

function imagesConfigMap(plan: ManifestPlan): Obj {
  const pod = {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name: IMAGES_CONFIGMAP },
    spec: { containers: plan.images.map((image, i) => ({ name: `image-${i + 1}`, image })) },
  };
  return {
    apiVersion: "v1",
    kind: "ConfigMap",
    metadata: { name: IMAGES_CONFIGMAP, namespace: plan.namespace, labels: labels(plan) },
    data: { [IMAGES_FILE]: `${JSON.stringify(pod, null, 2)}\n` },
  };
}

function labels(plan: ManifestPlan): Record<string, string> {
  return { "app.kubernetes.io/name": APP_LABEL, "app.kubernetes.io/version": labelValue(plan.version) };
}

function job(plan: ManifestPlan, node: FleetNode): Obj {
  const name = objectName("pulldoctor-", node.name);
  return {
    apiVersion: "batch/v1",
    kind: "Job",
    metadata: { name, namespace: plan.namespace, labels: labels(plan), annotations: { "pulldoctor/node": node.name } },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 900,
      ttlSecondsAfterFinished: 3600,
      template: {
        metadata: { labels: labels(plan), annotations: { "pulldoctor/node": node.name } },
        spec: { ...podSpec(plan), nodeName: node.name, restartPolicy: "Never", containers: [checkContainer(plan)] },
      },
    },
  };
}

/**
 * A DaemonSet's pods must restart, so the check runs once as an init container and the
 * pod then idles in `fleet hold` (the same binary: no second image to pull); the report
 * stays in the init container's log.
 */
function daemonSet(plan: ManifestPlan): Obj {
  const selector = { "app.kubernetes.io/name": APP_LABEL };
  return {
    apiVersion: "apps/v1",
    kind: "DaemonSet",
    metadata: { name: "pulldoctor", namespace: plan.namespace, labels: labels(plan) },
    spec: {
      selector: { matchLabels: selector },
      template: {
        metadata: { labels: labels(plan) },
        spec: {
          ...podSpec(plan),
          restartPolicy: "Always",
          initContainers: [checkContainer(plan)],
          containers: [
            {
              name: "hold",
              image: plan.image,
              imagePullPolicy: "IfNotPresent",
              args: ["fleet", "hold"],
              securityContext: { ...securityContext(), runAsUser: 65534, runAsGroup: 65534, runAsNonRoot: true },
              resources: { requests: { cpu: "1m", memory: "16Mi" }, limits: { cpu: "10m", memory: "64Mi" } },
            },
          ],
        },
      },
    },
  };
}

function podSpec(plan: ManifestPlan): Obj {
  return {
    // The node's own network and resolver are what a pull on this node uses.
    hostNetwork: true,
    dnsPolicy: "Default",
    automountServiceAccountToken: false,
    enableServiceLinks: false,
    terminationGracePeriodSeconds: 5,
    // Every taint, NoExecute included: the nodes that cannot pull are often the tainted ones.
    tolerations: [{ operator: "Exists" }],
    nodeSelector: { "kubernetes.io/os": "linux" },
    volumes: [
      ...HOST_MOUNTS.map((m) => ({ name: m.name, hostPath: { path: m.path, type: m.type } })),
      ...plan.pullSecrets.map((s, i) => ({ name: `pull-secret-${i}`, secret: { secretName: s, defaultMode: 0o400 } })),
      ...(plan.images.length > 1 ? [{ name: "images", configMap: { name: IMAGES_CONFIGMAP } }] : []),
      // The root filesystem is read-only; a small scratch space for anything the runtime writes.
      { name: "tmp", emptyDir: { medium: "Memory", sizeLimit: "16Mi" } },
    ],
  };
}

function checkContainer(plan: ManifestPlan): Obj {
  const secretArgs = plan.pullSecrets.flatMap((s) => ["--pull-secret", `${PULL_SECRET_DIR}/${s}/.dockerconfigjson`]);
  return {
    name: "check",
    image: plan.image,
    imagePullPolicy: "IfNotPresent",
    args: ["check", "--json", "--client", plan.client, ...secretArgs, ...imageArgs(plan)],
    // One JSON line per report, so `kubectl logs --prefix` gives one prefixed line per node.
    env: [
      { name: "PULLDOCTOR_JSON_LINES", value: "1" },
      { name: "NO_COLOR", value: "1" },
      { name: "TMPDIR", value: "/tmp" },
    ],
    // root only to read root-only files (config.json, hosts.toml client keys); no capability.
    securityContext: { ...securityContext(), runAsUser: 0, runAsGroup: 0, runAsNonRoot: false },
    resources: { requests: { cpu: "50m", memory: "64Mi" }, limits: { cpu: "500m", memory: "384Mi" } },
    volumeMounts: [
      ...HOST_MOUNTS.map((m) => ({ name: m.name, mountPath: m.path, readOnly: true })),
      ...plan.pullSecrets.map((s, i) => ({ name: `pull-secret-${i}`, mountPath: `${PULL_SECRET_DIR}/${s}`, readOnly: true })),
      ...(plan.images.length > 1 ? [{ name: "images", mountPath: IMAGES_DIR, readOnly: true }] : []),
      { name: "tmp", mountPath: "/tmp" },
    ],
  };
}

function imageArgs(plan: ManifestPlan): string[] {
  return plan.images.length > 1 ? ["-f", `${IMAGES_DIR}/${IMAGES_FILE}`] : [...plan.images];
}

function securityContext(): Obj {
  return {
    privileged: false,
    allowPrivilegeEscalation: false,
    readOnlyRootFilesystem: true,
    capabilities: { drop: ["ALL"] },
    seccompProfile: { type: "RuntimeDefault" },
  };
}

/**
 * A DNS-1123 label (≤ 63, since a Job's name becomes its pods' job-name label) from a node
 * name (≤ 253, dots allowed); a hash keeps two long names that share a prefix apart.
 */
export function objectName(prefix: string, nodeName: string): string {
  const clean = nodeName.toLowerCase().replace(/[^a-z0-9-]+/g, "-");
  const full = `${prefix}${clean}`.replace(/-+$/, "");
  if (full.length <= 63 && clean === nodeName) return full;
  const hash = Bun.hash.crc32(nodeName).toString(16).padStart(8, "0");
  return `${full.slice(0, 63 - 9).replace(/-+$/, "")}-${hash}`;
}

function labelValue(v: string): string {
  return v.replace(/[^A-Za-z0-9_.-]/g, "-").slice(0, 63);
}
