import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import { Job } from "kubernetes-models/batch/v1/Job";
import { ConfigMap } from "kubernetes-models/v1/ConfigMap";
import { parseAllDocuments } from "yaml";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type DnsmasqPeer, startDnsmasq } from "../peers/dnsmasq";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { chromium, jobPod, runJobOnNode, type SimNode, type SimRun } from "./fleet-nodes";

/**
 * A fleet on one machine, run as a user runs it: `fleet manifest` (from `kubectl get nodes -o
 * json` and a pod's YAML given with -f) writes one Job per node; each simulated node then runs
 * exactly its Job's container (args, env, the hostPath and Secret mounts, each with the node's
 * own files: fleet-nodes.ts) against a real registry (docker-registry) reached by name through a
 * real resolver (dnsmasq). `--client auto` decides per node from what the Job mounts:
 * - node-1, node-2, node-3, node-5: containerd's config.toml naming certs.d, a hosts.toml for the
 *   registry (plain HTTP), and /var/lib/kubelet (the Job's FileOrCreate config.json, empty): kubelet
 *   on containerd; node-3's hosts.toml lists a mirror first where nothing listens (MIRROR_FALLBACK);
 * - node-4, node-6: only /etc/docker/daemon.json (no containerd config, and a fleet pod sees no
 *   Engine socket): docker with the containerd store.
 * Faults: node-2 and node-4 have a resolver that refuses the name; node-5 a hosts-file line that
 * sends the name where nothing listens; node-6 a daemon.json proxy where nothing listens. The
 * Secret is mounted on every node, as the Jobs do; the kubelet nodes read it. Their reports go to `fleet
 * summarize` as `kubectl logs --prefix` prints them.
 */
const REG_NAME = "registry.fleet.test";
// Loopback addresses of our own for the two resolvers on port 53 (resolv.conf cannot name a port).
const NET = `127.53.${10 + (process.pid % 200)}`;
const GOOD_DNS = `${NET}.1`;
const BAD_DNS = `${NET}.2`;
const DEAD_PROXY = `http://${NET}.3:3128`;
const DEAD_MIRROR = `http://${NET}.4:5000`;
const SECRET = "regcred";

let reg: RegistryPeer;
let good: DnsmasqPeer;
let bad: DnsmasqPeer;
let tmp: { dir: string; cleanup: () => void };
let runs: SimRun[];
let objects: any[];
let jobs: any[];
let image: string;
let sidecar: string;

const resolv = (server: string) => `nameserver ${server}\noptions attempts:1 timeout:1\n`;
const HOSTS = "127.0.0.1 localhost\n::1 localhost ip6-localhost\n";

/** A kubelet-on-containerd node's files: config.toml naming certs.d, and the registry's hosts.toml. */
function containerdFiles(registry: string, mirror: string | null): Record<string, string> {
  const mirrorHost = mirror ? `[host."${mirror}"]\n  capabilities = ["pull", "resolve"]\n` : "";
  return {
    "/etc/containerd/config.toml": `version = 2\n[plugins."io.containerd.grpc.v1.cri".registry]\n  config_path = "/etc/containerd/certs.d"\n`,
    [`/etc/containerd/certs.d/${registry}/hosts.toml`]: `server = "http://${registry}"\n\n${mirrorHost}`,
  };
}

beforeAll(async () => {
  tmp = tempDir("pd-fleet-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "fleet" }));
  await pushImage(reg.url, "team/sidecar", "2", buildImage({ label: "fleet-sidecar" }));
  [good, bad] = await Promise.all([
    startDnsmasq({ port53On: GOOD_DNS, local: ["fleet.test"], hosts: { [REG_NAME]: ["127.0.0.1"] } }),
    // A resolver that knows only another zone: it REFUSES the registry's name.
    startDnsmasq({ port53On: BAD_DNS, local: ["elsewhere.test"] }),
  ]);
  const registry = `${REG_NAME}:${reg.port}`;
  image = `${registry}/team/app:1.0`;
  sidecar = `${registry}/team/sidecar:2`;
  const daemonJson = (proxy: string | null) => ({
    "/etc/docker/daemon.json": JSON.stringify({
      "insecure-registries": [registry],
      ...(proxy ? { proxies: { "http-proxy": proxy, "https-proxy": proxy } } : {}),
    }),
  });
  const nodes: SimNode[] = [
    { name: "node-1", resolvConf: resolv(GOOD_DNS), hosts: HOSTS, files: containerdFiles(registry, null) },
    { name: "node-2", resolvConf: resolv(BAD_DNS), hosts: HOSTS, files: containerdFiles(registry, null) },
    { name: "node-3", resolvConf: resolv(GOOD_DNS), hosts: HOSTS, files: containerdFiles(registry, DEAD_MIRROR) },
    { name: "node-4", resolvConf: resolv(BAD_DNS), hosts: HOSTS, files: daemonJson(null) },
    { name: "node-5", resolvConf: resolv(GOOD_DNS), hosts: `${HOSTS}127.0.0.9 ${REG_NAME}\n`, files: containerdFiles(registry, null) },
    { name: "node-6", resolvConf: resolv(GOOD_DNS), hosts: HOSTS, files: daemonJson(DEAD_PROXY) },
  ];
  // The user's inputs: the nodes as kubectl prints them, and the pod that cannot pull (-f).
  const nodeList = {
    kind: "NodeList",
    items: nodes.map((n) => ({ metadata: { name: n.name }, status: { nodeInfo: { operatingSystem: "linux" } } })),
  };
  writeFileSync(path.join(tmp.dir, "nodes.json"), JSON.stringify(nodeList));
  // The workload in ImagePullBackOff, as the user has it: two containers and a pull secret.
  const deployment = [
    "apiVersion: apps/v1",
    "kind: Deployment",
    "metadata: {name: app}",
    "spec:",
    "  selector: {matchLabels: {app: app}}",
    "  template:",
    "    metadata: {labels: {app: app}}",
    "    spec:",
    `      imagePullSecrets: [{name: ${SECRET}}]`,
    "      containers:",
    `        - {name: app, image: "${image}"}`,
    `        - {name: sidecar, image: "${sidecar}"}`,
    "",
  ].join("\n");
  writeFileSync(path.join(tmp.dir, "app.yaml"), deployment);
  const m = await runCli(
    [
      "fleet",
      "manifest",
      "--nodes",
      path.join(tmp.dir, "nodes.json"),
      "-f",
      path.join(tmp.dir, "app.yaml"),
      "--image",
      "registry.example/pulldoctor:1",
    ],
    { home: tmp.dir },
  );
  if (m.code !== 0) throw new Error(`fleet manifest failed: ${m.stderr}`);
  objects = parseAllDocuments(m.stdout).map((d) => d.toJS());
  jobs = objects.filter((o) => o.kind === "Job");
  // The Secret as the pod sees it: the anonymous registry ignores it; kubelet nodes read it.
  const auth = Buffer.from("fleet:not-a-real-password").toString("base64");
  const secrets = { [SECRET]: { ".dockerconfigjson": JSON.stringify({ auths: { [registry]: { auth } } }) } };
  runs = await Promise.all(
    nodes.map((n) => {
      const job = jobs.find((j) => j.spec.template.spec.nodeName === n.name);
      return runJobOnNode(n, jobPod(job, secrets, objects), tmp.dir);
    }),
  );
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
      // --client auto judged each node from what its Job mounts.
      const docker = ["node-4", "node-6"].includes(r.node);
      // Two images: a batch report, one report per image, each judged as the same client.
      expect(report.kind).toBe("batch");
      expect(report.images.map((i: any) => i.image)).toEqual([image, sidecar]);
      for (const { report: one } of report.images) {
        expect(one.client.name).toBe(docker ? "docker" : "kubelet");
        expect(one.client.basedOn).toContain(docker ? "no client found" : "with containerd (/etc/containerd/config.toml)");
      }
    }
  });

  test("the Jobs run exactly what the manifest says: --client auto, the pull secret and images from -f", () => {
    expect(jobs).toHaveLength(runs.length);
    for (const j of jobs) {
      new Job(j).validate();
      expect(j.spec.template.spec.containers[0].args).toEqual([
        "check",
        "--json",
        "--client",
        "auto",
        "--pull-secret",
        `/var/run/pulldoctor/pull-secrets/${SECRET}/.dockerconfigjson`,
        "-f",
        "/var/run/pulldoctor/images/images.json",
      ]);
    }
    // `check` takes one IMAGE: the two images go in a ConfigMap the pods read with -f.
    const images = objects.find((o) => o.kind === "ConfigMap" && o.metadata.name === "pulldoctor-images");
    new ConfigMap(images).validate();
    expect(JSON.parse(images.data["images.json"]).spec.containers.map((c: any) => c.image)).toEqual([image, sidecar]);
    // The kubelet nodes read the mounted Secret and matched it to the image (kubelet's keyring).
    const config = JSON.parse(runs[0]!.stdout).images[0].report.stages.find((st: any) => st.id === "config");
    expect(config.summary).toContain(`/var/run/pulldoctor/pull-secrets/${SECRET}/.dockerconfigjson`);
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

    expect(byCode.PROXY_UNREACHABLE).toEqual(["node-6"]);
    expect(s.perCode.filter((g: any) => g.code === "MIRROR_FALLBACK").map((g: any) => [g.severity, g.nodes])).toEqual([
      ["warning", ["node-3"]],
    ]);
    // Per node, the client `auto` judged; what differs: client, store, mirrors (node-3's hosts.toml).
    expect(Object.fromEntries(s.perNode.map((n: any) => [n.node, n.client]))).toEqual({
      "node-1": "kubelet",
      "node-2": "kubelet",
      "node-3": "kubelet",
      "node-4": "docker (containerd store)",
      "node-5": "kubelet",
      "node-6": "docker (containerd store)",
    });
    const trait = (t: string) => s.configDiff.find((d: any) => d.trait === t);
    expect(trait("client")).toEqual({
      trait: "client",
      failing: { kubelet: ["node-2", "node-5"], docker: ["node-4", "node-6"] },
      healthy: { kubelet: ["node-1", "node-3"] },
    });
    expect(trait("store").failing).toEqual({ none: ["node-2", "node-5"], containerd: ["node-4", "node-6"] });
    expect(trait("mirrors")).toEqual({
      trait: "mirrors",
      failing: { none: ["node-2", "node-4", "node-5", "node-6"] },
      healthy: { none: ["node-1"], [DEAD_MIRROR]: ["node-3"] },
    });
    // Egress: the registry is reached from some nodes, not from the others.
    const egress = s.egress.find((e: any) => e.host === REG_NAME && e.port === reg.port);
    expect(egress.unreached).toEqual(["node-2", "node-4", "node-5"]);
    expect(egress.reached).toContain("node-1");

    const text = await runCli(["fleet", "summarize"], { home: tmp.dir, stdin: kubectlLogs() });
    expect(text.stdout).toMatch(/FAIL {2}node-4 {2}\[docker \(containerd store\)\] {2}DNS_SERVFAIL: /);
    expect(text.stdout).toMatch(/ok {4}node-1 {2}\[kubelet\] +/);
    expect(text.stdout).toContain(
      "  client:\n    failing: kubelet  (node-2, node-5)\n    failing: docker  (node-4, node-6)\n    healthy: kubelet  (node-1, node-3)\n",
    );
    expect(text.stdout).toContain(`    healthy: ${DEAD_MIRROR}  (node-3)\n`);
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
    expect(dom.stdout).toContain(`data-node="node-4" data-client="docker (containerd store)"`);
    expect(dom.stdout).toContain(`data-node="node-1" data-client="kubelet"`);
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

  test("global flags before fleet are routed to it: pulldoctor --no-color fleet …", async () => {
    const logs = kubectlLogs();
    const plain = await runCli(["fleet", "summarize", "--json"], { home: tmp.dir, stdin: logs });
    const routed = await runCli(["--no-color", "fleet", "summarize", "--json"], { home: tmp.dir, stdin: logs });
    expect(routed.stderr).toBe("");
    expect(routed.code).toBe(1);
    expect(routed.stdout).toBe(plain.stdout);
    const m = await runCli(["--no-color", "fleet", "manifest", "--daemonset", "alpine:3"], { home: tmp.dir });
    expect(m.code).toBe(0);
    expect(m.stdout).toContain("kind: DaemonSet");
    const help = await runCli(["--no-color", "fleet", "--help"], { home: tmp.dir });
    expect(help.code).toBe(0);
    expect(help.stdout).toContain("pulldoctor fleet summarize");
    // Not a fleet flag: misuse from fleet's own parser, not the check's.
    const bad = await runCli(["--verbose", "fleet", "summarize"], { home: tmp.dir, stdin: logs });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toContain("pulldoctor fleet: unknown flag for fleet: --verbose");
  });

  test("fleet hold (the DaemonSet's idle container) ends cleanly on SIGTERM", async () => {
    const p = Bun.spawn([requireBinaryBuilt(), "fleet", "hold"], { stdout: "pipe", stderr: "pipe" });
    await Bun.sleep(300);
    expect(p.exitCode).toBeNull();
    p.kill("SIGTERM");
    expect(await p.exited).toBe(0);
  });
});
