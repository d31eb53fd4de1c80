import { expect, test } from "bun:test";
import type { StageEvent } from "../../src/doctor/run";
import type { Finding } from "../../src/model/finding";
import type { Report } from "../../src/model/report";
import type { StageResult } from "../../src/model/stage";
import { plainRenderer } from "../../src/ui/plain";

const EP = "http://127.0.0.1:5000";
const r = (
  id: StageResult["id"],
  status: StageResult["status"],
  durationMs: number,
  summary: string,
  endpoint: string | null = EP,
): StageResult => ({ id, endpoint, status, durationMs, summary, evidence: {} });

const tagMissing = {
  code: "MANIFEST_UNKNOWN",
  severity: "error",
  stage: "manifest",
  endpoint: EP,
  title: "The tag does not exist in the repository",
  detail: "127.0.0.1:5000/demo/app has no tag 1.O; the closest existing tags are 1.0, 1.1.",
  fixes: ["docker pull 127.0.0.1:5000/demo/app:1.0", "List the tags:\ncurl -s http://127.0.0.1:5000/v2/demo/app/tags/list"],
  evidence: {
    status: 404,
    url: "http://127.0.0.1:5000/v2/demo/app/manifests/1.O",
    closestTags: ["1.0", "1.1"],
    errors: [{ code: "MANIFEST_UNKNOWN", message: "manifest unknown" }],
    response: { contentType: "application/json", nested: { no: 1 } },
  },
} as unknown as Finding;

const implicit = {
  code: "REF_IMPLICIT_LATEST",
  severity: "info",
  stage: "reference",
  endpoint: null,
  title: "No tag given: latest is implied",
  detail: "demo/app means demo/app:latest.",
  fixes: [],
  evidence: {},
} as unknown as Finding;

const stages: StageResult[] = [
  r("reference", "pass", 0, "127.0.0.1:5000/demo/app:1.O → registry 127.0.0.1:5000, repository demo/app, tag 1.O", null),
  r("config", "pass", 3, "no client config; no daemon.json", null),
  r("dns", "pass", 0, "127.0.0.1 is an IP literal"),
  r("connect", "warn", 1234, "TCP 127.0.0.1:5000 in 1 ms; plain HTTP (insecure registry)"),
  r("manifest", "fail", 12, "HEAD 404 MANIFEST_UNKNOWN for tag 1.O"),
  r("blob", "skip", 0, "skipped: the manifest stage did not establish manifest"),
];

const report: Report = {
  schemaVersion: 1,
  tool: { name: "pulldoctor", version: "0.1.0" },
  createdAt: "2026-11-23T06:00:00.000Z",
  host: { os: "linux", arch: "amd64", hostname: "h" },
  command: "check",
  input: { image: "127.0.0.1:5000/demo/app:1.O", platform: "linux/amd64" },
  image: {
    registry: "127.0.0.1:5000",
    repository: "demo/app",
    tag: "1.O",
    digest: null,
    canonical: "127.0.0.1:5000/demo/app:1.O",
    familiar: "127.0.0.1:5000/demo/app:1.O",
  },
  stages,
  findings: [implicit, tagMissing],
  verdict: {
    ok: false,
    code: "MANIFEST_UNKNOWN" as Report["verdict"]["code"],
    summary: "The tag does not exist in the repository: 127.0.0.1:5000/demo/app has no tag 1.O.",
  },
  pull: null,
  egress: [],
};

function render(
  color: boolean,
  unicode: boolean,
  events: StageEvent[] = stages.map((result) => ({ type: "result", result, findings: result.id === "manifest" ? [tagMissing] : [] })),
): string {
  let out = "";
  const p = plainRenderer({ write: (s) => (out += s), color, verbose: false, unicode });
  p.onEvent({ type: "start", stage: "reference", title: "Reference", endpoint: null });
  for (const e of events) p.onEvent(e);
  p.finish(report);
  return out;
}

test("the plain renderer's whole output, colour off", () => {
  expect(render(false, true)).toBe(
    [
      "✔ reference 127.0.0.1:5000/demo/app:1.O → registry 127.0.0.1:5000, repository demo/app, tag 1.O (0 ms)",
      "✔ config    no client config; no daemon.json (3 ms)",
      "✔ dns       127.0.0.1 is an IP literal (0 ms)",
      "▲ connect   TCP 127.0.0.1:5000 in 1 ms; plain HTTP (insecure registry) (1.2 s)",
      "✖ manifest  HEAD 404 MANIFEST_UNKNOWN for tag 1.O (12 ms)",
      "    ✖ MANIFEST_UNKNOWN  The tag does not exist in the repository",
      "      127.0.0.1:5000/demo/app has no tag 1.O; the closest existing tags are 1.0, 1.1.",
      "      evidence:",
      "        closestTags: 1.0, 1.1",
      '        errors: {"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}',
      "        status: 404",
      "        url: http://127.0.0.1:5000/v2/demo/app/manifests/1.O",
      "        response.contentType: application/json",
      "      fix:",
      "        • docker pull 127.0.0.1:5000/demo/app:1.0",
      "        • List the tags:",
      "          curl -s http://127.0.0.1:5000/v2/demo/app/tags/list",
      "○ blob      skipped: the manifest stage did not establish manifest",
      "",
      "Summary  127.0.0.1:5000/demo/app:1.O (linux/amd64)",
      "  6 stages: 3 passed, 1 warned, 1 failed, 1 skipped",
      "  1 error, 0 warnings, 1 info",
      "✖ MANIFEST_UNKNOWN: The tag does not exist in the repository: 127.0.0.1:5000/demo/app has no tag 1.O.",
      "",
    ].join("\n"),
  );
});

test("ASCII glyphs when the terminal cannot show Unicode", () => {
  const out = render(false, false);
  expect(out).toContain("[ok] reference ");
  expect(out).toContain("[!!] connect ");
  expect(out).toContain("    [XX] MANIFEST_UNKNOWN  ");
  expect(out).toContain("[--] blob ");
  expect(out).toContain("        * docker pull");
  // (the stage summaries are the stages' own words; only the renderer's symbols are checked)
  expect(out).not.toMatch(/[✔✖▲○•]/);
});

test("no escape codes with colour off; colour on does colour", () => {
  expect(render(false, true)).not.toContain("\u001b[");
  expect(render(true, true)).toContain("\u001b[");
});

test("with several endpoints each endpoint stage names its host", () => {
  const mirror = "https://mirror.example.com";
  const out = render(false, true, [
    {
      type: "plan",
      endpoints: [
        {
          url: mirror,
          host: "mirror.example.com",
          hostname: "mirror.example.com",
          port: 443,
          role: "mirror",
          insecure: false,
          pathPrefix: "",
        },
        {
          url: "https://registry-1.docker.io",
          host: "registry-1.docker.io",
          hostname: "registry-1.docker.io",
          port: 443,
          role: "upstream",
          insecure: false,
          pathPrefix: "",
        },
      ],
    },
    { type: "result", result: r("dns", "pass", 4, "mirror.example.com → 1 address via 10.0.0.2", mirror), findings: [] },
  ]);
  expect(out).toStartWith(
    "Endpoints, in the order Docker tries them: https://mirror.example.com (mirror), https://registry-1.docker.io (upstream)\n",
  );
  expect(out).toContain("✔ dns       @mirror.example.com mirror.example.com → 1 address via 10.0.0.2 (4 ms)\n");
});

test("the endpoint order is said for the judged client, not always Docker", () => {
  const ep = (url: string, role: "mirror" | "upstream") => {
    const host = new URL(url).host;
    return { url, host, hostname: new URL(url).hostname, port: 80, role, insecure: true, pathPrefix: "" };
  };
  const out = render(false, true, [
    {
      type: "plan",
      client: "containerd (ctr, nerdctl)",
      endpoints: [ep("http://127.0.0.1:1", "mirror"), ep("http://127.0.0.1:5000", "upstream")],
    },
  ]);
  expect(out).toStartWith(
    "Endpoints, in the order containerd (ctr, nerdctl) tries them: http://127.0.0.1:1 (mirror), http://127.0.0.1:5000 (upstream)\n",
  );
});

test("verbose prints each HTTP exchange from the trace", () => {
  let out = "";
  const p = plainRenderer({ write: (s) => (out += s), color: false, verbose: true, unicode: true });
  p.onTrace!({
    kind: "http",
    method: "GET",
    url: "http://127.0.0.1:5000/v2/",
    status: 401,
    requestHeaders: { authorization: "<redacted>" },
    responseHeaders: { "www-authenticate": 'Bearer realm="x"' },
    durationMs: 3,
  });
  expect(out).toBe(
    '      → GET http://127.0.0.1:5000/v2/\n        authorization: <redacted>\n      401 (3 ms)\n        www-authenticate: Bearer realm="x"\n',
  );
});

test("brief info findings (interactive): title and detail only; errors keep evidence and fixes", async () => {
  const { findingBlock } = await import("../../src/ui/plain");
  const { makeStyle } = await import("../../src/ui/style");
  const { glyphs } = await import("../../src/ui/glyphs");
  const st = makeStyle(false);
  expect(findingBlock(implicit, false, st, glyphs(true), true)).toBe(
    "    ℹ REF_IMPLICIT_LATEST  No tag given: latest is implied\n      demo/app means demo/app:latest.\n",
  );
  expect(findingBlock(tagMissing, false, st, glyphs(true), true)).toContain("fix:");
});

test("an info finding is its title and detail only; --verbose shows its evidence and fixes too", () => {
  const info = {
    ...implicit,
    fixes: ["pin a digest: docker pull demo/app@sha256:…"],
    evidence: { input: "demo/app" },
  } as unknown as Finding;
  const render = (verbose: boolean) => {
    const out: string[] = [];
    const p = plainRenderer({ write: (s) => void out.push(s), color: false, verbose, unicode: false });
    p.onEvent({
      type: "result",
      result: r("reference", "pass", 0, "demo/app → docker.io/demo/app:latest", null),
      findings: [info],
    } as StageEvent);
    return out.join("");
  };
  const brief = render(false);
  expect(brief).toContain("REF_IMPLICIT_LATEST  No tag given: latest is implied");
  expect(brief).toContain("demo/app means demo/app:latest.");
  expect(brief).not.toContain("pin a digest");
  expect(brief).not.toContain("evidence:");
  expect(render(true)).toContain("pin a digest");
});

test("the summary never echoes control characters the user typed in IMAGE (a reference that did not parse)", async () => {
  const { summaryBlock } = await import("../../src/ui/plain");
  const { makeStyle } = await import("../../src/ui/style");
  const { glyphs } = await import("../../src/ui/glyphs");
  const typed = "ubuntu\x1b[31mRED\x07";
  const text = summaryBlock({ ...report, image: null, input: { ...report.input, image: typed } }, makeStyle(false), glyphs(false));
  expect(text).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
  expect(text).toContain("ubuntu\\x1b[31mRED\\x07");
});
