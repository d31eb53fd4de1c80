import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { bindEtcScript } from "../helpers/run-in-ns";
import { expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort, requireBinary } from "../peers/require";
import { startTinyproxy, type TinyproxyPeer } from "../peers/tinyproxy";

/**
 * containerd pulls with its systemd unit's environment, never the shell's: judged as containerd,
 * the compiled binary takes its route from containerd.service's drop-ins and compares the shell's
 * proxy with it. Each run is in a private mount namespace whose /etc/systemd/system is the test's
 * temp dir and whose /usr/lib/systemd/system is empty (the machine's containerd.service hidden).
 * The registry (docker-registry with TLS) is 0.0.0.0:PORT: an IP literal Go proxies (only loopback
 * literals and "localhost" are exempt) that needs no DNS, and that Linux delivers over loopback.
 */
let ca: CA;
let reg: RegistryPeer;
let proxy: TinyproxyPeer;
let target = "";
const t = tempDir("pd-proxy-unit-");

beforeAll(async () => {
  requireBinaryBuilt();
  ca = makeCA("pd-proxy-unit-ca");
  const leaf = issueServerCert(ca, { cn: "registry.pd.test", sans: ["IP:0.0.0.0"] });
  [reg, proxy] = await Promise.all([startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } }), startTinyproxy()]);
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "proxy-unit" }));
  target = `0.0.0.0:${reg.port}`;
}, 60_000);
afterAll(async () => {
  await Promise.all([reg?.stop(), proxy?.stop()]);
  ca?.cleanup();
  t.cleanup();
});

type F = { code: string; severity: string; stage: string; detail: string; fixes: string[] };

/** A node: containerd's hosts dir (the registry's CA, Docker-style), its config, its drop-in (or none). */
async function containerd(name: string, dropIn: string | null, env: Record<string, string>) {
  const root = path.join(t.dir, name);
  const hosts = path.join(root, "certs.d");
  mkdirSync(path.join(hosts, target), { recursive: true });
  writeFileSync(path.join(hosts, target, "ca.crt"), ca.cert);
  writeFileSync(path.join(root, "config.toml"), "version = 2\n");
  const units = path.join(root, "systemd");
  mkdirSync(path.join(units, "containerd.service.d"), { recursive: true });
  if (dropIn) writeFileSync(path.join(units, "containerd.service.d", "http-proxy.conf"), `[Service]\n${dropIn}\n`);
  const home = path.join(root, "home");
  mkdirSync(home, { recursive: true });
  const args = ["check", `${target}/team/app:1.0`, "--json", "--timeout", "3", "--client", "containerd"];
  const flags = ["--containerd-config", path.join(root, "config.toml"), "--hosts-dir", hosts];
  const mounts = `mount --bind '${units}' /etc/systemd/system && mount -t tmpfs tmpfs /usr/lib/systemd/system`;
  const script = `${mounts} && ${bindEtcScript(root, {})}`;
  const unshare = requireBinary("unshare", "util-linux");
  const proc = Bun.spawn([unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh", requireBinaryBuilt(), ...args, ...flags], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1", ...env },
    cwd: home,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  let report: any;
  try {
    report = JSON.parse(stdout);
  } catch {
    throw new Error(`stdout is not JSON (exit ${code}):\n${stdout}\n--- stderr ---\n${stderr}`);
  }
  expectValidReport(report);
  const findings = report.findings as F[];
  const stage = (id: string) => report.stages.find((s: { id: string }) => s.id === id);
  return { code, report, findings, stage, codes: findings.map((f) => `${f.code}:${f.severity}`) };
}

const DROP_IN = "/etc/systemd/system/containerd.service.d/http-proxy.conf";

describe("containerd's route is its unit's proxy environment, not the shell's", () => {
  test("a dead shell proxy, no proxy in containerd's unit: the pull goes direct and passes; a warning says the shell differs", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = await containerd("shell-dead", null, { HTTPS_PROXY: dead });
    expect(c.report.client.name).toBe("containerd");
    expect(c.codes).not.toContain("PROXY_UNREACHABLE:error");
    const f = c.findings.find((x) => x.code === "PROXY_DAEMON_MISMATCH")!;
    expect(f.severity).toBe("warning");
    expect(f.detail).toContain(`this shell uses ${dead}`);
    expect(f.detail).toContain("pulls with the containerd service's environment: a direct connection");
    expect(f.fixes[0]).toContain("Nothing to change for");
    expect(c.stage("connect").evidence.hops[0].target).toBe(target);
    expect(c.stage("manifest").status).toBe("pass");
    expect(c.report.verdict.ok).toBe(true);
    expect(c.code).toBe(0);
  }, 60_000);

  test("containerd's drop-in names tinyproxy: every stage goes through it (tinyproxy logs the CONNECT) and the pull passes", async () => {
    const before = proxy.logs().split(target).length;
    const c = await containerd("unit-proxy", `Environment="HTTPS_PROXY=${proxy.url}"`, {});
    const inUse = c.findings.find((x) => x.code === "PROXY_IN_USE")!;
    expect(inUse.detail).toContain(`${target} goes through ${proxy.url} (HTTPS_PROXY): CONNECT answered 200`);
    // The shell (no proxy) is the compared side.
    const f = c.findings.find((x) => x.code === "PROXY_DAEMON_MISMATCH")!;
    expect(f.detail).toContain("this shell uses a direct connection");
    expect(f.detail).toContain(`from systemd drop-in ${DROP_IN}`);
    expect(c.stage("connect").evidence.hops[0].target).toContain(`proxy ${proxy.url}`);
    expect(c.stage("manifest").status).toBe("pass");
    expect(c.stage("blob").status).toBe("pass");
    expect(c.report.verdict.ok).toBe(true);
    expect(c.code).toBe(0);
    // The proxy stage's CONNECT, then connect, manifest and blob: tinyproxy saw them all.
    expect(proxy.logs().split(target).length - before).toBeGreaterThanOrEqual(3);
    expect(proxy.logs()).toContain("CONNECT");
  }, 60_000);

  test("containerd's drop-in names a dead proxy: PROXY_UNREACHABLE names the drop-in, though the shell has no proxy", async () => {
    const dead = `http://127.0.0.1:${await freePort()}`;
    const c = await containerd("unit-dead", `Environment="HTTPS_PROXY=${dead}" "NO_PROXY=.corp.example"`, {});
    const f = c.findings.find((x) => x.code === "PROXY_UNREACHABLE")!;
    expect(f.severity).toBe("error");
    expect(f.detail).toContain(`HTTPS_PROXY=${dead} (set in ${DROP_IN}, the containerd service's environment)`);
    expect(f.fixes.join("\n")).toContain(`Correct HTTPS_PROXY in the containerd service's environment (systemd drop-in ${DROP_IN})`);
    expect(f.fixes.join("\n")).not.toMatch(/docker\.service|restart docker|in the shell/);
    expect(c.stage("proxy").status).toBe("fail");
    expect(c.report.verdict.ok).toBe(false);
    expect(c.code).toBe(1);
  }, 60_000);
});
