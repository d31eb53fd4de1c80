import { describe, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { Namespace } from "kubernetes-models/v1/Namespace";
import { parseAllDocuments } from "yaml";
import { fleetCommand } from "../../../src/cli/commands/fleet";
import { HOST_MOUNTS, objectName } from "../../../src/fleet/manifest";
import { memoryIo } from "../../../src/ui/io";
import { ROOT } from "../../helpers/binary";

const NODES = {
  apiVersion: "v1",
  kind: "List",
  items: [
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "node-a", labels: { "kubernetes.io/os": "linux" } },
      status: { nodeInfo: { operatingSystem: "linux", architecture: "amd64", containerRuntimeVersion: "containerd://1.7.22" } },
    },
    {
      apiVersion: "v1",
      kind: "Node",
      metadata: { name: "ip-10-0-0-12.eu-west-1.compute.internal" },
      status: { nodeInfo: { operatingSystem: "linux" } },
    },
    { apiVersion: "v1", kind: "Node", metadata: { name: "win-1" }, status: { nodeInfo: { operatingSystem: "windows" } } },
  ],
};

async function run(argv: string[], stdin = "") {
  const io = memoryIo();
  const code = await fleetCommand(argv, io, async () => stdin);
  return { code, out: io.out.join(""), err: io.err.join("") };
}

function docs(yamlText: string): any[] {
  return parseAllDocuments(yamlText).map((d) => {
    expect(d.errors).toEqual([]);
    return d.toJS();
  });
}

/** Each object through the Kubernetes API schema (kubernetes-models throws on a violation). */
function validate(o: any): void {
  const Model = { Namespace, ConfigMap, Job, DaemonSet }[o.kind as "Job"];
  expect(Model).toBeDefined();
  new (Model as any)(o).validate();
  expectKnownFields(o);
}

/**
 * kubernetes-models checks types, enums and required fields but lets unknown fields through
 * (the API server would drop or refuse them). Every key we write must be a field of its type:
 * the field names are read from the package's compiled validators (`data.<field>`).
 */
const SCHEMAS = path.join(ROOT, "node_modules/kubernetes-models/_schemas");
function fields(type: string): Set<string> {
  const file =
    type === "ObjectMeta"
      ? path.join(ROOT, "node_modules/@kubernetes-models/apimachinery/_schemas/IoK8sApimachineryPkgApisMetaV1ObjectMeta.js")
      : path.join(SCHEMAS, `IoK8sApi${type}.js`);
  return new Set([...readFileSync(file, "utf8").matchAll(/data\.([A-Za-z]+)/g)].map((m) => m[1]!));
}
function expectKnown(o: any, type: string, where: string): void {
  if (o === undefined) return;
  const known = fields(type);
  for (const k of Object.keys(o)) expect(`${where}.${k}: ${known.has(k) ? "known" : "unknown"}`).toBe(`${where}.${k}: known`);
}
function expectKnownFields(o: any): void {
  expectKnown(o.metadata, "ObjectMeta", "metadata");
  if (o.kind === "Namespace") return;
  if (o.kind === "ConfigMap") {
    expectKnown(o, "CoreV1ConfigMap", "configMap");
    return;
  }
  expectKnown(o.spec, o.kind === "Job" ? "BatchV1JobSpec" : "AppsV1DaemonSetSpec", "spec");
  expectKnown(o.spec.template, "CoreV1PodTemplateSpec", "template");
  expectKnown(o.spec.template.metadata, "ObjectMeta", "template.metadata");
  const pod = o.spec.template.spec;
  expectKnown(pod, "CoreV1PodSpec", "pod");
  for (const t of pod.tolerations ?? []) expectKnown(t, "CoreV1Toleration", "toleration");
  for (const v of pod.volumes ?? []) {
    expectKnown(v, "CoreV1Volume", "volume");
    expectKnown(v.hostPath, "CoreV1HostPathVolumeSource", "hostPath");
    expectKnown(v.secret, "CoreV1SecretVolumeSource", "secret");
    expectKnown(v.emptyDir, "CoreV1EmptyDirVolumeSource", "emptyDir");
    expectKnown(v.configMap, "CoreV1ConfigMapVolumeSource", "configMap");
  }
  for (const c of [...(pod.containers ?? []), ...(pod.initContainers ?? [])]) {
    expectKnown(c, "CoreV1Container", "container");
    expectKnown(c.securityContext, "CoreV1SecurityContext", "securityContext");
    expectKnown(c.securityContext?.capabilities, "CoreV1Capabilities", "capabilities");
    expectKnown(c.securityContext?.seccompProfile, "CoreV1SeccompProfile", "seccompProfile");
    expectKnown(c.resources, "CoreV1ResourceRequirements", "resources");
    for (const e of c.env ?? []) expectKnown(e, "CoreV1EnvVar", "env");
    for (const m of c.volumeMounts ?? []) expectKnown(m, "CoreV1VolumeMount", "volumeMount");
  }
}

function podSpecs(objects: any[]): any[] {
  return objects.filter((o) => o.kind === "Job" || o.kind === "DaemonSet").map((o) => o.spec.template.spec);
}

describe("fleet manifest", () => {
  test("one Job per Linux node, pinned by nodeName, valid against the Kubernetes schema", async () => {
    const r = await run(
      [
        "manifest",
        "--nodes",
        "-",
        "--image",
        "registry.example/pulldoctor:0.1.0",
        "--pull-secret",
        "regcred",
        "nginx:1.27",
        "ghcr.io/a/b:1",
      ],
      JSON.stringify(NODES),
    );
    expect(r.code).toBe(0);
    expect(r.err).toContain("skipped node win-1: windows node");
    const objects = docs(r.out);
    for (const o of objects) validate(o);
    expect(objects.map((o) => o.kind)).toEqual(["Namespace", "ConfigMap", "Job", "Job"]);
    // `check` takes one IMAGE: several go in a ConfigMap holding a Pod that names them, read with -f.
    const images = objects.find((o) => o.kind === "ConfigMap");
    expect(images.metadata).toMatchObject({ name: "pulldoctor-images", namespace: "pulldoctor" });
    expect(JSON.parse(images.data["images.json"]).spec.containers).toEqual([
      { name: "image-1", image: "nginx:1.27" },
      { name: "image-2", image: "ghcr.io/a/b:1" },
    ]);
    const jobs = objects.filter((o) => o.kind === "Job");
    expect(jobs.map((j) => j.spec.template.spec.nodeName)).toEqual(["node-a", "ip-10-0-0-12.eu-west-1.compute.internal"]);
    for (const j of jobs) {
      expect(j.metadata.name.length).toBeLessThanOrEqual(63);
      expect(j.metadata.name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
      expect(j.metadata.namespace).toBe("pulldoctor");
      expect(j.spec.ttlSecondsAfterFinished).toBeGreaterThan(0);
      expect(j.spec.template.spec.restartPolicy).toBe("Never");
    }
    for (const spec of podSpecs(objects)) {
      expect(spec.hostNetwork).toBe(true);
      expect(spec.dnsPolicy).toBe("Default");
      expect(spec.automountServiceAccountToken).toBe(false);
      expect(spec.tolerations).toEqual([{ operator: "Exists" }]);
      const c = spec.containers[0];
      expect(c.image).toBe("registry.example/pulldoctor:0.1.0");
      expect(c.args).toEqual([
        "check",
        "--json",
        "--client",
        "auto",
        "--pull-secret",
        "/var/run/pulldoctor/pull-secrets/regcred/.dockerconfigjson",
        "-f",
        "/var/run/pulldoctor/images/images.json",
      ]);
      expect(spec.volumes).toContainEqual({ name: "images", configMap: { name: "pulldoctor-images" } });
      expect(c.volumeMounts).toContainEqual({ name: "images", mountPath: "/var/run/pulldoctor/images", readOnly: true });
      expect(c.env).toContainEqual({ name: "PULLDOCTOR_JSON_LINES", value: "1" });
      expect(c.securityContext).toMatchObject({
        runAsUser: 0,
        allowPrivilegeEscalation: false,
        readOnlyRootFilesystem: true,
        privileged: false,
        capabilities: { drop: ["ALL"] },
      });
      expect(c.resources.requests).toBeDefined();
      expect(c.resources.limits).toBeDefined();
      // Every host path read-only, at the path the node's clients read.
      for (const m of HOST_MOUNTS) {
        expect(spec.volumes).toContainEqual({ name: m.name, hostPath: { path: m.path, type: m.type } });
        expect(c.volumeMounts).toContainEqual({ name: m.name, mountPath: m.path, readOnly: true });
      }
      expect(spec.volumes).toContainEqual({ name: "pull-secret-0", secret: { secretName: "regcred", defaultMode: 0o400 } });
      expect(c.volumeMounts).toContainEqual({
        name: "pull-secret-0",
        mountPath: "/var/run/pulldoctor/pull-secrets/regcred",
        readOnly: true,
      });
      for (const m of c.volumeMounts) if (m.name !== "tmp") expect(m.readOnly).toBe(true);
    }
    const paths = HOST_MOUNTS.map((m) => m.path);
    for (const p of [
      "/etc/containerd",
      "/etc/docker",
      "/etc/containers",
      "/etc/crio",
      "/var/lib/kubelet/config.json",
      "/etc/resolv.conf",
      "/etc/hosts",
    ])
      expect(paths).toContain(p);
    for (const rt of ["containerd", "docker", "crio"]) expect(paths).toContain(`/etc/systemd/system/${rt}.service.d`);
  });

  test("--daemonset: one DaemonSet, the check as its init container, --client and --namespace passed through", async () => {
    const r = await run(["manifest", "--daemonset", "--namespace", "ops", "--client", "kubelet", "alpine:3"]);
    expect(r.code).toBe(0);
    const objects = docs(r.out);
    expect(objects.map((o) => o.kind)).toEqual(["DaemonSet"]);
    for (const o of objects) validate(o);
    const ds = objects[0];
    expect(ds.metadata.namespace).toBe("ops");
    const spec = ds.spec.template.spec;
    expect(spec.initContainers[0].args).toEqual(["check", "--json", "--client", "kubelet", "alpine:3"]);
    expect(spec.containers[0].args).toEqual(["fleet", "hold"]);
    expect(spec.containers[0].securityContext.runAsNonRoot).toBe(true);
    expect(spec.tolerations).toEqual([{ operator: "Exists" }]);
  });

  test("the validator refuses a broken object (so the checks above can fail)", () => {
    expect(() =>
      new Job({ spec: { template: { spec: { containers: [{ name: "x", securityContext: { runAsUser: "root" } }] } } } } as any).validate(),
    ).toThrow();
  });

  test("-f FILE: the images and imagePullSecrets of a Kubernetes manifest", async () => {
    const file = `${require("node:os").tmpdir()}/pd-fleet-${process.pid}.yaml`;
    await Bun.write(
      file,
      `apiVersion: batch/v1
kind: CronJob
metadata: {name: c}
spec:
  schedule: "* * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          imagePullSecrets: [{name: corp-pull}]
          initContainers: [{name: i, image: "busybox:1.36"}]
          containers: [{name: a, image: "registry.corp/app:2"}]
`,
    );
    const r = await run(["manifest", "--daemonset", "-f", file]);
    require("node:fs").rmSync(file);
    expect(r.code).toBe(0);
    const c = docs(r.out).find((o) => o.kind === "DaemonSet").spec.template.spec.initContainers[0];
    expect(c.args).toEqual([
      "check",
      "--json",
      "--client",
      "auto",
      "--pull-secret",
      "/var/run/pulldoctor/pull-secrets/corp-pull/.dockerconfigjson",
      "-f",
      "/var/run/pulldoctor/images/images.json",
    ]);
    const images = JSON.parse(docs(r.out).find((o) => o.kind === "ConfigMap").data["images.json"]);
    expect(images.spec.containers.map((x: any) => x.image)).toEqual(["registry.corp/app:2", "busybox:1.36"]);
  });

  test("-f FILE is read by src/inputs: a compose file, a plain list, and a bad reference named with its line", () => {
    const { imagesOfFile } = require("../../../src/cli/commands/fleet");
    expect(imagesOfFile("c.yaml", "services:\n  web: {image: nginx:1.27}\n  db: {image: postgres:16}\n")).toEqual({
      images: ["nginx:1.27", "postgres:16"],
      pullSecrets: [],
    });
    expect(imagesOfFile("l.txt", "# images\nnginx:1.27\nregistry.corp/app:2 # the app\n")).toEqual({
      images: ["nginx:1.27", "registry.corp/app:2"],
      pullSecrets: [],
    });
    const bad = imagesOfFile(
      "k.yaml",
      "apiVersion: v1\nkind: Pod\nmetadata: {name: p}\nspec:\n  containers: [{name: a, image: 'nginx::1'}]\n",
    );
    expect(bad.error).toMatch(/^-f k\.yaml: INPUT_IMAGE_INVALID: .*k\.yaml/);
  });

  test.each([
    ["not JSON", "nodes: [a]", /--nodes - \(standard input\) is not JSON \(it looks like YAML/],
    ["empty", "", /--nodes - \(standard input\) is empty/],
    ["a Pod list", JSON.stringify({ kind: "PodList", items: [] }), /is not a list of nodes/],
    [
      "a nameless node",
      JSON.stringify({ kind: "List", items: [{ kind: "Node", metadata: {} }] }),
      /item 0: metadata.name null is not a node name/,
    ],
  ])("bad --nodes input (%s) is misuse naming the input", async (_n, input, message) => {
    const r = await run(["manifest", "--nodes", "-", "x:1"], input);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
    expect(r.out).toBe("");
  });

  test("a missing --nodes file is named", async () => {
    const r = await run(["manifest", "--nodes", "/nonexistent/nodes.json", "x:1"]);
    expect(r.code).toBe(2);
    expect(r.err).toContain("--nodes /nonexistent/nodes.json: cannot read it");
  });

  test.each([
    [["manifest", "x:1"], /needs --nodes FILE\|- .* or --daemonset/],
    [["manifest", "--daemonset"], /needs an IMAGE/],
    [["manifest", "--daemonset", "--client", "crio", "x:1"], /--client takes auto/],
    [["manifest", "--daemonset", "--namespace", "Bad_NS", "x:1"], /not a namespace name/],
    [["manifest", "--daemonset", "--bogus", "x:1"], /unknown flag for fleet: --bogus/],
  ])("misuse %p", async (argv, message) => {
    const r = await run(argv as string[]);
    expect(r.code).toBe(2);
    expect(r.err).toMatch(message);
  });

  test("object names: DNS-1123 labels of at most 63 characters, distinct for long names sharing a prefix", () => {
    const a = objectName("pulldoctor-", `${"x".repeat(70)}.a`);
    const b = objectName("pulldoctor-", `${"x".repeat(70)}.b`);
    expect(a).not.toBe(b);
    for (const n of [a, b, objectName("pulldoctor-", "Node_1")]) expect(n).toMatch(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/);
  });
});
