import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { ctrOutcome, referenceOutcome } from "../../src/stages/reference";
import { runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type ContainerdPeer, startContainerd } from "../peers/containerd";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * Short names as each client resolves them, through the compiled binary: podman walks registries.conf's
 * unqualified-search-registries in order (real podman with the same file), ctr refuses a name with no '/'.
 */
let first: RegistryPeer;
let second: RegistryPeer;
let locked: RegistryPeer;
let ctd: ContainerdPeer;
const PW = "short-names-pw-3";
const t = tempDir("pd-short-names-");

beforeAll(async () => {
  [first, second, locked] = await Promise.all([startRegistry(), startRegistry(), startRegistry({ htpasswd: { alice: PW } })]);
  // The image only on the second search registry.
  await pushImage(second.url, "demo/healthy", "latest", buildImage({ label: "short-names" }));
  await pushImage(locked.url, "demo/healthy", "latest", buildImage({ label: "short-names-locked" }), {
    authorization: `Basic ${Buffer.from(`alice:${PW}`).toString("base64")}`,
  });
  ctd = await startContainerd();
}, 60_000);
afterAll(async () => {
  await ctd?.stop();
  await Promise.all([first?.stop(), second?.stop(), locked?.stop()]);
  t.cleanup();
});

function registriesConf(name: string, body: string): string {
  const file = path.join(t.dir, `${name}.conf`);
  writeFileSync(file, body);
  return file;
}

const searchBoth = () =>
  `unqualified-search-registries = ["${first.host}", "${second.host}"]\n` +
  `short-name-mode = "permissive"\n\n` +
  `[[registry]]\nlocation = "${first.host}"\ninsecure = true\n\n` +
  `[[registry]]\nlocation = "${second.host}"\ninsecure = true\n`;

async function doctor(image: string, args: string[], env: Record<string, string> = {}, policy?: object, command = "check") {
  const home = path.join(t.dir, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(path.join(home, ".config", "containers"), { recursive: true });
  if (policy) writeFileSync(path.join(home, ".config", "containers", "policy.json"), JSON.stringify(policy));
  const r = await runCli([command, image, "--json", "--daemon-config", "/nonexistent/daemon.json", ...args], { home, env });
  const report = JSON.parse(r.stdout);
  return { r, report, codes: report.findings.map((f: { code: string }) => f.code) as string[] };
}

/** Real podman with its own root, run root and the same registries.conf; no terminal, so no prompt. */
const ACCEPT = { default: [{ type: "insecureAcceptAnything" }] };

function podmanPull(conf: string, image: string, env: Record<string, string> = {}, policyJson: object = ACCEPT) {
  const root = path.join(t.dir, `podman-${Math.random().toString(36).slice(2)}`);
  mkdirSync(root, { recursive: true });
  const policy = path.join(root, "policy.json");
  writeFileSync(policy, JSON.stringify(policyJson));
  const p = Bun.spawnSync(
    [
      requireBinary("podman", "podman"),
      "--root",
      path.join(root, "root"),
      "--runroot",
      path.join(root, "run"),
      "--storage-driver",
      "vfs",
      "pull",
      "--signature-policy",
      policy,
      image,
    ],
    { env: { ...process.env, CONTAINERS_REGISTRIES_CONF: conf, HOME: root, ...env }, stdin: "ignore" },
  );
  return { code: p.exitCode, out: `${p.stdout.toString()}${p.stderr.toString()}` };
}

describe("podman: a short name is the search registries in order", () => {
  test("the image only on the second search registry: podman pulls it from there; so does the doctor, naming the candidate", async () => {
    const conf = registriesConf("both", searchBoth());
    const real = podmanPull(conf, "demo/healthy");
    expect(real.out).toContain(`Trying to pull ${first.host}/demo/healthy:latest`);
    expect(real.out).toContain(`Trying to pull ${second.host}/demo/healthy:latest`);
    expect(real.code).toBe(0);

    const d = await doctor("demo/healthy", ["--client", "podman", "--registries-conf", conf]);
    expect(d.r.code).toBe(0);
    expect(d.report.verdict.ok).toBe(true);
    expect(d.report.verdict.endpoint).toBe(`http://${second.host}`);
    const reference = d.report.stages.find((s: { id: string }) => s.id === "reference");
    expect(reference.summary).toBe(
      "demo/healthy → docker.io/demo/healthy:latest for Docker; podman resolves the short name with registries.conf (config stage)",
    );
    // Nothing goes to Docker Hub: the candidates are the two search registries, in order.
    expect(JSON.stringify(d.report.stages.map((s: { endpoint: string | null }) => s.endpoint))).not.toContain("docker.io");
    const config = d.report.stages.find((s: { id: string }) => s.id === "config");
    const profile = config.evidence.client.profiles[0];
    expect(profile.read.shortName.candidates.map((c: { name: string }) => c.name)).toEqual([
      `${first.host}/demo/healthy:latest`,
      `${second.host}/demo/healthy:latest`,
    ]);
    expect(profile.hosts.map((h: { source: string }) => h.source)).toEqual([
      expect.stringContaining(`candidate ${first.host}/demo/healthy:latest from unqualified-search-registries (${conf}:1)`),
      expect.stringContaining(`candidate ${second.host}/demo/healthy:latest from unqualified-search-registries (${conf}:1)`),
    ]);
    // The first candidate's 404 is the way to the second, not this pull's failure.
    const manifest = d.report.stages.filter((s: { id: string }) => s.id === "manifest");
    expect(manifest.map((s: { endpoint: string; status: string }) => `${s.endpoint} ${s.status}`)).toEqual([
      `https://${first.host} warn`,
      `https://${second.host} pass`,
    ]);
    expect(d.report.findings.filter((f: { severity: string }) => f.severity === "error")).toEqual([]);
  }, 120_000);

  test("pulldoctor pull of the short name as podman fetches it from the candidate that answered", async () => {
    const conf = registriesConf("pull", searchBoth());
    const out = path.join(t.dir, "oci-pull");
    const d = await doctor(
      "demo/healthy",
      ["--client", "podman", "--registries-conf", conf, "--output", `oci:${out}:latest`],
      {},
      undefined,
      "pull",
    );
    expect(d.report.stages.at(-1)).toMatchObject({ id: "pull", status: "pass" });
    expect(d.report.verdict.summary).toContain(`from http://${second.host}`);
    expect(d.r.code).toBe(0);
  }, 120_000);

  test("the candidate behind Basic: podman sends the auth.json entry of that candidate's registry, so does the doctor", async () => {
    const conf = registriesConf(
      "locked",
      `unqualified-search-registries = ["${first.host}", "${locked.host}"]\n\n` +
        `[[registry]]\nlocation = "${first.host}"\ninsecure = true\n\n[[registry]]\nlocation = "${locked.host}"\ninsecure = true\n`,
    );
    const authFile = path.join(t.dir, "auth.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [locked.host]: { auth: Buffer.from(`alice:${PW}`).toString("base64") } } }));
    const env = { REGISTRY_AUTH_FILE: authFile };
    const real = podmanPull(conf, "demo/healthy", env);
    expect(real.code).toBe(0);
    const d = await doctor("demo/healthy", ["--client", "podman", "--registries-conf", conf], env);
    expect(d.r.code).toBe(0);
    expect(d.report.verdict.endpoint).toBe(`http://${locked.host}`);
    const auth = d.report.stages.find((s: { id: string; endpoint: string }) => s.id === "auth" && s.endpoint === `https://${locked.host}`);
    expect(auth.summary).toStartWith("Basic as alice; HEAD manifest → 200");
    const config = d.report.stages.find((s: { id: string }) => s.id === "config");
    expect(config.summary).toContain(
      `short name demo/healthy: candidates ${first.host}/demo/healthy:latest, ${locked.host}/demo/healthy:latest`,
    );
    expect(JSON.stringify(d.report)).not.toContain(PW);
  }, 120_000);

  test("--client all, podman after Docker: the candidate behind Basic still gets the auth.json entry of its registry, and podman's line succeeds", async () => {
    const conf = registriesConf(
      "locked-all",
      `unqualified-search-registries = ["${first.host}", "${locked.host}"]\n\n` +
        `[[registry]]\nlocation = "${first.host}"\ninsecure = true\n\n[[registry]]\nlocation = "${locked.host}"\ninsecure = true\n`,
    );
    const authFile = path.join(t.dir, "auth-all.json");
    writeFileSync(authFile, JSON.stringify({ auths: { [locked.host]: { auth: Buffer.from(`alice:${PW}`).toString("base64") } } }));
    const env = { REGISTRY_AUTH_FILE: authFile };
    expect(podmanPull(conf, "demo/healthy", env).code).toBe(0);
    const hosts = path.join(t.dir, "no-hosts");
    mkdirSync(hosts, { recursive: true });
    const args = ["--client", "all", "--registries-conf", conf, "--hosts-dir", hosts, "--containerd-config", "/nonexistent/config.toml"];
    const d = await doctor("demo/healthy", [...args, "--timeout", "5"], env);
    const clients = d.report.clients as { name: string; verdict: { ok: boolean }; endpoints: string[] }[];
    expect(clients.map((c) => c.name).indexOf("podman")).toBeGreaterThan(clients.map((c) => c.name).indexOf("docker"));
    const podman = clients.find((c) => c.name === "podman")!;
    expect(podman.verdict.ok).toBe(true);
    expect(podman.endpoints).toEqual([`https://${first.host}`, `https://${locked.host}`]);
    const auth = d.report.stages.find((s: { id: string; endpoint: string }) => s.id === "auth" && s.endpoint === `https://${locked.host}`);
    expect(auth.summary).toStartWith("Basic as alice; HEAD manifest → 200");
    expect(JSON.stringify(d.report)).not.toContain(PW);
  }, 120_000);

  test("policy.json rejects the first candidate's registry: podman goes on to the second, so does the doctor; rejecting both is POLICY_REJECTED", async () => {
    // The image on both registries: only the policy decides which one podman takes.
    await Promise.all([first, second].map((r) => pushImage(r.url, "demo/both", "latest", buildImage({ label: `short-names-${r.port}` }))));
    const conf = registriesConf("policy", searchBoth());
    const rejectFirst = { ...ACCEPT, transports: { docker: { [first.host]: [{ type: "reject" }] } } };
    const real = podmanPull(conf, "demo/both", {}, rejectFirst);
    expect(real.code).toBe(0);
    expect(real.out).toContain(`Trying to pull ${second.host}/demo/both:latest`);
    const d = await doctor("demo/both", ["--client", "podman", "--registries-conf", conf], {}, rejectFirst);
    expect(d.r.code).toBe(0);
    expect(d.report.verdict.endpoint).toBe(`http://${second.host}`);
    expect(d.codes).not.toContain("POLICY_REJECTED");

    const rejectBoth = { ...ACCEPT, transports: { docker: { [first.host]: [{ type: "reject" }], [second.host]: [{ type: "reject" }] } } };
    const refused = podmanPull(conf, "demo/both", {}, rejectBoth);
    expect(refused.code).not.toBe(0);
    const r = await doctor("demo/both", ["--client", "podman", "--registries-conf", conf], {}, rejectBoth);
    expect(r.r.code).not.toBe(0);
    const f = r.report.findings.find((x: { code: string }) => x.code === "POLICY_REJECTED");
    expect(f.detail).toContain(`${first.host}/demo/both:latest`);
  }, 120_000);

  test("an [aliases] entry is the only candidate: podman goes straight to it, so does the doctor", async () => {
    const conf = registriesConf("alias", `${searchBoth()}\n[aliases]\n"healthy" = "${second.host}/demo/healthy"\n`);
    const real = podmanPull(conf, "healthy");
    expect(real.out).toContain("as an alias");
    expect(real.out).not.toContain(`Trying to pull ${first.host}`);
    expect(real.code).toBe(0);
    const d = await doctor("healthy", ["--client", "podman", "--registries-conf", conf]);
    expect(d.r.code).toBe(0);
    const endpoints = [...new Set(d.report.stages.map((s: { endpoint: string | null }) => s.endpoint).filter(Boolean))];
    expect(endpoints).toEqual([`https://${second.host}`]);
    const profile = d.report.stages.find((s: { id: string }) => s.id === "config").evidence.client.profiles[0];
    expect(profile.read.shortName.candidates).toEqual([{ name: `${second.host}/demo/healthy:latest`, via: `alias "healthy" (${conf})` }]);
  }, 120_000);

  test("enforcing mode, two search registries, no terminal: podman refuses; the doctor says SHORT_NAME_UNRESOLVED", async () => {
    const conf = registriesConf("enforcing", searchBoth().replace('"permissive"', '"enforcing"'));
    const real = podmanPull(conf, "demo/healthy");
    expect(real.code).not.toBe(0);
    expect(real.out).toContain("short-name resolution enforced but cannot prompt without a TTY");
    const d = await doctor("demo/healthy", ["--client", "podman", "--registries-conf", conf]);
    expect(d.r.code).not.toBe(0);
    expect(d.codes).toContain("SHORT_NAME_UNRESOLVED");
  }, 120_000);
});

describe("containerd (ctr): a short name is not normalised", () => {
  test("ctr refuses `alpine` before any request; the doctor as containerd says so in ctr's words, with the full name", async () => {
    const real = await ctd.ctr(["images", "pull", "alpine"]);
    expect(real.code).not.toBe(0);
    expect(real.out).toContain('failed to resolve reference "alpine": object required');
    const d = await doctor("alpine", ["--client", "containerd"]);
    expect(d.r.code).not.toBe(0);
    const f = d.report.findings.find((x: { code: string }) => x.code === "REF_INVALID");
    expect(f.stage).toBe("reference");
    expect(f.severity).toBe("error");
    expect(f.detail).toContain('failed to resolve reference "alpine": object required');
    expect(f.fixes[0]).toBe("Give ctr the full name with its tag: ctr images pull docker.io/library/alpine:latest");
    // Nothing was sent: every endpoint stage is skipped for want of a reference.
    expect(d.report.stages.filter((s: { endpoint: string | null }) => s.endpoint !== null)).toEqual([]);
  }, 60_000);

  test("ctr's own words for every name it refuses, a full name without a tag included; with its tag ctr and the doctor both pull", async () => {
    const refused = ["alpine:3.19", "demo/healthy", `${second.host}/demo/healthy`, `alpine@sha256:${"a".repeat(64)}`];
    for (const name of refused) {
      const real = await ctd.ctr(["images", "pull", "--plain-http", name]);
      expect(real.code).not.toBe(0);
      const said = real.out
        .trim()
        .split("\n")
        .at(-1)!
        .replace(/^ctr: /, "");
      const d = await doctor(name, ["--client", "containerd", "--plain-http"]);
      const f = d.report.findings.find((x: { code: string }) => x.code === "REF_INVALID");
      expect(f.evidence.message).toBe(said);
      expect(d.r.code).not.toBe(0);
    }
    const full = `${second.host}/demo/healthy:latest`;
    expect((await ctd.ctr(["images", "pull", "--plain-http", full])).code).toBe(0);
    const d = await doctor(full, ["--client", "containerd", "--plain-http"]);
    expect(d.codes).not.toContain("REF_INVALID");
    expect(d.r.code).toBe(0);
  }, 120_000);

  test('demo/healthy:1: ctr sends it to the host "demo"; so does the doctor as containerd', async () => {
    const real = await ctd.ctr(["images", "pull", "demo/healthy:1"]);
    expect(real.code).not.toBe(0);
    expect(real.out).toContain('"https://demo/v2/healthy/manifests/1"');
    const d = await doctor("demo/healthy:1", ["--client", "containerd", "--timeout", "5"]);
    expect(d.r.code).not.toBe(0);
    const reference = d.report.stages.find((s: { id: string }) => s.id === "reference");
    expect(reference.summary).toStartWith("demo/healthy:1 → demo/healthy:1 as ctr reads it");
    expect(d.report.stages.find((s: { id: string }) => s.id === "dns").endpoint).toBe("https://demo");
  }, 120_000);

  test("the reference stage refuses it only as ctr: docker's own normalisation is unchanged", () => {
    const docker = referenceOutcome("alpine");
    expect(docker.findings.map((f) => f.code)).not.toContain("REF_INVALID");
    expect(ctrOutcome("alpine", docker).findings.map((f) => f.code)).toEqual(["REF_INVALID"]);
    // A full name with its tag is read the same by ctr.
    const full = referenceOutcome("docker.io/library/alpine:3.19");
    expect(ctrOutcome("docker.io/library/alpine:3.19", full)).toBe(full);
  });
});
