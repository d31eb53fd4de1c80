import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type ContainerdPeer, startContainerd } from "../peers/containerd";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * The doctor's verdict as each client, compared with the real client's own outcome on the same
 * server and configuration: ctr against a containerd of our own, skopeo with the same files.
 */
let reg: RegistryPeer;
let ctd: ContainerdPeer;
const t = tempDir("pd-clients-e2e-");
let image: string;

beforeAll(async () => {
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "clients" }));
  image = `${reg.host}/team/app:1.0`;
  ctd = await startContainerd();
}, 60_000);
afterAll(async () => {
  await ctd?.stop();
  await reg?.stop();
  t.cleanup();
});

function hostsTree(name: string, toml: string): string {
  const root = path.join(t.dir, name);
  mkdirSync(path.join(root, reg.host), { recursive: true });
  writeFileSync(path.join(root, reg.host, "hosts.toml"), toml);
  return root;
}

async function doctor(args: string[], env: Record<string, string> = {}) {
  const home = path.join(t.dir, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(home, { recursive: true });
  const r = await runCli(["check", image, "--json", "--daemon-config", "/nonexistent/daemon.json", ...args], { home, env });
  const report = JSON.parse(r.stdout);
  const config = report.stages.find((s: { id: string }) => s.id === "config");
  return { r, report, config, codes: report.findings.map((f: { code: string }) => f.code) as string[], home };
}

describe("containerd (ctr) and the doctor on the same hosts.toml", () => {
  test("a broken mirror then the working server: ctr pulls; the doctor lists the hosts in containerd's order", async () => {
    const dir = hostsTree(
      "fallback",
      `server = "http://${reg.host}"\n\n[host."http://127.0.0.1:1"]\n  capabilities = ["pull", "resolve"]\n`,
    );
    const ctr = await ctd.ctr(["content", "fetch", "--plain-http", "--hosts-dir", dir, image]);
    expect(ctr.code).toBe(0);
    const d = await doctor(["--client", "containerd", "--hosts-dir", dir]);
    expect(d.report.client).toEqual({ name: "containerd", store: null, basedOn: `--client containerd` });
    const hosts = d.config.evidence.client.profiles[0].hosts.map((h: { url: string; role: string }) => `${h.role} ${h.url}`);
    expect(hosts).toEqual(["mirror http://127.0.0.1:1/v2", `upstream http://${reg.host}/v2`]);
    expect(d.codes).not.toContain("HOSTS_TOML_INVALID");
    expect(d.r.code).toBe(0);
    // Plain HTTP here is hosts.toml's doing: the finding says so for containerd, never daemon.json's words.
    const insecure = d.report.findings.find((f: { code: string }) => f.code === "TLS_INSECURE_IN_USE");
    expect(insecure.detail).toStartWith(`${reg.host} is insecure to containerd (ctr, nerdctl) (${reg.host} is configured as insecure in `);
    expect(insecure.detail).toContain("hosts.toml");
    expect(insecure.fixes).toEqual([
      `Serve ${reg.host} over TLS with a certificate for its name, then remove the http:// URL (write https://${reg.host}) from its hosts.toml.`,
    ]);
    expect(JSON.stringify(insecure)).not.toMatch(/insecure-registries|restart docker|Docker/);
  }, 60_000);

  test("a hosts.toml that does not decode: ctr silently ignores its broken mirror-only server; the doctor says HOSTS_TOML_INVALID with file:line", async () => {
    // Decoded, this file would send every request to a port where nothing listens.
    const dir = hostsTree("invalid", `server = "http://127.0.0.1:1"\ncapabilities = ["pull", "resolve", "fetch"]\n`);
    const ctr = await ctd.ctr(["content", "fetch", "--plain-http", "--hosts-dir", dir, image]);
    expect(ctr.code).toBe(0); // containerd dropped the file and went to the registry itself
    const d = await doctor(["--client", "containerd", "--hosts-dir", dir]);
    const f = d.report.findings.find((x: { code: string }) => x.code === "HOSTS_TOML_INVALID");
    expect(f.detail).toContain(`${path.join(dir, reg.host, "hosts.toml")}:`);
    expect(f.detail).toContain("unknown capability fetch");
    expect(d.config.evidence.client.profiles[0].hosts.map((h: { url: string }) => h.url)).toEqual([`https://${reg.host}/v2`]);
  }, 60_000);

  test("the same file judged valid: ctr fails on the broken server, the doctor's hosts say why", async () => {
    // containerd 1.6 cannot decode a hosts.toml without a [host] table ("invalid `host` tree"), so one is given.
    const dir = hostsTree("only-broken", `server = "http://127.0.0.1:1"\n\n[host."http://127.0.0.1:2"]\n`);
    const ctr = await ctd.ctr(["content", "fetch", "--plain-http", "--hosts-dir", dir, image]);
    expect(ctr.code).not.toBe(0);
    expect(ctr.out).toContain("127.0.0.1:1");
    const d = await doctor(["--client", "containerd", "--hosts-dir", dir]);
    expect(d.config.evidence.client.profiles[0].hosts.map((h: { url: string }) => h.url)).toEqual([
      "http://127.0.0.1:2/v2",
      "http://127.0.0.1:1/v2",
    ]);
  }, 60_000);
});

describe("podman/skopeo (containers/image) and the doctor on the same files", () => {
  test("registries.conf blocked = true: skopeo refuses, the doctor says REGISTRY_BLOCKED", async () => {
    const conf = path.join(t.dir, "blocked.conf");
    writeFileSync(conf, `unqualified-search-registries = ["docker.io"]\n\n[[registry]]\nlocation = "${reg.host}"\nblocked = true\n`);
    const skopeo = Bun.spawnSync([
      requireBinary("skopeo", "skopeo"),
      "--registries-conf",
      conf,
      "inspect",
      "--tls-verify=false",
      `docker://${image}`,
    ]);
    expect(skopeo.exitCode).not.toBe(0);
    expect(skopeo.stderr.toString()).toContain("blocked");
    const d = await doctor(["--client", "podman", "--registries-conf", conf]);
    const f = d.report.findings.find((x: { code: string }) => x.code === "REGISTRY_BLOCKED");
    expect(f.severity).toBe("error");
    expect(f.detail).toContain(`${conf}:3`);
    expect(d.r.code).toBe(1);
  }, 60_000);

  test("the same registry not blocked: skopeo reads it, the doctor has no config error for podman", async () => {
    const conf = path.join(t.dir, "open.conf");
    writeFileSync(conf, `unqualified-search-registries = ["docker.io"]\n\n[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    const skopeo = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", conf, "inspect", `docker://${image}`]);
    expect(skopeo.exitCode).toBe(0);
    const d = await doctor(["--client", "podman", "--registries-conf", conf]);
    expect(d.codes.filter((c) => ["REGISTRY_BLOCKED", "CLIENT_CONFIG_INVALID", "POLICY_REJECTED"].includes(c))).toEqual([]);
  }, 60_000);

  test("policy.json reject: skopeo copy refuses, the doctor says POLICY_REJECTED", async () => {
    const home = path.join(t.dir, "policy-home");
    mkdirSync(path.join(home, ".config", "containers"), { recursive: true });
    const policy = path.join(home, ".config", "containers", "policy.json");
    writeFileSync(
      policy,
      JSON.stringify({ default: [{ type: "insecureAcceptAnything" }], transports: { docker: { [reg.host]: [{ type: "reject" }] } } }),
    );
    const skopeo = Bun.spawnSync(
      [
        requireBinary("skopeo", "skopeo"),
        "--policy",
        policy,
        "copy",
        "--src-tls-verify=false",
        `docker://${image}`,
        `oci:${path.join(t.dir, "out")}:x`,
      ],
      { env: { ...process.env, HOME: home } },
    );
    expect(skopeo.exitCode).not.toBe(0);
    expect(skopeo.stderr.toString()).toContain("rejected");
    const r = await runCli(["check", image, "--json", "--client", "podman", "--daemon-config", "/nonexistent/daemon.json"], { home });
    const report = JSON.parse(r.stdout);
    const f = report.findings.find((x: { code: string }) => x.code === "POLICY_REJECTED");
    expect(f.detail).toContain(`docker:${reg.host}`);
    expect(r.code).toBe(1);
  }, 60_000);
});

describe("kubelet pull secrets and --client all", () => {
  test("a secret for another port: PULL_SECRET_NO_MATCH lists the key and why; a bad secret is PULL_SECRET_INVALID with its line", async () => {
    const other = path.join(t.dir, "other.json");
    writeFileSync(other, JSON.stringify({ auths: { "127.0.0.1": { auth: Buffer.from("u:p").toString("base64") } } }));
    const bad = path.join(t.dir, "bad.yaml");
    writeFileSync(bad, "apiVersion: v1\nkind: Secret\ntype: Opaque\ndata:\n  x: eA==\n");
    const d = await doctor([
      "--client",
      "kubelet",
      "--pull-secret",
      other,
      "--pull-secret",
      bad,
      "--containerd-config",
      "/nonexistent/config.toml",
    ]);
    const nm = d.report.findings.find((x: { code: string }) => x.code === "PULL_SECRET_NO_MATCH");
    expect(nm.detail).toContain(`127.0.0.1 (${other}): port (none) ≠ the image's ${reg.port}`);
    const inv = d.report.findings.find((x: { code: string }) => x.code === "PULL_SECRET_INVALID");
    expect(inv.detail).toContain(`${bad}:3`);
  }, 60_000);

  test("--client all: one verdict per client; the blocked registry stops podman only", async () => {
    const conf = path.join(t.dir, "blocked-all.conf");
    writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\nblocked = true\n`);
    const d = await doctor(["--client", "all", "--registries-conf", conf, "--containerd-config", "/nonexistent/config.toml"]);
    const by = Object.fromEntries(
      d.report.clients.map((c: { name: string; store: string | null; verdict: { code: string | null } }) => [
        `${c.name}/${c.store}`,
        c.verdict.code,
      ]),
    );
    expect(by).toEqual({
      "docker/classic": null,
      "docker/containerd": null,
      "containerd/null": null,
      "kubelet/null": null,
      "podman/null": "REGISTRY_BLOCKED",
    });
    const plain = await runCli(
      ["check", image, "--client", "all", "--registries-conf", conf, "--daemon-config", "/nonexistent/daemon.json"],
      { home: d.home },
    );
    expect(plain.stdout).toMatch(/podman\s+fails: REGISTRY_BLOCKED/);
  }, 60_000);

  test("unknown --client name: exit 2", async () => {
    const r = await runCli(["check", image, "--client", "cri-o"], { home: t.dir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain("--client takes auto, docker, containerd, kubelet, podman, all");
  });
});

describe("the other config codes of the clients, from the binary", () => {
  test("SHORT_NAME_UNRESOLVED: podman refuses a short name with no search registry; so does the doctor's podman judgement", async () => {
    const conf = path.join(t.dir, "short.conf");
    writeFileSync(conf, 'short-name-mode = "enforcing"\n');
    const store = path.join(t.dir, "podman-store");
    const podman = Bun.spawnSync(
      [requireBinary("podman", "podman"), "--root", store, "--runroot", `${store}-run`, "--storage-driver", "vfs", "pull", "app:1.0"],
      { env: { ...process.env, CONTAINERS_REGISTRIES_CONF: conf } },
    );
    expect(podman.exitCode).not.toBe(0);
    expect(podman.stderr.toString()).toContain("did not resolve to an alias and no unqualified-search registries are defined");
    const home = path.join(t.dir, "short-home");
    mkdirSync(home, { recursive: true });
    const r = await runCli(["check", "app:1.0", "--json", "--timeout", "2", "--client", "podman", "--registries-conf", conf], { home });
    const f = JSON.parse(r.stdout).findings.find((x: { code: string }) => x.code === "SHORT_NAME_UNRESOLVED");
    expect(f.detail).toContain('"app:1.0": did not resolve to an alias and no unqualified-search registries are defined');
  }, 60_000);

  test("CLIENT_CONFIG_INVALID: skopeo refuses a registries.conf mixing v1 and v2; the doctor names the file and line", async () => {
    const conf = path.join(t.dir, "mixed.conf");
    writeFileSync(conf, 'unqualified-search-registries = ["docker.io"]\n\n[registries.search]\nregistries = ["quay.io"]\n');
    const skopeo = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "--registries-conf", conf, "inspect", `docker://${image}`]);
    expect(skopeo.stderr.toString()).toContain("mixing sysregistry v1/v2 is not supported");
    const d = await doctor(["--client", "podman", "--registries-conf", conf]);
    const f = d.report.findings.find((x: { code: string }) => x.code === "CLIENT_CONFIG_INVALID");
    expect(f.detail).toContain(`${conf}:3: mixing sysregistry v1/v2 is not supported`);
  }, 60_000);

  test("HOSTS_DIR_IGNORED: a version 3 config.toml in transfer mode with a colon config_path, and a hosts.toml in one of its roots", async () => {
    const root = hostsTree("transfer", `[host."http://127.0.0.1:1"]\n`);
    const cfg = path.join(t.dir, "config-v3.toml");
    writeFileSync(cfg, `version = 3\n[plugins."io.containerd.cri.v1.images".registry]\n  config_path = "${root}:/etc/docker/certs.d"\n`);
    const d = await doctor(["--client", "kubelet", "--containerd-config", cfg]);
    const f = d.report.findings.find((x: { code: string }) => x.code === "HOSTS_DIR_IGNORED");
    expect(f.detail).toContain(path.join(root, reg.host));
    // What CRI in transfer mode then tries: the registry alone.
    expect(d.config.evidence.client.profiles[0].hosts.map((h: { role: string }) => h.role)).toEqual(["upstream"]);
  }, 60_000);

  test("PULL_SECRET_UNSUPPORTED: a pull secret with credsStore and an identitytoken", async () => {
    const s = path.join(t.dir, "helper.json");
    writeFileSync(s, JSON.stringify({ credsStore: "desktop", auths: { [reg.host]: { identitytoken: "tok" } } }));
    const d = await doctor(["--client", "kubelet", "--pull-secret", s, "--containerd-config", "/nonexistent/config.toml"]);
    const f = d.report.findings.find((x: { code: string }) => x.code === "PULL_SECRET_UNSUPPORTED");
    expect(f.detail).toContain(`credsStore, auths[${reg.host}].identitytoken are ignored by kubelet`);
    expect(JSON.stringify(d.report)).not.toContain('tok"');
  }, 60_000);

  test("CONTENT_TRUST_ENABLED: DOCKER_CONTENT_TRUST=1 for docker; not for podman", async () => {
    const d = await doctor(["--client", "docker"], { DOCKER_CONTENT_TRUST: "1" });
    expect(d.codes).toContain("CONTENT_TRUST_ENABLED");
    expect(d.report.client.name).toBe("docker");
    const p = await doctor(["--client", "podman", "--registries-conf", "/nonexistent/registries.conf"], { DOCKER_CONTENT_TRUST: "1" });
    expect(p.codes).not.toContain("CONTENT_TRUST_ENABLED");
  }, 60_000);
});
