import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * `check -f FILE` through the compiled binary against a real docker-registry: a compose file,
 * a multi-document Kubernetes file and a `kubectl get pods -o json` capture, each made here.
 * Every distinct image is diagnosed once; the batch report validates against the schema.
 */
let reg: RegistryPeer;
let home: { dir: string; cleanup: () => void };
let good: string;
let missing: string;
let other: string;

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-many-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "many-a" }));
  await pushImage(reg.url, "team/other", "2.0", buildImage({ label: "many-b" }));
  good = `${reg.host}/team/app:1.0`;
  other = `${reg.host}/team/other:2.0`;
  missing = `${reg.host}/team/app:9.9`;
});
afterAll(async () => {
  await reg?.stop();
  home?.cleanup();
});

const common = () => ["--daemon-config", path.join(home.dir, "none.json"), "--certs-dir", path.join(home.dir, "certs.d"), "--timeout", "5"];
type Batch = {
  kind: string;
  verdict: { ok: boolean; total: number; failed: number };
  images: { image: string; sourceCount: number; sources: { object: string; line: number }[]; waiting: any; report: any }[];
  inputs: { file: string; formats: string[]; findings: { code: string }[] }[];
  builtLocally: { image: string }[];
  egress: { host: string; port: number; roles: string[] }[];
};

test("a compose file: one line per image with its verdict, code and source; each distinct image once; exit 1", async () => {
  const file = path.join(home.dir, "compose.yaml");
  writeFileSync(
    file,
    `services:\n  web:\n    image: ${good}\n  again:\n    image: ${good}\n  gone:\n    image: ${missing}\n    profiles: [old]\n  local:\n    build: .\n  bad:\n    image: "Team/App"\n`,
  );
  const r = await runCli(["check", "-f", file, ...common()], { home: home.dir });
  expect(r.code).toBe(1);
  const lines = r.stdout.split("\n");
  expect(lines[0]).toMatch(/^VERDICT +CODE +IMAGE +FROM$/);
  expect(lines[1]).toMatch(
    new RegExp(`^ok +- +${good.replace(/\./g, "\\.")} +${file.replace(/\./g, "\\.")}:3 service/web \\(web\\) \\+1 more$`),
  );
  expect(lines[2]).toMatch(/^FAIL +MANIFEST_UNKNOWN +/);
  expect(r.stdout).toContain("built locally, not pulled");
  expect(r.stdout).toContain("INPUT_IMAGE_INVALID");
  expect(r.stdout).toContain("1 of 2 images should pull; 1 will not.");
  // The single-image command it offers carries this run's flags, so it diagnoses the same path.
  expect(r.stdout).toContain(
    `  pulldoctor check ${missing} ${common().join(" ")} --client docker --docker-store classic shows every stage\n`,
  );

  const report = path.join(home.dir, "batch.json");
  const j = await runCli(["check", "-f", file, "--json", "--report", report, ...common()], { home: home.dir });
  expect(j.code).toBe(1);
  const b = JSON.parse(j.stdout) as Batch;
  expectValidReport(b);
  expectValidReport(JSON.parse(readFileSync(report, "utf8")));
  expect(b.kind).toBe("batch");
  expect(b.verdict).toEqual({ ok: false, total: 2, failed: 1 });
  expect(b.images.map((i) => [i.image, i.sourceCount, i.report.verdict.code])).toEqual([
    [good, 2, null],
    [missing, 1, "MANIFEST_UNKNOWN"],
  ]);
  expect(b.inputs[0]!.findings.map((f) => f.code)).toEqual(["INPUT_IMAGE_INVALID"]);
  expect(b.builtLocally).toHaveLength(1);
  expect(b.egress.map((e) => `${e.host}:${e.port} ${e.roles}`)).toEqual([`127.0.0.1:${reg.port} registry`]);
});

test("multi-document Kubernetes YAML and a kubectl pods capture on stdin, in one run", async () => {
  const k8s = path.join(home.dir, "app.yaml");
  writeFileSync(
    k8s,
    `apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web}\nspec:\n  template:\n    spec:\n      imagePullSecrets: [{name: regcred}]\n      initContainers: [{name: init, image: "${other}"}]\n      containers: [{name: web, image: "${good}"}]\n---\napiVersion: v1\nkind: Service\nmetadata: {name: web}\n`,
  );
  // containerd's CRI text, as kubelet puts it in the waiting message of a missing tag.
  const waitingMessage = `rpc error: code = NotFound desc = failed to pull and unpack image "${missing}": failed to resolve reference "${missing}": ${missing}: not found`;
  const pods = JSON.stringify({
    apiVersion: "v1",
    kind: "List",
    items: [
      {
        apiVersion: "v1",
        kind: "Pod",
        metadata: { name: "p" },
        spec: { containers: [{ name: "c", image: missing }] },
        status: {
          containerStatuses: [{ name: "c", image: missing, state: { waiting: { reason: "ErrImagePull", message: waitingMessage } } }],
        },
      },
    ],
  });
  const r = await runCli(["check", "-f", k8s, "-f", "-", "--json", ...common()], { home: home.dir, stdin: pods });
  const b = JSON.parse(r.stdout) as Batch;
  expectValidReport(b);
  expect(b.images.map((i) => [i.image, i.sources[0]!.object])).toEqual([
    [good, "Deployment/web"],
    [other, "Deployment/web"],
    [missing, "Pod/p"],
  ]);
  expect(b.images[2]!.waiting).toMatchObject({ reason: "ErrImagePull", message: waitingMessage });
  // Decoded as a pasted error beside the diagnosis, which agrees with it.
  expect(b.images[2]!.waiting.reads).toEqual({ client: "kubelet", runtime: "containerd", codes: ["MANIFEST_UNKNOWN", "NAME_UNKNOWN"] });
  expect(b.images[2]!.report.verdict.code).toBe("MANIFEST_UNKNOWN");
  expect(b.inputs.map((i) => [i.file, i.formats])).toEqual([
    [k8s, ["kubernetes"]],
    ["-", ["kubectl-pods"]],
  ]);
  expect(r.code).toBe(1);
  expect(b.images[0]).toMatchObject({ pullSecrets: ["regcred"] });

  const human = await runCli(["check", "-f", "-", ...common()], { home: home.dir, stdin: pods });
  expect(human.stdout).toContain(`kubelet said (ErrImagePull): ${waitingMessage}`);
  // The table names standard input as such (the JSON keeps "-", the argument given).
  expect(human.stdout).toMatch(/ stdin:\d+ Pod\/p \(c\)\n/);
  expect(human.stdout).toContain(
    "read as kubelet on containerd's error: MANIFEST_UNKNOWN, NAME_UNKNOWN (the diagnosis agrees: MANIFEST_UNKNOWN)",
  );
});

test("no image in the inputs: no empty table; the findings, then a line that says so; exit 1", async () => {
  const r = await runCli(["check", "-f", path.join(home.dir, "absent.yaml"), ...common()], { home: home.dir });
  expect(r.code).toBe(1);
  expect(r.stdout).toStartWith("✖ INPUT_UNREADABLE: The input file cannot be read\n");
  expect(r.stdout).not.toContain("VERDICT");
  expect(r.stdout).toEndWith("\nNo image to pull was found in the inputs.\n");
});

test("images are diagnosed concurrently: four slow images take far less than four times one", async () => {
  // A registry front whose manifest answers take 1.5 s each: the time is the network's, not the CPU's.
  const pings: string[] = [];
  const slow = Bun.serve({
    port: 0,
    hostname: "127.0.0.1",
    async fetch(req) {
      const u = new URL(req.url);
      if (u.pathname === "/v2/") pings.push(req.headers.get("authorization") ? "token" : "anonymous");
      if (u.pathname.includes("/manifests/")) await Bun.sleep(1500);
      const res = await fetch(`${reg.url}${u.pathname}${u.search}`, { method: req.method, headers: req.headers, redirect: "manual" });
      return new Response(req.method === "HEAD" ? null : await res.arrayBuffer(), { status: res.status, headers: res.headers });
    },
  });
  try {
    const host = `127.0.0.1:${slow.port}`;
    const t0 = performance.now();
    const one = await runCli(["check", `${host}/team/app:1.0`, ...common()], { home: home.dir });
    const single = performance.now() - t0;
    expect(one.code, one.stdout).toBe(0);
    const singlePings = pings.splice(0).filter((p) => p === "anonymous").length;
    const file = path.join(home.dir, "four.yaml");
    const images = ["team/app:1.0", "team/other:2.0", `team/app@sha256:${"0".repeat(64)}`, "team/app:9.9"];
    writeFileSync(file, `services:\n${images.map((im, i) => `  s${i}:\n    image: "${host}/${im}"\n`).join("")}`);
    const t1 = performance.now();
    const r = await runCli(["check", "-f", file, "--json", ...common()], { home: home.dir });
    const four = performance.now() - t1;
    const b = JSON.parse(r.stdout) as Batch;
    expect(b.verdict.total).toBe(4);
    expect(four, `one image ${Math.round(single)} ms, four ${Math.round(four)} ms`).toBeLessThan(2.5 * single);
    // The registry's /v2/ probe (anonymous, by the v2 stage) was made once for the four images.
    expect(singlePings).toBe(1);
    expect(pings.filter((p) => p === "anonymous")).toHaveLength(1);
    expect(b.images.filter((i) => i.report.stages.some((s: any) => s.id === "v2" && s.evidence.sharedWithOtherImages))).toHaveLength(3);
    expect(b.images.every((i) => i.report.egress.some((e: any) => e.port === slow.port && e.reached))).toBe(true);
  } finally {
    slow.stop(true);
  }
}, 60_000);
