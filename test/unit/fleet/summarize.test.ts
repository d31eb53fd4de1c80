import { describe, expect, test } from "bun:test";
import { fleetCommand } from "../../../src/cli/commands/fleet";
import { esc, summaryHtml } from "../../../src/fleet/html";
import { readReports } from "../../../src/fleet/reports";
import { summarize } from "../../../src/fleet/summarize";
import { memoryIo } from "../../../src/ui/io";

/** A report as `check --json` writes it, trimmed to what the fleet reads. */
function report(
  node: string,
  opts: { fail?: "dns" | "blob"; servers?: string[]; createdAt?: string; egress?: any[]; schemaVersion?: number; image?: string } = {},
) {
  const reg = "https://registry.example:5000";
  const stages: any[] = [
    { id: "reference", endpoint: null, status: "pass", durationMs: 0, summary: "ok", evidence: {} },
    { id: "config", endpoint: null, status: "pass", durationMs: 0, summary: "ok", evidence: { effective: { mirrors: [] } } },
    {
      id: "dns",
      endpoint: reg,
      status: opts.fail === "dns" ? "fail" : "pass",
      durationMs: 1,
      summary: "dns",
      evidence: { host: "registry.example", servers: (opts.servers ?? ["10.0.0.2"]).map((x) => `${x}:53`), hostsFile: { addresses: null } },
    },
    { id: "proxy", endpoint: reg, status: "pass", durationMs: 0, summary: "direct", evidence: { daemon: { dockerUses: "direct" } } },
    {
      id: "blob",
      endpoint: reg,
      status: opts.fail === "blob" ? "fail" : opts.fail ? "skip" : "pass",
      durationMs: 0,
      summary: "blob",
      evidence: {},
    },
  ];
  const findings: any[] = [];
  if (opts.fail === "dns")
    findings.push({
      code: "DNS_SERVFAIL",
      severity: "error",
      stage: "dns",
      endpoint: reg,
      title: "The DNS server failed",
      detail: "registry.example: SERVFAIL",
      fixes: ["getent hosts registry.example"],
      evidence: {},
    });
  if (opts.fail === "blob")
    findings.push({
      code: "BLOB_REDIRECT_UNREACHABLE",
      severity: "error",
      stage: "blob",
      endpoint: reg,
      title: "Blobs are served from a host this machine cannot reach",
      detail: "cdn",
      fixes: ["allow cdn.example:443"],
      evidence: { host: "cdn.example" },
    });
  return {
    schemaVersion: opts.schemaVersion ?? 1,
    tool: { name: "pulldoctor", version: "0.1.0" },
    createdAt: opts.createdAt ?? "2026-12-01T10:00:00.000Z",
    host: { os: "linux", arch: "amd64", hostname: node },
    command: "check",
    input: { image: opts.image ?? "registry.example:5000/app:1", platform: "linux/amd64" },
    image: null,
    stages,
    findings,
    verdict: { ok: !opts.fail, code: findings[0]?.code ?? null, summary: opts.fail ? "fails" : "The pull should succeed." },
    pull: null,
    ...(opts.egress ? { egress: opts.egress } : {}),
  };
}

const line = (r: object) => JSON.stringify(r);
const prefixed = (pod: string, r: object) => `[pod/${pod}/check] ${line(r)}`;

async function run(argv: string[], stdin: string) {
  const io = memoryIo();
  const code = await fleetCommand(["summarize", ...argv], io, async () => stdin);
  return { code, out: io.out.join(""), err: io.err.join("") };
}

describe("fleet summarize", () => {
  const five = [
    report("n1"),
    report("n2", { fail: "dns", servers: ["10.9.9.9"] }),
    report("n3"),
    report("n4", { fail: "dns", servers: ["10.9.9.9"] }),
    report("n5", { fail: "blob" }),
  ];

  test("kubectl logs --prefix input: per node, per code with the exact nodes, and the resolver that differs", async () => {
    const text = five.map((r, i) => prefixed(`pulldoctor-n${i + 1}-abcde`, r)).join("\n");
    const r = await run([], text);
    expect(r.code).toBe(1);
    expect(r.out).toContain("5 nodes: 2 can pull, 3 cannot.");
    expect(r.out).toContain("2 of 5 nodes cannot reach registry.example:5000 (DNS_SERVFAIL: The DNS server failed): n2, n4");
    expect(r.out).toContain("1 of 5 nodes cannot reach cdn.example (BLOB_REDIRECT_UNREACHABLE");
    expect(r.out).toMatch(
      /resolver:\n {4}failing: 10\.9\.9\.9 {2}\(n2, n4\)\n {4}failing: 10\.0\.0\.2 {2}\(n5\)\n {4}healthy: 10\.0\.0\.2 {2}\(n1, n3\)/,
    );
    expect(r.out).not.toContain("mirrors:");
  });

  test("--json: the same as an object", async () => {
    const r = await run(["--json"], five.map(line).join("\n"));
    const s = JSON.parse(r.out);
    expect(s.nodes).toBe(5);
    expect(s.failing).toBe(3);
    expect(s.perNode.map((n: any) => [n.node, n.ok, n.code])).toEqual([
      ["n1", true, null],
      ["n2", false, "DNS_SERVFAIL"],
      ["n3", true, null],
      ["n4", false, "DNS_SERVFAIL"],
      ["n5", false, "BLOB_REDIRECT_UNREACHABLE"],
    ]);
    expect(s.perCode.find((g: any) => g.code === "DNS_SERVFAIL").nodes).toEqual(["n2", "n4"]);
    expect(s.configDiff.map((d: any) => d.trait)).toEqual(["resolver"]);
  });

  test("lines that are not reports are counted and named; a newer schema is read; the newer report of a node wins", async () => {
    const newer = { ...report("n1", { fail: "dns", createdAt: "2026-12-01T11:00:00.000Z", schemaVersion: 2 }), futureField: { x: 1 } };
    const text = [
      'Error from server (BadRequest): container "check" in pod "pulldoctor-x" is waiting to start: trying and failing to pull image',
      prefixed("pulldoctor-n1-a", report("n1")),
      "[pod/pulldoctor-n2-b/check] not json at all",
      prefixed("pulldoctor-n1-c", newer),
      '{"schemaVersion": 1}',
    ].join("\n");
    const r = await run([], text);
    expect(r.out).toContain("3 lines skipped: not a report (stdin:1, stdin:3, stdin:5)");
    expect(r.out).toContain("1 older report replaced by a newer one for the same node and image");
    expect(r.out).toContain("1 report has a newer schemaVersion");
    expect(r.out).toContain("1 node: 0 can pull, 1 cannot.");
    expect(r.out).toMatch(/FAIL {2}n1 {2}DNS_SERVFAIL/);
  });

  test("a report file (pretty-printed), a batch report, and the pod name when the report has no hostname", () => {
    const batch = {
      schemaVersion: 1,
      kind: "batch",
      createdAt: "2026-12-01T10:00:00.000Z",
      host: { os: "linux", arch: "amd64", hostname: "" },
      images: [
        { image: "a:1", sources: [], report: report("ignored") },
        { image: "b:1", sources: [], report: report("ignored", { fail: "blob" }) },
      ],
      verdict: { ok: false, total: 2, failed: 1 },
    };
    const read = readReports([
      { name: "n7.json", text: JSON.stringify(report("n7"), null, 2) },
      { name: "logs", text: prefixed("pulldoctor-n8-x", batch) },
    ]);
    expect(read.skipped).toEqual([]);
    expect(read.reports.map((r) => r.node)).toEqual(["n7", "pulldoctor-n8-x"]);
    const b = read.reports[1]!;
    expect(b.ok).toBe(false);
    expect(b.code).toBe("BLOB_REDIRECT_UNREACHABLE");
    expect(b.stages.filter((s) => s.id === "blob").map((s) => [s.image, s.status])).toEqual([
      ["a:1", "pass"],
      ["b:1", "fail"],
    ]);
  });

  test("the judged client per node; client, store and mirrors (the judged client's hosts) compared", async () => {
    /** A report's `client` and its config stage's evidence as `check --client auto` writes them now. */
    const withClient = (
      r: any,
      client: { name: string; store: string | null },
      hosts: { url: string; role: string }[],
      daemonMirrors: string[] = [],
    ) => {
      const config = r.stages.find((st: any) => st.id === "config");
      config.evidence = { effective: { mirrors: daemonMirrors }, client: { choice: "auto", profiles: [{ ...client, hosts }] } };
      return { ...r, client: { ...client, basedOn: `${client.name} found` } };
    };
    const upstream = { url: "http://registry.example:5000/v2", role: "upstream" };
    const mirror = { url: "https://mirror.example/v2", role: "mirror" };
    const batch = {
      schemaVersion: 1,
      kind: "batch",
      createdAt: "2026-12-01T10:00:00.000Z",
      host: { os: "linux", arch: "amd64", hostname: "b4" },
      images: [
        {
          image: "a:1",
          sources: [],
          report: withClient(report("x", { fail: "blob" }), { name: "kubelet", store: null }, [mirror, upstream]),
        },
      ],
      verdict: { ok: false, total: 1, failed: 1 },
      egress: [],
    };
    const logs = [
      prefixed("pd-a1", withClient(report("a1"), { name: "kubelet", store: null }, [upstream])),
      prefixed("pd-a2", withClient(report("a2"), { name: "docker", store: "classic" }, [upstream], ["https://dm.example"])),
      prefixed("pd-a3", withClient(report("a3", { fail: "dns" }), { name: "kubelet", store: null }, [upstream])),
      prefixed("pd-b4", batch),
    ].join("\n");
    const s = JSON.parse((await run(["--json"], logs)).out);
    expect(s.perNode.map((n: any) => [n.node, n.client, n.clientBasedOn])).toEqual([
      ["a1", "kubelet", "kubelet found"],
      ["a2", "docker (classic store)", "docker found"],
      ["a3", "kubelet", "kubelet found"],
      ["b4", "kubelet", "kubelet found"],
    ]);
    const diff = Object.fromEntries(s.configDiff.map((d: any) => [d.trait, [d.failing, d.healthy]]));
    // Said because docker is found only among the healthy nodes (a value on both sides alone is no difference).
    expect(diff.client).toEqual([{ kubelet: ["a3", "b4"] }, { kubelet: ["a1"], docker: ["a2"] }]);
    expect(diff.store).toEqual([{ none: ["a3", "b4"] }, { none: ["a1"], classic: ["a2"] }]);
    // Classic Docker: daemon.json's mirrors; the others: their hosts of role "mirror", without containerd's /v2 root.
    expect(diff.mirrors).toEqual([
      { none: ["a3"], "https://mirror.example": ["b4"] },
      { none: ["a1"], "https://dm.example": ["a2"] },
    ]);
    const text = (await run([], logs)).out;
    expect(text).toMatch(/FAIL {2}a3 {2}\[kubelet\] {17}DNS_SERVFAIL: /);
    expect(text).toContain("  client:\n    failing: kubelet  (a3, b4)\n    healthy: kubelet  (a1)\n    healthy: docker  (a2)\n");
    const html = summaryHtml(summarize(readReports([{ name: "logs", text: logs }])), readReports([{ name: "logs", text: logs }]).reports);
    expect(html).toContain(
      `<tr data-node="a2" data-client="docker (classic store)"><th class="node">a2</th><td class="client" title="docker found">`,
    );
  });

  test("egress hosts only some nodes reach; reports without egress are fine", () => {
    const eg = (reached: boolean) => [
      {
        host: "registry.example",
        port: 5000,
        scheme: "https",
        roles: ["registry"],
        addresses: [],
        via: "direct",
        observed: true,
        reached: true,
      },
      { host: "cdn.example", port: 443, scheme: "https", roles: ["blob"], addresses: [], via: "direct", observed: true, reached },
    ];
    const s = summarize(
      readReports([
        {
          name: "x",
          text: [report("a", { egress: eg(true) }), report("b", { egress: eg(false), fail: "blob" }), report("c")].map(line).join("\n"),
        },
      ]),
    );
    expect(s.egress).toEqual([{ host: "cdn.example", port: 443, roles: ["blob"], reached: ["a"], unreached: ["b"] }]);
  });

  test("empty input says so and exits 1", async () => {
    const r = await run([], "\n\n");
    expect(r.code).toBe(1);
    expect(r.err).toContain("no report to summarise: the input is empty");
    const r2 = await run([], "hello\nworld\n");
    expect(r2.code).toBe(1);
    expect(r2.err).toContain("2 lines read, none a report");
  });

  test("all healthy exits 0", async () => {
    const r = await run([], [report("a"), report("b")].map(line).join("\n"));
    expect(r.code).toBe(0);
    expect(r.out).toContain("2 nodes: 2 can pull, 0 cannot.");
  });

  test("HTML: self-contained, every report string escaped", () => {
    const evil = report("<img src=x onerror=alert(1)>", { fail: "dns" });
    evil.findings[0].detail = "</details><script>alert('x')</script>";
    const read = readReports([{ name: "x", text: [line(evil), line(report("ok-node"))].join("\n") }]);
    const html = summaryHtml(summarize(read), read.reports);
    expect(html).not.toContain("<script");
    expect(html).not.toContain("<img");
    expect(html).toContain(esc("</details><script>alert('x')</script>"));
    expect(html).not.toMatch(/(src|href)=["']?(https?:)?\/\//);
    expect(html).toContain('data-node="ok-node"');
  });

  test("one node's reports for different images are merged, each image kept; the node is as bad as its worst image", async () => {
    const text = [
      prefixed("pulldoctor-n1-a", report("n1", { image: "app:1", fail: "blob", createdAt: "2026-12-01T10:00:00.000Z" })),
      prefixed("pulldoctor-n1-b", report("n1", { image: "web:2", createdAt: "2026-12-01T11:00:00.000Z" })),
      prefixed("pulldoctor-n2-a", report("n2", { image: "app:1" })),
    ].join("\n");
    const s = JSON.parse((await run(["--json"], text)).out);
    expect(s.input.replaced).toBe(0);
    expect(s.perNode.map((n: any) => [n.node, n.ok, n.code])).toEqual([
      ["n1", false, "BLOB_REDIRECT_UNREACHABLE"],
      ["n2", true, null],
    ]);
    expect(s.perNode[0].summary).toBe("1 of 2 images will not pull (app:1: fails)");
    expect(s.perCode.map((g: any) => [g.code, g.nodes])).toEqual([["BLOB_REDIRECT_UNREACHABLE", ["n1"]]]);
    const read = readReports([{ name: "logs", text }]);
    // Each stage says which image it is about once two reports share the node.
    expect(read.reports[0]!.stages.filter((st) => st.id === "blob").map((st) => [st.image, st.status])).toEqual([
      ["web:2", "pass"],
      ["app:1", "fail"],
    ]);
    const out = (await run([], text)).out;
    expect(out).toContain("2 nodes: 1 can pull, 1 cannot.");
    expect(out).not.toContain("replaced");

    // A newer report of the same image replaces only that image's result; the other image's stays.
    const rerun = `${text}\n${prefixed("pulldoctor-n1-c", report("n1", { image: "app:1", createdAt: "2026-12-01T12:00:00.000Z" }))}`;
    const again = JSON.parse((await run(["--json"], rerun)).out);
    expect(again.input.replaced).toBe(1);
    expect(again.perNode[0]).toMatchObject({ node: "n1", ok: true, code: null, summary: "all 2 images should pull" });
    expect((await run([], rerun)).out).toContain("1 older report replaced by a newer one for the same node and image");
  });

  test("a batch and a newer single report of one of its images: the batch keeps its other images", () => {
    const batch = {
      schemaVersion: 1,
      kind: "batch",
      createdAt: "2026-12-01T10:00:00.000Z",
      host: { os: "linux", arch: "amd64", hostname: "n9" },
      images: [
        { image: "a:1", sources: [], report: report("n9", { image: "a:1" }) },
        { image: "b:1", sources: [], report: report("n9", { image: "b:1", fail: "dns" }) },
      ],
      verdict: { ok: false, total: 2, failed: 1 },
    };
    const fixed = report("n9", { image: "b:1", createdAt: "2026-12-01T11:00:00.000Z" });
    const read = readReports([{ name: "logs", text: [line(batch), line(fixed)].join("\n") }]);
    expect(read.replaced).toBe(1);
    const n = read.reports[0]!;
    expect([n.ok, n.code]).toEqual([true, null]);
    expect(n.findings).toEqual([]);
    expect(n.stages.filter((st) => st.id === "dns").map((st) => [st.image, st.status])).toEqual([
      ["b:1", "pass"],
      ["a:1", "pass"],
    ]);
  });

  test("HTML: the grid scrolls inside its own box; each code in the findings list is said once", () => {
    const read = readReports([{ name: "x", text: five.map(line).join("\n") }]);
    const html = summaryHtml(summarize(read), read.reports);
    expect(html).toContain('<div class="gridbox"><table class="grid">');
    expect(html).toContain(".gridbox{max-width:100%;overflow-x:auto}");
    const items = [...html.matchAll(/<li class="error" data-code="([A-Z_]+)">(.*?)<\/li>/g)];
    expect(items.map((m) => m[1])).toEqual(["DNS_SERVFAIL", "BLOB_REDIRECT_UNREACHABLE"]);
    for (const [, code, body] of items) expect(body!.split(code!).length).toBe(2);
    expect(html).toContain("2 of 5 nodes cannot reach registry.example:5000 (<code>DNS_SERVFAIL</code>: The DNS server failed): n2, n4");
  });

  test("pretty-printed reports in kubectl logs --prefix form (a pod without PULLDOCTOR_JSON_LINES), interleaved", () => {
    const a = JSON.stringify(report("pa"), null, 2).split("\n");
    const b = JSON.stringify(report("pb", { fail: "dns" }), null, 2).split("\n");
    const lines: string[] = [];
    for (let i = 0; i < Math.max(a.length, b.length); i++) {
      if (a[i] !== undefined) lines.push(`[pod/pulldoctor-pa-1/check] ${a[i]}`);
      if (b[i] !== undefined) lines.push(`[pod/pulldoctor-pb-1/check] ${b[i]}`);
    }
    lines.push("[pod/pulldoctor-pc-1/check] {", '[pod/pulldoctor-pc-1/check]   "cut": "short"');
    const read = readReports([{ name: "logs", text: lines.join("\n") }]);
    expect(read.reports.map((r) => [r.node, r.ok])).toEqual([
      ["pa", true],
      ["pb", false],
    ]);
    expect(read.skipped).toEqual([`logs:${lines.length - 1}`]);
  });
});
