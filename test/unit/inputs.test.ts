import { describe, expect, test } from "bun:test";
import { readFile, writeFile } from "node:fs/promises";
import path from "node:path";
import fc from "fast-check";
import { DaemonSet } from "kubernetes-models/apps/v1/DaemonSet";
import { Deployment } from "kubernetes-models/apps/v1/Deployment";
import { ReplicaSet } from "kubernetes-models/apps/v1/ReplicaSet";
import { StatefulSet } from "kubernetes-models/apps/v1/StatefulSet";
import { CronJob } from "kubernetes-models/batch/v1/CronJob";
import { Job } from "kubernetes-models/batch/v1/Job";
import { Pod } from "kubernetes-models/v1/Pod";
import { ReplicationController } from "kubernetes-models/v1/ReplicationController";
import { Service } from "kubernetes-models/v1/Service";
import { parseAllDocuments } from "yaml";
import { interpolate } from "../../src/inputs/compose";
import { parseJsonWithLines } from "../../src/inputs/json-lines";
import { InputCollector, MAX_SOURCES, readInputs } from "../../src/inputs/read";
import { Lines } from "../../src/inputs/tree";
import { tempDir } from "../helpers/context";

const OPTS = { all: false, env: {} as Record<string, string>, cwd: "/work/proj" };

function read(file: string, text: string, over: Partial<typeof OPTS> = {}) {
  const c = new InputCollector({ ...OPTS, ...over });
  c.add(file, text);
  return c.done();
}

/** The line (1-based) of the first line of `text` that contains `needle`, counted from the top. */
function lineOf(text: string, needle: string, nth = 0): number {
  const lines = text.split("\n");
  let seen = 0;
  for (let i = 0; i < lines.length; i++) if (lines[i]!.includes(needle) && seen++ === nth) return i + 1;
  throw new Error(`no ${needle}`);
}

const COMPOSE = `name: shop
x-defaults: &defaults
  restart: always
  platform: linux/arm64
services:
  web:
    image: nginx:1.27
    ports: ["80:80"]
  api:
    <<: *defaults
    image: \${REGISTRY:-ghcr.io/acme}/api:\${TAG}
  worker:
    build: ./worker
  cache:
    image: redis:7
    profiles: [debug]
  tools:
    image: acme/tools:1
    build: ./tools
    pull_policy: build
  broken:
    restart: always
  web2:
    image: nginx:1.27
    container_name: frontend
`;

describe("compose files", () => {
  const r = read("compose.yaml", COMPOSE, { env: { TAG: "2.0" } });

  test("services.*.image, profiles included, interpolated, with each service's platform (merge keys followed)", () => {
    expect(r.images.map((i) => [i.image, i.platform])).toEqual([
      ["nginx:1.27", null],
      ["ghcr.io/acme/api:2.0", "linux/arm64"],
      ["redis:7", null],
    ]);
    expect(r.files).toEqual([{ file: "compose.yaml", formats: ["compose"], documents: 1 }]);
  });

  test("one image named by two services is one image with two sources, each with its line", () => {
    const nginx = r.images[0]!;
    expect(nginx.sourceCount).toBe(2);
    expect(nginx.sources).toEqual([
      { file: "compose.yaml", document: 1, object: "service/web", container: "web", line: lineOf(COMPOSE, "image: nginx") },
      { file: "compose.yaml", document: 1, object: "service/web2", container: "frontend", line: lineOf(COMPOSE, "image: nginx", 1) },
    ]);
  });

  test("build-only services (and pull_policy: build) are built locally, not pulled", () => {
    expect(r.builtLocally.map((b) => [b.source.object, b.image])).toEqual([
      ["service/worker", "shop-worker"],
      ["service/tools", "acme/tools:1"],
    ]);
  });

  test("a service with neither image nor build is INPUT_NO_IMAGES at its line", () => {
    expect(r.findings.map((f) => [f.code, f.evidence])).toEqual([
      ["INPUT_NO_IMAGES", { file: "compose.yaml", document: 1, line: lineOf(COMPOSE, "broken:"), object: "service/broken" }],
    ]);
    expect(r.findings[0]!.stage).toBe("reference");
    expect(r.findings[0]!.detail).toContain("compose.yaml, document 1, line 21 (service/broken)");
  });

  test("DOCKER_DEFAULT_PLATFORM is the platform of services without one; the project name falls back to the directory", () => {
    const c = read("/srv/My Proj/compose.yaml", "services:\n  a:\n    image: alpine:3\n  b:\n    build: .\n", {
      env: { DOCKER_DEFAULT_PLATFORM: "linux/amd64" },
    });
    expect(c.images[0]!.platform).toBe("linux/amd64");
    expect(c.builtLocally[0]!.image).toBe("myproj-b");
  });

  test("a compose file without services is INPUT_NO_SERVICES; one with a non-mapping services too", () => {
    const a = read("c.yaml", "version: '3.8'\nvolumes:\n  data: {}\n");
    expect(a.findings.map((f) => [f.code, f.evidence.line])).toEqual([["INPUT_NO_SERVICES", 1]]);
    const b = read("c.yaml", "name: x\nservices: []\n");
    expect(b.findings.map((f) => [f.code, f.evidence.line])).toEqual([["INPUT_NO_SERVICES", 2]]);
  });

  test("interpolation as compose does it", () => {
    const env = { A: "a", E: "" };
    // biome-ignore lint/suspicious/noTemplateCurlyInString: compose's own ${VAR} syntax is the input under test
    expect(interpolate("$A ${A} $$A ${B:-x} ${E:-y} ${E-z} ${A:+set} ${B+no} ${B}", env)).toBe("a a $A x y  set  ");
  });
});

const K8S = `---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web, namespace: prod}
spec:
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      imagePullSecrets: [{name: regcred}]
      initContainers:
        - name: migrate
          image: acme/migrate:1
        - name: proxy
          image: envoyproxy/envoy:v1.31
          restartPolicy: Always
      containers:
        - name: web
          image: nginx:1.27
      volumes:
        - name: models
          image: {reference: "ghcr.io/acme/models:v3", pullPolicy: IfNotPresent}
---
apiVersion: v1
kind: Service
metadata: {name: web}
spec: {ports: [{port: 80}]}
---
apiVersion: batch/v1
kind: CronJob
metadata: {name: report}
spec:
  schedule: "0 * * * *"
  jobTemplate:
    spec:
      template:
        spec:
          imagePullSecrets: [{name: other}]
          containers: [{name: report, image: "nginx:1.27"}]
---
apiVersion: v1
kind: List
items:
  - apiVersion: apps/v1
    kind: StatefulSet
    metadata: {name: db}
    spec:
      serviceName: db
      selector: {matchLabels: {app: db}}
      template: {metadata: {labels: {app: db}}, spec: {containers: [{name: db, image: postgres:16}]}}
  - apiVersion: apps/v1
    kind: DaemonSet
    metadata: {name: agent}
    spec:
      selector: {matchLabels: {app: agent}}
      template: {metadata: {labels: {app: agent}}, spec: {containers: [{name: a, image: Acme/Agent}]}}
---
apiVersion: v1
kind: Pod
metadata: {name: debug}
spec:
  containers: [{name: main, image: busybox:1.36}]
  ephemeralContainers: [{name: dbg, image: "nicolaka/netshoot"}]
---
apiVersion: apps/v1
kind: ReplicaSet
metadata: {name: empty}
spec:
  selector: {matchLabels: {app: empty}}
  template: {metadata: {labels: {app: empty}}, spec: {containers: [{name: x}]}}
---
apiVersion: v1
kind: ReplicationController
metadata: {name: rc}
spec: {template: {spec: {containers: [{name: rc, image: "registry.k8s.io/pause:3.10"}]}}}
---
apiVersion: batch/v1
kind: Job
metadata: {name: once}
spec: {template: {spec: {containers: [{name: j, image: "alpine@sha256:${"a".repeat(64)}"}]}}}
`;

describe("Kubernetes manifests", () => {
  const r = read("k8s.yaml", K8S);
  const byImage = new Map(r.images.map((i) => [i.image, i]));

  test("the test's manifests are valid Kubernetes objects (the API schema, kubernetes-models)", () => {
    const models: Record<string, new (o: never) => { validate(): void }> = {
      Deployment,
      StatefulSet,
      DaemonSet,
      ReplicaSet,
      ReplicationController,
      Job,
      CronJob,
      Pod,
      Service,
    };
    const objects = parseAllDocuments(K8S).flatMap((d) => {
      const o = d.toJS();
      return o.kind === "List" ? o.items : [o];
    });
    expect(objects).toHaveLength(9);
    for (const o of objects) expect(() => new models[o.kind]!(o as never).validate(), o.kind).not.toThrow();
  });

  test("every workload kind, List items, containers, init containers, sidecars, ephemeral containers and image volumes", () => {
    expect([...byImage.keys()]).toEqual([
      "nginx:1.27",
      "acme/migrate:1",
      "envoyproxy/envoy:v1.31",
      "ghcr.io/acme/models:v3",
      "postgres:16",
      "busybox:1.36",
      "nicolaka/netshoot",
      "registry.k8s.io/pause:3.10",
      `alpine@sha256:${"a".repeat(64)}`,
    ]);
    expect(byImage.get("envoyproxy/envoy:v1.31")!.sources[0]!.container).toBe("sidecar:proxy");
    expect(byImage.get("acme/migrate:1")!.sources[0]!.container).toBe("init:migrate");
    expect(byImage.get("nicolaka/netshoot")!.sources[0]!.container).toBe("ephemeral:dbg");
    expect(byImage.get("ghcr.io/acme/models:v3")!.sources[0]).toEqual({
      file: "k8s.yaml",
      document: 1,
      object: "Deployment/prod/web",
      container: "volume:models",
      line: lineOf(K8S, "reference:"),
    });
  });

  test("a CronJob's template is read; pod specs naming other pull secrets keep the image apart, as kubelet pulls it twice", () => {
    const nginx = r.images.filter((i) => i.image === "nginx:1.27");
    expect(nginx.map((i) => [i.pullSecrets, i.sources.map((s) => [s.document, s.object, s.line])])).toEqual([
      [["regcred"], [[1, "Deployment/prod/web", lineOf(K8S, "image: nginx")]]],
      [["other"], [[3, "CronJob/report", lineOf(K8S, 'image: "nginx')]]],
    ]);
  });

  test("an invalid image and an object with no image are findings naming file, document and line; the rest still come", () => {
    expect(r.findings.map((f) => [f.code, f.evidence])).toEqual([
      [
        "INPUT_IMAGE_INVALID",
        { file: "k8s.yaml", document: 4, line: lineOf(K8S, "Acme/Agent"), object: "DaemonSet/agent", image: "Acme/Agent", container: "a" },
      ],
      ["INPUT_NO_IMAGES", { file: "k8s.yaml", document: 6, line: lineOf(K8S, "kind: ReplicaSet"), object: "ReplicaSet/empty" }],
    ]);
    expect(r.findings[0]!.detail).toContain("must be lowercase");
  });

  test("the same objects as JSON (a List) give the same images, with JSON lines", () => {
    const json = JSON.stringify(
      {
        apiVersion: "v1",
        kind: "List",
        items: [
          {
            apiVersion: "apps/v1",
            kind: "Deployment",
            metadata: { name: "w" },
            spec: { template: { spec: { containers: [{ name: "w", image: "nginx:1.27" }] } } },
          },
        ],
      },
      null,
      2,
    );
    const j = read("k.json", json);
    expect(j.images.map((i) => [i.image, i.sources[0]!.line])).toEqual([["nginx:1.27", lineOf(json, '"image"')]]);
  });
});

function pod(name: string, image: string, waiting: { reason: string; message?: string } | null, extra: object = {}) {
  return {
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name, namespace: "default" },
    spec: { containers: [{ name: "app", image }], ...extra },
    status: {
      phase: "Pending",
      containerStatuses: [
        { name: "app", image, ready: false, state: waiting ? { waiting } : { running: { startedAt: "2026-12-06T10:00:00Z" } } },
      ],
    },
  };
}

describe("kubectl get pods -o json", () => {
  const msg = 'Back-off pulling image "reg.example.com/app:1": ErrImagePull: failed to resolve reference';
  const list = {
    apiVersion: "v1",
    kind: "List",
    items: [
      pod("a", "reg.example.com/app:1", { reason: "ImagePullBackOff", message: msg }, { imagePullSecrets: [{ name: "pull" }] }),
      pod("b", "nginx:1.27", null),
      pod("c", "Bad/Name", { reason: "InvalidImageName", message: "couldn't parse image reference" }),
      pod("d", "redis:7", { reason: "CrashLoopBackOff" }),
      pod("e", "ghcr.io/acme/x:2", { reason: "ErrImagePull", message: "denied" }),
    ],
  };
  const text = JSON.stringify(list, null, 2);

  test("only containers waiting on a pull are taken, with kubelet's reason and message", () => {
    const r = read("pods.json", text);
    expect(r.images.map((i) => [i.image, i.waitingReason, i.waitingMessage, i.pullSecrets])).toEqual([
      ["reg.example.com/app:1", "ImagePullBackOff", msg, ["pull"]],
      ["ghcr.io/acme/x:2", "ErrImagePull", "denied", []],
    ]);
    expect(r.findings.map((f) => [f.code, f.evidence.object])).toEqual([["INPUT_IMAGE_INVALID", "Pod/default/c"]]);
    expect(r.files[0]!.formats).toEqual(["kubectl-pods"]);
  });

  test("--all takes every container, the waiting ones with their state", () => {
    const r = read("pods.json", text, { all: true });
    expect(r.images.map((i) => [i.image, i.waitingReason])).toEqual([
      ["reg.example.com/app:1", "ImagePullBackOff"],
      ["nginx:1.27", null],
      ["redis:7", "CrashLoopBackOff"],
      ["ghcr.io/acme/x:2", "ErrImagePull"],
    ]);
  });

  test("a single Pod (kubectl get pod NAME -o json) is read too", () => {
    const r = read("-", JSON.stringify(list.items[0]));
    expect(r.images.map((i) => i.image)).toEqual(["reg.example.com/app:1"]);
  });

  test("10,000 pods on standard input: one entry per distinct image, sources bounded, in bounded time and memory", async () => {
    const items = Array.from({ length: 10_000 }, (_, i) =>
      pod(`p${i}`, `reg.example.com/app:${i % 7}`, { reason: "ErrImagePull", message: "x".repeat(200) }),
    );
    const big = JSON.stringify({ apiVersion: "v1", kind: "List", items }, null, 2);
    Bun.gc(true);
    const before = process.memoryUsage().heapUsed;
    const started = performance.now();
    const r = await readInputs(["-", "-"], { ...OPTS, readFile: async () => "", readStdin: async () => big });
    const ms = performance.now() - started;
    expect(r.images.length).toBe(7);
    // stdin given twice is read once: the same pods are not counted twice over.
    expect(r.images.map((i) => i.sourceCount)).toEqual([2 * 1429, 2 * 1429, 2 * 1429, 2 * 1429, 2 * 1428, 2 * 1428, 2 * 1428]);
    expect(r.images.every((i) => i.sources.length === MAX_SOURCES)).toBe(true);
    expect(ms).toBeLessThan(15_000);
    // The parsed tree is garbage once read: what stays is the seven images.
    Bun.gc(true);
    expect(process.memoryUsage().heapUsed - before).toBeLessThan(64 * 1024 * 1024);
  });
});

describe("bad input", () => {
  test("a document that is not YAML is INPUT_NOT_YAML naming the document and line; other documents still come through", () => {
    const text =
      "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\nspec: {containers: [{name: a, image: alpine:3}]}\n---\nfoo: [1, 2\nbar: 3\n";
    const r = read("mixed.yaml", text);
    expect(r.images.map((i) => i.image)).toEqual(["alpine:3"]);
    expect(r.findings.map((f) => [f.code, f.evidence.document, f.evidence.line])).toEqual([["INPUT_NOT_YAML", 2, 7]]);
  });

  test("a binary file and plain text are findings, not crashes", () => {
    const bin = read("image.tar", "\u0000\u0001\u0002ustar\u0000\tfoo:\n\t- bar\n");
    expect(bin.findings.map((f) => f.code)).toEqual(["INPUT_NOT_YAML"]);
    const txt = read("notes.txt", "just some words");
    expect(txt.findings.map((f) => [f.code, f.evidence.line])).toEqual([["INPUT_UNRECOGNISED", 1]]);
    const map = read("values.yaml", "replicaCount: 2\nimage:\n  repository: nginx\n");
    expect(map.findings[0]!.detail).toContain("keys replicaCount, image");
    const empty = read("empty.yaml", "---\n");
    expect(empty.findings.map((f) => f.code)).toEqual(["INPUT_UNRECOGNISED"]);
  });

  test("broken JSON falls back to YAML's verdict, with its line", () => {
    const r = read("x.json", '{\n  "kind": "Pod",\n  "apiVersion": "v1",\n  "spec": {"containers": [\n');
    expect(r.findings.map((f) => f.code)).toEqual(["INPUT_NOT_YAML"]);
    expect(r.findings[0]!.evidence.line).toBeGreaterThan(1);
  });

  test("a YAML alias bomb (a billion laughs) costs its size in the file, not its expansion; a cycle reads as null", () => {
    const bomb = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 0; i < 8; i++) {
      const [name, prev] = [String.fromCharCode(98 + i), String.fromCharCode(97 + i)];
      bomb.push(`${name}: &${name} [${Array(10).fill(`*${prev}`).join(", ")}]`);
    }
    const started = performance.now();
    const r = read("bomb.yaml", `${bomb.join("\n")}\n`);
    expect(performance.now() - started).toBeLessThan(2_000);
    expect(r.findings.map((f) => f.code)).toEqual(["INPUT_UNRECOGNISED"]);
    const cyc = read("cycle.yaml", "services: &s\n  a:\n    image: alpine:3\n  b: *s\n");
    expect(cyc.images.map((i) => i.image)).toEqual(["alpine:3"]);
  });

  test("files read from disk; an unreadable one is INPUT_UNREADABLE and the others still come", async () => {
    const { dir, cleanup } = tempDir("inputs");
    const good = path.join(dir, "compose.yml");
    await writeFile(good, "services:\n  a:\n    image: alpine:3\n");
    const r = await readInputs([path.join(dir, "missing.yaml"), good], {
      ...OPTS,
      readFile: (p) => readFile(p, "utf8"),
      readStdin: async () => "",
    });
    expect(r.findings.map((f) => f.code)).toEqual(["INPUT_UNREADABLE"]);
    expect(r.findings[0]!.detail).toContain("ENOENT");
    expect(r.images.map((i) => [i.image, i.sources[0]!.file])).toEqual([["alpine:3", good]]);
    cleanup();
  });
});

test("the JSON reader gives what JSON.parse gives", () => {
  // A key named __proto__ is an own property, not the prototype (fast-check found it).
  const proto = parseJsonWithLines('{"__proto__":{"a":1}}', new Lines());
  expect(proto.ok && proto.value).toEqual(JSON.parse('{"__proto__":{"a":1}}'));
  fc.assert(
    fc.property(fc.jsonValue(), fc.boolean(), (v, pretty) => {
      const text = JSON.stringify(v, null, pretty ? 2 : undefined);
      const r = parseJsonWithLines(text, new Lines());
      expect(r.ok).toBe(true);
      if (r.ok) expect(r.value).toEqual(JSON.parse(text));
    }),
    { numRuns: 300 },
  );
});
