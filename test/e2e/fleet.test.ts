import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import { parseAllDocuments } from "yaml";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type DnsmasqPeer, startDnsmasq } from "../peers/dnsmasq";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { chromium, runOnNode, type SimNode, type SimRun } from "./fleet-nodes";

/**
 * A fleet on one machine: six nodes, each its own host name, resolver, hosts file and
 * daemon.json, run the compiled binary against a real registry (docker-registry) reached by
 * name through a real resolver (dnsmasq). Two nodes have a resolver that refuses the name;
 * one has a hosts-file line that sends the registry's name to an address where nothing
 * listens. Their reports go to `fleet summarize` as `kubectl logs --prefix` prints them.
 */
const REG_NAME = "registry.fleet.test";
// Loopback addresses of our own for the two resolvers on port 53 (resolv.conf cannot name a port).
const NET = `127.53.${10 + (process.pid % 200)}`;
const GOOD_DNS = `${NET}.1`;
const BAD_DNS = `${NET}.2`;
const DEAD_PROXY = `http://${NET}.3:3128`;

let reg: RegistryPeer;
let good: DnsmasqPeer;
let bad: DnsmasqPeer;
let tmp: { dir: string; cleanup: () => void };
let runs: SimRun[];

const resolv = (server: string) => `nameserver ${server}\noptions attempts:1 timeout:1\n`;
const HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n";

beforeAll(async () => {
  tmp = tempDir("pd-fleet-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "fleet" }));
  [good, bad] = await Promise.all([
    startDnsmasq({ port53On: GOOD_DNS, local: ["fleet.test"], hosts: { [REG_NAME]: ["127.0.0.1"] } }),
    // A resolver that knows only another zone: it REFUSES the registry's name.
    startDnsmasq({ port53On: BAD_DNS, local: ["elsewhere.test"] }),
  ]);
  const daemonJson = { "insecure-registries": [`${REG_NAME}:${reg.port}`] };
  const nodes: SimNode[] = [
    { name: "node-1", resolvConf: resolv(GOOD_DNS), hosts: HOSTS, daemonJson },
    { name: "node-2", resolvConf: resolv(BAD_DNS), hosts: HOSTS, daemonJson },
    { name: "node-3", resolvConf: resolv(GOOD_DNS), hosts: HOSTS, daemonJson },
    { name: "node-4", resolvConf: resolv(BAD_DNS), hosts: HOSTS, daemonJson },
    { name: "node-5", resolvConf: resolv(GOOD_DNS), hosts: `${HOSTS}127.0.0.9 ${REG_NAME}\n`, daemonJson },
    // dockerd's proxy (daemon.json "proxies") points where nothing listens.
    {
      name: "node-6",
      resolvConf: resolv(GOOD_DNS),
      hosts: HOSTS,
      daemonJson: { ...daemonJson, proxies: { "http-proxy": DEAD_PROXY, "https-proxy": DEAD_PROXY } },
    },
  ];
  const image = `${REG_NAME}:${reg.port}/team/app:1.0`;
  runs = await Promise.all(nodes.map((n) => runOnNode(n, ["check", "--json", image, "--timeout", "3"], tmp.dir)));
}, 120_000);

afterAll(async () => {
  await Promise.all([reg, good, bad].map((p) => p?.stop()));
  tmp?.cleanup();
});

/** `kubectl logs --prefix -l app.kubernetes.io/name=pulldoctor` over the six Jobs' pods, plus one pod that never started. */
function kubectlLogs(): string {
  const lines = runs.map((r) => `[pod/pulldoctor-${r.node}-x7k2p/check] ${r.stdout.trimEnd()}`);
  lines.splice(
    2,
    0,
    'Error from server (BadRequest): container "check" in pod "pulldoctor-node-6-q8z1c" is waiting to start: image can\'t be pulled',
  );
  return `${lines.join("\n")}\n`;
}

describe("fleet e2e: six simulated nodes, their reports summarised", () => {
  test("each node printed its report as one JSON line naming its own host", () => {
    for (const r of runs) {
      expect(r.stdout.trimEnd().split("\n")).toHaveLength(1);
      const report = JSON.parse(r.stdout);
      expect(report.host.hostname).toBe(r.node);
      expect(r.code).toBe(["node-1", "node-3"].includes(r.node) ? 0 : 1);
    }
  });

  test("summarize names exactly the nodes of each fault", async () => {
    const r = await runCli(["fleet", "summarize", "-", "--json"], { home: tmp.dir, stdin: kubectlLogs() });
    expect(r.code).toBe(1);
    const s = JSON.parse(r.stdout);
    expect(s.nodes).toBe(6);
    expect(s.perNode.filter((n: any) => n.ok).map((n: any) => n.node)).toEqual(["node-1", "node-3"]);
    const errors = s.perCode.filter((g: any) => g.severity === "error");
    const byCode = Object.fromEntries(errors.map((g: any) => [g.code, g.nodes]));
    const dnsCodes = errors.filter((g: any) => g.stage === "dns");
    expect(dnsCodes.flatMap((g: any) => g.nodes).sort()).toEqual(["node-2", "node-4"]);
    expect(byCode.CONNECT_REFUSED).toEqual(["node-5"]);
    expect(s.input.skipped).toEqual(["stdin:3"]);
    // The resolver is what the DNS-failing nodes have and the healthy ones lack.
    const resolver = s.configDiff.find((d: any) => d.trait === "resolver");
    expect(resolver.failing[BAD_DNS]).toEqual(["node-2", "node-4"]);
    expect(resolver.healthy[GOOD_DNS]).toEqual(["node-1", "node-3"]);
    expect(resolver.failing[`${GOOD_DNS} + /etc/hosts: ${REG_NAME} → 127.0.0.9`]).toEqual(["node-5"]);
    const proxy = s.configDiff.find((d: any) => d.trait === "proxy");
    expect(Object.entries(proxy.failing).filter(([v]) => v !== "direct")).toEqual([[DEAD_PROXY, ["node-6"]]]);
    expect(proxy.healthy).toEqual({ direct: ["node-1", "node-3"] });
    expect(errors.filter((g: any) => g.stage === "proxy").flatMap((g: any) => g.nodes)).toEqual(["node-6"]);

    const text = await runCli(["fleet", "summarize"], { home: tmp.dir, stdin: kubectlLogs() });
    expect(text.stdout).toContain("6 nodes: 2 can pull, 4 cannot.");
    expect(text.stdout).toContain("1 line skipped: not a report (stdin:3)");
    expect(text.stdout).toMatch(
      new RegExp(`2 of 6 nodes cannot reach ${REG_NAME.replaceAll(".", "\\.")} \\(DNS_SERVFAIL: .*\\): node-2, node-4\n`),
    );
  }, 30_000);

  test("the HTML page in headless Chromium: every node and code in the DOM; a screenshot", async () => {
    const html = path.join(tmp.dir, "fleet.html");
    const logs = path.join(tmp.dir, "logs.txt");
    writeFileSync(logs, kubectlLogs());
    const r = await runCli(["fleet", "summarize", logs, "--html", html], { home: tmp.dir });
    expect(r.code).toBe(1);
    const page = readFileSync(html, "utf8");
    expect(page).not.toMatch(/<(script|link)\b/);
    const profile = path.join(tmp.dir, "chromium-profile");
    mkdirSync(profile);
    const dom = chromium(["--dump-dom", `file://${html}`], profile);
    expect(dom.code).toBe(0);
    const codes = new Set(
      JSON.parse((await runCli(["fleet", "summarize", logs, "--json"], { home: tmp.dir })).stdout).perCode.map((g: any) => g.code),
    );
    expect(codes.size).toBeGreaterThanOrEqual(2);
    for (const n of runs) expect(dom.stdout).toContain(`data-node="${n.node}"`);
    for (const c of codes) expect(dom.stdout).toContain(`data-code="${c}"`);
    expect(dom.stdout).toContain("<details>");
    const shot = path.join(tmp.dir, "fleet.png");
    const s = chromium([`--screenshot=${shot}`, "--window-size=1400,900", `file://${html}`], path.join(profile));
    expect(s.code).toBe(0);
    expect(existsSync(shot)).toBe(true);
    expect(readFileSync(shot).subarray(1, 4).toString()).toBe("PNG");
    expect(statSync(shot).size).toBeGreaterThan(5000);
  }, 90_000);

  test("fleet manifest through the compiled binary: one valid Job per node of the node list", async () => {
    const nodes = {
      kind: "NodeList",
      items: runs.map((r) => ({ metadata: { name: r.node }, status: { nodeInfo: { operatingSystem: "linux" } } })),
    };
    const file = path.join(tmp.dir, "nodes.json");
    writeFileSync(file, JSON.stringify(nodes));
    const r = await runCli(
      ["fleet", "manifest", "--nodes", file, "--image", "registry.example/pulldoctor:1", `${REG_NAME}:${reg.port}/team/app:1.0`],
      { home: tmp.dir },
    );
    expect(r.code).toBe(0);
    const jobs = parseAllDocuments(r.stdout)
      .map((d) => d.toJS())
      .filter((o) => o.kind === "Job");
    expect(jobs.map((j) => j.spec.template.spec.nodeName)).toEqual(runs.map((x) => x.node));
    for (const j of jobs) new Job(j).validate();
    const notJson = path.join(tmp.dir, "nodes.yaml");
    writeFileSync(notJson, "items:\n  - metadata: {name: a}\n");
    const bad = await runCli(["fleet", "manifest", "--nodes", notJson, "x:1"], { home: tmp.dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain(`--nodes ${notJson} is not JSON (it looks like YAML: use 'kubectl get nodes -o json')`);
  });

  test("fleet hold (the DaemonSet's idle container) ends cleanly on SIGTERM", async () => {
    const p = Bun.spawn([requireBinaryBuilt(), "fleet", "hold"], { stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(300);
    expect(p.exitCode).toBeNull();
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });
});
