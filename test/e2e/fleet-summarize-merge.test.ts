import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { chromium } from "./fleet-nodes";

/**
 * `fleet summarize` through the compiled binary: one node's reports for different images are
 * merged (none dropped as "replaced"), and the HTML grid of a wide run stays inside a 1200 px
 * window in headless Chromium, scrolling in its own box.
 */
let t: { dir: string; cleanup: () => void };
beforeAll(() => {
  requireBinaryBuilt();
  t = tempDir("pd-e2e-fleet-merge-");
});
afterAll(() => t?.cleanup());

/** A `check --json` report trimmed to what the fleet reads; `stages` ids make the grid as wide as wanted. */
function report(node: string, image: string, fail: boolean, createdAt: string, stages: string[]) {
  const reg = "https://registry.example:5000";
  return {
    schemaVersion: 1,
    createdAt,
    host: { os: "linux", arch: "amd64", hostname: node },
    command: "check",
    input: { image, platform: "linux/amd64" },
    stages: stages.map((id, i) => ({
      id,
      endpoint: reg,
      status: fail && i === stages.length - 1 ? "fail" : "pass",
      durationMs: 1,
      summary: `${id} of ${image}`,
      evidence: {},
    })),
    findings: fail
      ? [
          {
            code: "BLOB_REDIRECT_UNREACHABLE",
            severity: "error",
            stage: stages.at(-1),
            endpoint: reg,
            title: "Blobs are served from a host this machine cannot reach",
            detail: "cdn",
            fixes: ["allow cdn.example:443"],
            evidence: { host: "cdn.example" },
          },
        ]
      : [],
    verdict: {
      ok: !fail,
      code: fail ? "BLOB_REDIRECT_UNREACHABLE" : null,
      summary: fail ? "blobs unreachable" : "The pull should succeed.",
    },
  };
}

test("two images from one host: both kept, the node fails on the worse; the HTML grid scrolls inside a 1200 px page", async () => {
  const stages = Array.from({ length: 40 }, (_, i) => `stage-number-${String(i).padStart(2, "0")}`);
  const lines = [
    report("node-1", "registry.example:5000/app:1", true, "2026-12-01T10:00:00.000Z", stages),
    report("node-1", "registry.example:5000/web:2", false, "2026-12-01T11:00:00.000Z", stages),
    report("node-2", "registry.example:5000/app:1", false, "2026-12-01T10:00:00.000Z", stages),
  ].map((r, i) => `[pod/pulldoctor-${i}/check] ${JSON.stringify(r)}`);
  const logs = path.join(t.dir, "logs.txt");
  writeFileSync(logs, `${lines.join("\n")}\n`);

  const text = await runCli(["fleet", "summarize", logs], { home: t.dir });
  expect(text.code).toBe(1);
  expect(text.stdout).toContain("2 nodes: 1 can pull, 1 cannot.");
  expect(text.stdout).toMatch(/FAIL {2}node-1 {2}BLOB_REDIRECT_UNREACHABLE: 1 of 2 images will not pull \(registry\.example:5000\/app:1: /);
  expect(text.stdout).not.toContain("replaced");

  const html = path.join(t.dir, "fleet.html");
  expect((await runCli(["fleet", "summarize", logs, "--html", html], { home: t.dir })).code).toBe(1);
  const page = readFileSync(html, "utf8");
  expect(page.split("BLOB_REDIRECT_UNREACHABLE</code>").length).toBe(3); // once in the list, once in node-1's finding
  // Layout: a copy of the page with a script (the page itself allows none) that writes the widths into the DOM.
  const probe = path.join(t.dir, "probe.html");
  const measure = `<script>document.body.dataset.page=document.documentElement.scrollWidth;const b=document.querySelector(".gridbox");document.body.dataset.box=b.clientWidth;document.body.dataset.grid=b.scrollWidth;</script>`;
  writeFileSync(probe, page.replace(/<meta http-equiv="Content-Security-Policy"[^>]*>/, "").replace("</body>", `${measure}</body>`));
  const profile = path.join(t.dir, "chromium-profile");
  mkdirSync(profile);
  const dom = chromium(["--window-size=1200,900", "--dump-dom", `file://${probe}`], profile);
  expect(dom.code).toBe(0);
  const m = /data-page="(\d+)" data-box="(\d+)" data-grid="(\d+)"/.exec(dom.stdout);
  expect(m).not.toBeNull();
  const [page1, box, grid] = m!.slice(1).map(Number) as [number, number, number];
  expect(page1).toBeLessThanOrEqual(1200);
  expect(box).toBeLessThanOrEqual(1200);
  // The 40 stage columns are wider than the window: they scroll inside the box, not the page.
  expect(grid).toBeGreaterThan(box);
}, 60_000);
