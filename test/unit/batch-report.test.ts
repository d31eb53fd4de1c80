import { expect, test } from "bun:test";
import { buildBatchReport, renderBatch } from "../../src/cli/commands/batch";
import type { Wanted } from "../../src/cli/commands/many";
import { InputCollector } from "../../src/inputs/read";
import { buildReport } from "../../src/model/report";
import { expectValidReport } from "../helpers/schema";

const JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJlLXNpZ25hdHVyZQ";
// What kubelet puts in a waiting message for a missing tag (containerd's CRI), with a token pasted in.
const msg = (image: string) =>
  `rpc error: code = NotFound desc = failed to pull and unpack image "${image}": failed to resolve reference "${image}": ${image}: not found (Bearer ${JWT})`;

function single(image: string, ok: boolean) {
  return buildReport({
    command: "check",
    image,
    platform: "linux/amd64",
    ref: null,
    stages: [],
    findings: [],
    verdict: ok ? { ok, code: null, summary: "fine" } : { ok, code: "MANIFEST_UNKNOWN", summary: "no such tag" },
  });
}

test("the batch report validates against the published schema; secrets in kubelet messages do not survive", () => {
  const c = new InputCollector({ all: false, env: {}, cwd: "/" });
  const pod = (name: string, image: string) => ({
    apiVersion: "v1",
    kind: "Pod",
    metadata: { name },
    spec: { containers: [{ name: "c", image }], imagePullSecrets: [{ name: `pull-${name}` }] },
    status: { containerStatuses: [{ name: "c", state: { waiting: { reason: "ErrImagePull", message: msg(image) } } }] },
  });
  c.add("pods.json", JSON.stringify({ apiVersion: "v1", kind: "List", items: [pod("a", "r.example/a:1"), pod("b", "Bad/X")] }));
  c.add("compose.yaml", "services:\n  b:\n    build: .\n");
  const inputs = c.done();
  const wanted: Wanted[] = [
    { ...inputs.images[0]! },
    { image: "r.example/b:2", platform: null, sources: [], sourceCount: 0, pullSecrets: [], waitingMessage: null, waitingReason: null },
  ];
  const b = buildBatchReport("check", inputs, wanted, [single("r.example/a:1", false), single("r.example/b:2", true)]);
  expectValidReport(b);
  expect(b.verdict).toEqual({ ok: false, total: 2, failed: 1 });
  expect(b.inputs.map((i) => [i.file, i.findings.map((f) => f.code)])).toEqual([
    ["pods.json", ["INPUT_IMAGE_INVALID"]],
    ["compose.yaml", []],
  ]);
  expect(JSON.stringify(b)).not.toContain(JWT);
  const text = renderBatch(b, wanted);
  expect(text).toContain("kubelet said (ErrImagePull): rpc error: code = NotFound");
  expect(text).toContain("(Bearer <redacted>)");
  // Read as a pasted error: the client and the codes it implies, beside the diagnosis.
  expect(b.images[0]!.waiting!.reads).toEqual({ client: "kubelet", runtime: "containerd", codes: ["MANIFEST_UNKNOWN", "NAME_UNKNOWN"] });
  expect(text).toContain("read as kubelet on containerd's error: MANIFEST_UNKNOWN, NAME_UNKNOWN (the diagnosis agrees: MANIFEST_UNKNOWN)");
  expect(b.images[1]!.waiting).toBeNull();
  expect(text).toContain("(command line)");
  expect(text).toContain("the pod spec names imagePullSecrets pull-a; this check used this host's credentials");
  expect(text).toContain("1 of 2 images should pull; 1 will not.");
  // A single report is still a report, and a batch without its kind is not.
  expectValidReport(single("x", true));
  expect(() => expectValidReport({ ...b, kind: undefined })).toThrow();
});
