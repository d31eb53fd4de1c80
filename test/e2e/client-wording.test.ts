import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage, buildIndex } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * The fixes of a finding are written for the judged client, through the compiled binary against
 * a real docker-registry: an amd64+arm64 index asked for s390x, and a registry whose CA is private.
 */
const DOCKER_ONLY = /docker (login|logout|pull)|daemon\.json|systemctl restart docker|\/etc\/docker\/certs\.d|restart dockerd/;

let reg: RegistryPeer;
let tlsReg: RegistryPeer;
let ca: CA;
const t = tempDir("pd-client-wording-");

beforeAll(async () => {
  requireBinaryBuilt();
  ca = makeCA("pd-wording-ca");
  const leaf = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1"] });
  [reg, tlsReg] = await Promise.all([startRegistry(), startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } })]);
  const amd = buildImage({ label: "w-amd64" });
  const arm = buildImage({ label: "w-arm64", platform: { os: "linux", architecture: "arm64" } });
  await pushImage(reg.url, "multi/app", "1.0", buildIndex([amd, arm]));
  await pushImage(tlsReg.url, "team/app", "1.0", buildImage({ label: "w-tls" }));
}, 60_000);
afterAll(async () => {
  await Promise.all([reg?.stop(), tlsReg?.stop()]);
  ca?.cleanup();
  t.cleanup();
});

async function fixesOf(image: string, code: string, args: string[]) {
  const home = path.join(t.dir, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(path.join(home, "certs.d"), { recursive: true });
  const r = await runCli(
    [
      "check",
      image,
      "--json",
      "--timeout",
      "5",
      "--daemon-config",
      "/nonexistent/daemon.json",
      "--certs-dir",
      path.join(home, "certs.d"),
      ...args,
    ],
    { home },
  );
  const report = JSON.parse(r.stdout);
  const f = report.findings.find((x: { code: string }) => x.code === code);
  expect({ codes: report.findings.map((x: { code: string }) => x.code), found: !!f }).toMatchObject({ found: true });
  return { fixes: (f.fixes as string[]).join("\n"), detail: f.detail as string, code: r.code };
}

describe("PLATFORM_UNAVAILABLE: an amd64+arm64 index asked for linux/s390x", () => {
  test("podman: `podman pull --platform`, never `docker pull`", async () => {
    const conf = path.join(t.dir, "registries.conf");
    writeFileSync(conf, `[[registry]]\nlocation = "${reg.host}"\ninsecure = true\n`);
    const image = `${reg.host}/multi/app:1.0`;
    const p = await fixesOf(image, "PLATFORM_UNAVAILABLE", ["--client", "podman", "--registries-conf", conf, "--platform", "linux/s390x"]);
    expect(p.fixes).toContain(`podman pull --platform linux/amd64 ${image}`);
    expect(p.fixes).not.toMatch(DOCKER_ONLY);
    expect(p.code).toBe(1);
  }, 60_000);

  test("docker keeps `docker pull --platform`; containerd says ctr with the full reference", async () => {
    const image = `${reg.host}/multi/app:1.0`;
    const d = await fixesOf(image, "PLATFORM_UNAVAILABLE", [
      "--client",
      "docker",
      "--docker-store",
      "classic",
      "--platform",
      "linux/s390x",
    ]);
    expect(d.fixes).toContain(`docker pull --platform linux/amd64 ${image}`);
    const hosts = path.join(t.dir, "no-hosts");
    const c = await fixesOf(image, "PLATFORM_UNAVAILABLE", ["--client", "containerd", "--hosts-dir", hosts, "--platform", "linux/s390x"]);
    expect(c.fixes).toContain(`ctr images pull --platform linux/amd64 ${image}`);
    expect(c.fixes).not.toMatch(DOCKER_ONLY);
  }, 60_000);
});

describe("TLS_UNKNOWN_CA: a registry whose CA is private", () => {
  test("containerd (--hosts-dir without a ca): hosts.toml `ca`, never Docker's certs.d", async () => {
    const hosts = path.join(t.dir, "tls-hosts");
    mkdirSync(path.join(hosts, tlsReg.host), { recursive: true });
    writeFileSync(path.join(hosts, tlsReg.host, "hosts.toml"), `server = "https://${tlsReg.host}"\n`);
    const c = await fixesOf(`${tlsReg.host}/team/app:1.0`, "TLS_UNKNOWN_CA", ["--client", "containerd", "--hosts-dir", hosts]);
    expect(c.fixes).toContain(`/etc/containerd/certs.d/${tlsReg.host}/hosts.toml: ca = "/etc/containerd/certs.d/${tlsReg.host}/ca.crt"`);
    expect(c.fixes).not.toMatch(DOCKER_ONLY);
    expect(c.detail).not.toContain("certs.d:");
    expect(c.code).toBe(1);
  }, 60_000);

  test("podman: /etc/containers/certs.d; docker: its certs.d as before", async () => {
    const p = await fixesOf(`${tlsReg.host}/team/app:1.0`, "TLS_UNKNOWN_CA", ["--client", "podman"]);
    expect(p.fixes).toContain(`/etc/containers/certs.d/${tlsReg.host}/ca.crt`);
    expect(p.fixes).not.toMatch(DOCKER_ONLY);
    const d = await fixesOf(`${tlsReg.host}/team/app:1.0`, "TLS_UNKNOWN_CA", ["--client", "docker", "--docker-store", "classic"]);
    expect(d.fixes).toContain("/certs.d/");
    expect(d.detail).toContain("certs.d:");
  }, 60_000);
});
