import { afterAll, beforeAll, expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { pinClient, requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * The report of a pull of a many-layered image from a plain-HTTP registry (a real
 * docker-registry): delivered whole to a reader that is late on the pipe, and its
 * evidence naming the scheme the pull actually used.
 */
const LAYERS = 400;
let reg: RegistryPeer;
let work: { dir: string; cleanup: () => void };

beforeAll(async () => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-pull-report-");
  reg = await startRegistry();
  const layers = Array.from({ length: LAYERS }, (_, i) => [{ name: `f${i}.txt`, content: `layer ${i}\n` }]);
  await pushImage(reg.url, "many/layers", "1", buildImage({ label: "many layers", layers }));
}, 120_000);
afterAll(async () => {
  await reg?.stop();
  work?.cleanup();
});

const pullArgs = (out: string) => [
  "pull",
  `${reg.host}/many/layers:1`,
  "--insecure-registry",
  reg.host,
  "--output",
  `oci:${path.join(work.dir, out)}:1`,
  "--json",
  "--daemon-config",
  path.join(work.dir, "no-daemon.json"),
];
// Each test its own store: a blob reused from the store names no endpoint.
const env = (store: string) => ({ PULLDOCTOR_STORE: path.join(work.dir, store) });

test("--json into a pipe whose reader starts 1 s late: the report arrives whole, exit 0", async () => {
  const received = path.join(work.dir, "received.json");
  // A shell pipeline as a CI job writes it: the reader sleeps before reading, so the
  // binary finishes while most of the report is still waiting for the pipe (64 KiB).
  const script = `"$@" | { sleep 1; cat > '${received}'; }; echo "status=\${PIPESTATUS[0]}" >&2`;
  const proc = Bun.spawn(["bash", "-c", script, "bash", requireBinaryBuilt(), ...pinClient(pullArgs("slow-reader"))], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: work.dir, NO_COLOR: "1", ...env("store-slow-reader") },
    cwd: work.dir,
    stdin: "ignore",
    stdout: "ignore",
    stderr: "pipe",
  });
  const timer = setTimeout(() => proc.kill("SIGKILL"), 90_000);
  const [stderr] = await Promise.all([new Response(proc.stderr).text(), proc.exited]);
  clearTimeout(timer);
  expect(stderr.trim()).toBe("status=0");
  const text = readFileSync(received, "utf8");
  expect(text.length).toBeGreaterThan(200 * 1024);
  const report = JSON.parse(text);
  expectValidReport(report);
  expect(report.verdict.ok).toBe(true);
  expect(report.pull.layers).toBe(LAYERS);
}, 100_000);

test("a pull over plain HTTP: the pull's evidence names http://, never https://", async () => {
  const r = await runCli(pullArgs("scheme"), { home: work.dir, env: env("store-scheme"), timeoutMs: 90_000 });
  expect(r.code).toBe(0);
  const report = JSON.parse(r.stdout);
  const pull = report.stages.find((s: { id: string }) => s.id === "pull");
  expect(pull.status).toBe("pass");
  expect(pull.evidence.endpoints).toEqual([`http://${reg.host}`]);
  const blobs = pull.evidence.blobs as { endpoint: string }[];
  expect(blobs.length).toBe(LAYERS + 1);
  expect(new Set(blobs.map((b) => b.endpoint))).toEqual(new Set([`http://${reg.host}`]));
  expect(JSON.stringify(pull.evidence)).not.toContain("https://");
}, 100_000);
