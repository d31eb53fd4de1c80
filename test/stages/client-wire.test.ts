import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { containerdClient } from "../../src/clients/containerd";
import { dockerContainerd } from "../../src/clients/docker-containerd";
import { wireOf } from "../../src/clients/index";
import type { ClientInputs } from "../../src/clients/inputs";
import { kubeletClient } from "../../src/clients/kubelet";
import { errorRank, firstNot404, mostAdvanced } from "../../src/doctor/fallback";
import { planEndpoints } from "../../src/doctor/plan";
import { DEFAULT_CLIENT_PATHS } from "../../src/model/deps";
import type { ClientWire, Credential, ImageRef, JudgedClient, LocalConfig } from "../../src/model/facts";
import type { Finding } from "../../src/model/finding";
import { Secret } from "../../src/model/secret";
import { credentialFor, realmNote } from "../../src/stages/auth-routing";
import { proxyStage } from "../../src/stages/proxy";
import { endpointFor, tempDir, testContext, testOptions } from "../helpers/context";
import { freePort } from "../peers/require";

/** The wire behaviour each client profile gives the stages: plan, credentials, proxy, the error reported when every host fails. */
const t = tempDir("pd-client-wire-");
afterAll(() => t.cleanup());

const ref = (registry: string, digest: string | null = null): ImageRef => ({
  input: `${registry}/team/app:1.0`,
  registry,
  repository: "team/app",
  tag: "1.0",
  digest,
  canonical: `${registry}/team/app:1.0`,
  familiar: `${registry}/team/app:1.0`,
});

function inputs(r: ImageRef, over: Partial<ClientInputs> = {}): ClientInputs {
  return {
    ref: r,
    options: testOptions(),
    env: {},
    homeDir: t.dir,
    paths: {
      ...DEFAULT_CLIENT_PATHS,
      containerdConfig: "/nonexistent/config.toml",
      containerdDropIns: [path.join(t.dir, "none")],
      containerdUnits: [path.join(t.dir, "none.service")],
    },
    daemon: { mirrors: [], insecureRegistries: [] },
    uid: 0,
    dockerStore: "containerd",
    runtime: "containerd",
    tty: false,
    ...over,
  };
}

const judged = (wire: ClientWire): JudgedClient => ({
  name: "containerd",
  store: null,
  label: wire.label,
  basedOn: "test",
  unsure: false,
  wire,
  all: null,
});

function hostsDir(name: string, host: string, toml: string): string {
  const root = path.join(t.dir, name);
  mkdirSync(path.join(root, host), { recursive: true });
  writeFileSync(path.join(root, host, "hosts.toml"), toml);
  return root;
}

describe("the endpoint plan from the judged client's hosts", () => {
  const toml = `server = "https://reg.example:5000"\n\n[host."https://pull-only.example"]\n  capabilities = ["pull"]\n\n[host."http://both.example:5000/cache"]\n  capabilities = ["pull", "resolve"]\n`;

  test("hosts.toml in file order then server; a pull-only mirror is skipped for a tag, with the reason", () => {
    const dir = hostsDir("plan", "reg.example:5000", toml);
    const r = ref("reg.example:5000");
    const wire = wireOf(containerdClient(inputs(r, { options: testOptions({ hostsDirs: [dir] }) })).profile);
    const plan = planEndpoints(r, undefined, testOptions(), wire);
    expect(plan.endpoints.map((e) => [e.url, e.role, e.pathPrefix, e.insecure])).toEqual([
      ["http://both.example:5000", "mirror", "/cache", true],
      ["https://reg.example:5000", "upstream", "", false],
    ]);
    expect(plan.skippedHosts[0]!.url).toBe("https://pull-only.example/v2");
    expect(plan.skippedHosts[0]!.reason).toContain('lack "resolve"');
    expect(plan.endpoints[0]!.source).toContain(path.join(dir, "reg.example:5000", "hosts.toml"));
  });

  test("by digest the pull-only mirror is asked first, as containerd's resolver does", () => {
    const dir = hostsDir("plan-digest", "reg.example:5000", toml);
    const r = ref("reg.example:5000", `sha256:${"a".repeat(64)}`);
    const wire = wireOf(containerdClient(inputs(r, { options: testOptions({ hostsDirs: [dir] }) })).profile);
    expect(planEndpoints(r, undefined, testOptions(), wire).endpoints.map((e) => e.url)).toEqual([
      "https://pull-only.example",
      "http://both.example:5000",
      "https://reg.example:5000",
    ]);
  });

  test("daemon.json insecure-registries bind Docker only", () => {
    const r = ref("reg.example:5000");
    const local = { daemon: { insecureRegistries: ["reg.example:5000"] } } as LocalConfig;
    const containerd = wireOf(containerdClient(inputs(r)).profile);
    expect(planEndpoints(r, local, testOptions(), containerd).endpoints[0]!.insecure).toBe(false);
    const docker = wireOf(dockerContainerd(inputs(r, { options: testOptions({ hostsDirs: [path.join(t.dir, "none")] }) })).profile);
    expect(planEndpoints(r, local, testOptions(), docker).endpoints[0]!.insecure).toBe(true);
  });
});

describe("where the credentials go", () => {
  const cred: Credential = { source: "--username", lookupKey: "docker.io", username: "alice", password: new Secret("pw") };
  const mirror = endpointFor("https://mirror.example", { role: "mirror" });
  const hub = ref("docker.io");

  test("Docker's containerd store: only the login host, never a mirror", () => {
    const wire = wireOf(dockerContainerd(inputs(hub)).profile);
    const ctx = testContext({ endpoint: mirror, facts: { client: judged(wire) } });
    const r = credentialFor(ctx, cred);
    expect(r.credential).toBeNull();
    expect(String(r.evidence?.withheld)).toContain("never to a mirror: mirror.example is asked anonymously");
    expect(credentialFor({ ...ctx, endpoint: endpointFor("https://registry-1.docker.io") }, cred).credential).toBe(cred);
  });

  test("kubelet: every host the pull touches, the mirror included, and the evidence says so", () => {
    const wire = wireOf(kubeletClient(inputs(hub)).profile);
    const r = credentialFor(testContext({ endpoint: mirror, facts: { client: judged(wire) } }), cred);
    expect(r.credential).toBe(cred);
    expect(String(r.evidence?.sentTo)).toContain("to every host the pull touches, this mirror (mirror.example) included");
  });
});

describe("the proxy of the process that pulls", () => {
  test("containerd: its unit's drop-in proxy, not the shell's; a dead proxy there is named as containerd's", async () => {
    const dropIns = path.join(t.dir, "containerd.service.d");
    mkdirSync(dropIns, { recursive: true });
    const dead = await freePort();
    writeFileSync(path.join(dropIns, "http-proxy.conf"), `[Service]\nEnvironment="HTTPS_PROXY=http://127.0.0.1:${dead}"\n`);
    const r = ref("reg.example:5000");
    const wire = wireOf(containerdClient(inputs(r, { paths: { ...inputs(r).paths, containerdDropIns: [dropIns] } })).profile);
    const local = {
      dockerConfig: { path: "", found: false, kind: "none" },
      daemon: { path: "", found: false, mirrors: [], insecureRegistries: [], proxies: null, liveProxies: null, liveSource: null },
      certsDir: "/nonexistent",
    } as LocalConfig;
    const ctx = testContext({ endpoint: endpointFor("https://reg.example:5000"), facts: { ref: r, local, client: judged(wire) } });
    const out = await proxyStage.run(ctx);
    // The route is containerd's: through its drop-in's proxy, which is dead.
    expect(out.provides?.route?.url).toBe(`http://127.0.0.1:${dead}`);
    const file = path.join(dropIns, "http-proxy.conf");
    const unreachable = out.findings.find((f) => f.code === "PROXY_UNREACHABLE")!;
    expect(unreachable.severity).toBe("error");
    expect(unreachable.detail).toContain(`HTTPS_PROXY=http://127.0.0.1:${dead} (set in ${file}, the containerd service's environment)`);
    expect(unreachable.fixes.join("\n")).toContain(`Correct HTTPS_PROXY in the containerd service's environment (systemd drop-in ${file})`);
    // The shell (no proxy) is the side compared with it.
    const mismatch = out.findings.find((f) => f.code === "PROXY_DAEMON_MISMATCH")!;
    expect(mismatch.severity).toBe("warning");
    expect(mismatch.detail).toContain("this shell uses a direct connection");
    expect(mismatch.detail).toContain(`pulls with the containerd service's environment: http://127.0.0.1:${dead}`);
    expect(mismatch.detail).toContain(`systemd drop-in ${file}`);
    expect(mismatch.fixes[0]).toContain(`remove the proxy variables from systemd drop-in ${file}`);
    expect(mismatch.fixes[0]).toContain("sudo systemctl restart containerd");
    expect(mismatch.fixes[1]).toBe("check: systemctl show containerd --property=Environment");
  });

  test("containerd: a dead shell proxy is only compared; containerd's unit has none, so its route is direct", async () => {
    const r = ref("reg.example:5000");
    const wire = wireOf(containerdClient(inputs(r)).profile);
    const dead = await freePort();
    const ctx = testContext({
      endpoint: endpointFor("https://reg.example:5000"),
      facts: { ref: r, client: judged(wire) },
      deps: { env: { HTTPS_PROXY: `http://127.0.0.1:${dead}` } },
    });
    const out = await proxyStage.run(ctx);
    expect(out.provides?.route?.url).toBeNull();
    expect(out.findings.map((f) => f.code)).toEqual(["PROXY_DAEMON_MISMATCH"]);
    expect(out.findings[0]!.detail).toContain(`this shell uses http://127.0.0.1:${dead}`);
    expect(out.findings[0]!.detail).toContain("This check followed the containerd service's route");
  });
});

test("containerd's unit file itself: its Environment= applies before the drop-ins", async () => {
  const unit = path.join(t.dir, "containerd.service");
  writeFileSync(
    unit,
    `[Unit]\nDescription=containerd\n\n[Service]\nEnvironment="HTTPS_PROXY=http://127.0.0.1:9" "NO_PROXY=.corp"\nExecStart=/usr/bin/containerd\n`,
  );
  const r = ref("reg.example:5000");
  const wire = wireOf(
    containerdClient(inputs(r, { paths: { ...inputs(r).paths, containerdUnits: [path.join(t.dir, "absent.service"), unit] } })).profile,
  );
  const local = {
    dockerConfig: { path: "", found: false, kind: "none" },
    daemon: { path: "", found: false, mirrors: [], insecureRegistries: [], proxies: null, liveProxies: null, liveSource: null },
    certsDir: "/nonexistent",
  } as LocalConfig;
  const ctx = testContext({ endpoint: endpointFor("https://reg.example:5000"), facts: { ref: r, local, client: judged(wire) } });
  const out = await proxyStage.run(ctx);
  const mismatch = out.findings.find((f) => f.code === "PROXY_DAEMON_MISMATCH")!;
  expect(mismatch.detail).toContain(`the containerd service's environment: http://127.0.0.1:9`);
  expect(mismatch.detail).toContain(`systemd unit ${unit}`);
  expect(out.findings.find((f) => f.code === "PROXY_UNREACHABLE")!.detail).toContain(`(set in ${unit}`);
});

describe("the error a client reports when every host failed", () => {
  const f = (code: Finding["code"], stage: Finding["stage"], evidence: Finding["evidence"] = {}): Finding => ({
    code,
    severity: "error",
    stage,
    endpoint: null,
    title: code,
    detail: code,
    fixes: [],
    evidence,
  });

  test("containerd 2.0+ ranks: another HTTP status > 404 > transport (resolver.go#Resolve), the first of the best rank", () => {
    const refused = f("CONNECT_REFUSED", "connect");
    const notFound = f("NAME_UNKNOWN", "manifest");
    const denied = f("AUTH_DENIED", "auth");
    const fetchNet = f("MANIFEST_FETCH_FAILED", "manifest", { error: { kind: "reset" } });
    expect([refused, notFound, denied, fetchNet].map(errorRank)).toEqual([1, 2, 3, 1]);
    expect(mostAdvanced([refused, notFound])).toBe(notFound);
    expect(mostAdvanced([notFound, denied, f("RATE_LIMITED", "manifest")])).toBe(denied);
    // containerd 1.x: the first error that is not a 404.
    expect(firstNot404([notFound, refused])).toBe(refused);
    expect(firstNot404([notFound])).toBe(notFound);
  });
});

describe("the token realm on another host", () => {
  test("kubelet: the evidence says its credentials go to the realm too; without a judged client, nothing is said", () => {
    const cred: Credential = { source: "pull secret", lookupKey: "reg.example", username: "alice", password: new Secret("pw") };
    const wire = wireOf(kubeletClient(inputs(ref("reg.example"))).profile);
    const ctx = testContext({ endpoint: endpointFor("https://reg.example"), facts: { client: judged(wire) } });
    expect(realmNote(ctx, "https://auth.example/token", cred)).toBe(
      "kubelet via containerd CRI sends the credentials for reg.example to the token realm auth.example too (every host the pull touches)",
    );
    expect(realmNote(ctx, "https://reg.example/token", cred)).toBeNull();
    expect(realmNote(testContext({ endpoint: endpointFor("https://reg.example") }), "https://auth.example/token", cred)).toBeNull();
  });
});
