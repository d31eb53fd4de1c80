import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { bindEtcScript } from "../helpers/run-in-ns";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { requireBinary } from "../peers/require";

/**
 * kubelet on CRI-O, as `--client auto` finds it and as the doctor walks its wire. There is no
 * CRI-O in Debian; its pulls are containers/image's, so skopeo stands in for it, run in the same
 * private mount namespace as the doctor: a kubelet root dir, CRI-O's socket, our own
 * /etc/containers (registries.conf mirrors, certs.d) and a crio.service drop-in, with the host's
 * containerd config and sockets hidden. Nothing outside the child processes sees these files.
 */
const PW = "crio-Basic-pw-3";
let tlsReg: RegistryPeer;
let plain: RegistryPeer;
let nginx: NginxPeer;
let ca: CA;
let guarded = "";
let closed = "";
const t = tempDir("pd-clients-crio-");

beforeAll(async () => {
  ca = makeCA("pd-crio-ca");
  const leaf = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1"] });
  [tlsReg, plain] = await Promise.all([startRegistry({ tls: { certificate: leaf.certFile, key: leaf.keyFile } }), startRegistry()]);
  await pushImage(tlsReg.url, "team/app", "1.0", buildImage({ label: "crio-tls" }));
  await pushImage(plain.url, "team/app", "1.0", buildImage({ label: "crio" }));
  const [port, deadPort] = await freePorts(2);
  // /v2/ open, the repository behind Basic: CRI-O learns challenges only from the ping.
  nginx = await startNginx({
    httpBlock: `
  server {
    listen 127.0.0.1:${port};
    location = /v2/ { proxy_pass ${plain.url}; }
    location /v2/ {
      auth_basic "team";
      auth_basic_user_file htpasswd;
      proxy_pass ${plain.url};
    }
  }`,
  });
  writeFileSync(path.join(nginx.dir, "htpasswd"), `alice:{PLAIN}${PW}\n`);
  guarded = `127.0.0.1:${port}`;
  closed = `127.0.0.1:${deadPort}`;
}, 60_000);
afterAll(async () => {
  await Promise.all([nginx?.stop(), tlsReg?.stop(), plain?.stop()]);
  ca?.cleanup();
  t.cleanup();
});

/** A CRI-O node's files in a temp dir: /etc/containers and crio.service.d. */
function node(name: string, registriesConf: string): string {
  const root = path.join(t.dir, name);
  const containers = path.join(root, "containers");
  mkdirSync(path.join(containers, "certs.d", tlsReg.host), { recursive: true });
  writeFileSync(path.join(containers, "registries.conf"), registriesConf);
  writeFileSync(path.join(containers, "policy.json"), JSON.stringify({ default: [{ type: "insecureAcceptAnything" }] }));
  writeFileSync(path.join(containers, "certs.d", tlsReg.host, "ca.crt"), ca.cert);
  const dropIn = path.join(root, "systemd", "crio.service.d");
  mkdirSync(dropIn, { recursive: true });
  writeFileSync(path.join(dropIn, "http-proxy.conf"), `[Service]\nEnvironment="NO_PROXY=127.0.0.1,localhost"\n`);
  return root;
}

/** Runs a command in a mount namespace where the node's files are the system's. */
async function onNode(root: string, cmd: string[], stdin?: string, socket = true) {
  const unshare = requireBinary("unshare", "util-linux");
  const mounts = [
    `mount -t tmpfs tmpfs /run${socket ? " && mkdir -p /run/crio && : > /run/crio/crio.sock" : ""}`,
    "mount -t tmpfs tmpfs /etc/containerd",
    "mount -t tmpfs tmpfs /var/lib && mkdir -p /var/lib/kubelet /var/lib/containers",
    `mount --bind '${path.join(root, "containers")}' /etc/containers`,
    `mount --bind '${path.join(root, "systemd")}' /etc/systemd/system`,
  ].join(" && ");
  const home = path.join(root, `home-${Math.random().toString(36).slice(2)}`);
  mkdirSync(home, { recursive: true });
  const script = `${mounts} && ${bindEtcScript(root, {})}`;
  const proc = Bun.spawn([unshare, "-m", "--propagation", "private", "sh", "-c", script, "sh", ...cmd], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, NO_COLOR: "1" },
    cwd: home,
    stdin: stdin !== undefined ? new TextEncoder().encode(stdin) : "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  const [stdout, stderr, code] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
  return { code, stdout, stderr };
}

async function doctor(root: string, image: string, extra: string[] = [], socket = true) {
  const r = await onNode(
    root,
    [requireBinaryBuilt(), "check", image, "--json", "--timeout", "5", "--client", "auto", ...extra],
    undefined,
    socket,
  );
  const report = JSON.parse(r.stdout);
  type F = { code: string; severity: string; endpoint: string | null; detail: string; fixes: string[] };
  return { r, report, findings: report.findings as F[] };
}

describe("kubelet on CRI-O", () => {
  test("auto finds kubelet on CRI-O (its socket, a kubelet root dir); a down registries.conf mirror is left for the location, verified with /etc/containers/certs.d, as skopeo does", async () => {
    const image = `${tlsReg.host}/team/app:1.0`;
    const root = node("mirror", `[[registry]]\nlocation = "${tlsReg.host}"\n\n[[registry.mirror]]\nlocation = "${closed}"\n`);
    const skopeo = await onNode(root, [requireBinary("skopeo", "skopeo"), "inspect", `docker://${image}`]);
    expect(skopeo.code).toBe(0);
    const d = await doctor(root, image);
    expect(d.report.client.name).toBe("kubelet");
    expect(d.report.client.basedOn).toBe("kubelet (/var/lib/kubelet) with CRI-O (/var/run/crio/crio.sock)");
    const config = d.report.stages.find((s: { id: string }) => s.id === "config");
    const profile = config.evidence.client.profiles[0];
    expect(profile.label).toBe("kubelet via CRI-O");
    expect(profile.behaviour).toMatchObject({ pingsV2: true, retries401WithCredentials: false });
    expect(profile.unitProxy.unit).toBe("crio");
    expect(profile.hosts.map((h: { url: string }) => h.url)).toEqual([`https://${closed}/v2`, `https://${tlsReg.host}/v2`]);
    expect(d.r.code).toBe(0);
    const f = d.findings.find((x) => x.code === "MIRROR_FALLBACK")!;
    expect(f.endpoint).toBe(`https://${closed}`);
    expect(f.fixes.join("\n")).toContain("/etc/containers/registries.conf");
    // The location's TLS was verified with the CA under /etc/containers/certs.d, as containers/image reads it.
    const connect = d.report.stages.find(
      (s: { id: string; endpoint: string }) => s.id === "connect" && s.endpoint === `https://${tlsReg.host}`,
    );
    expect(JSON.stringify(connect.evidence.certsD)).toContain(`/etc/containers/certs.d/${tlsReg.host}`);
    // The proxy environment is crio's unit's, never kubelet's.
    const proxy = d.report.stages.find(
      (s: { id: string; endpoint: string }) => s.id === "proxy" && s.endpoint === `https://${tlsReg.host}`,
    );
    expect(proxy.evidence.daemon.source).toBe("systemd drop-in /etc/systemd/system/crio.service.d/http-proxy.conf");
  }, 60_000);

  test("a 401 on the repository is not retried: /v2/ open, the repository behind Basic fails the pull even with the pull secret's credentials (AUTH_NOT_SENT), as skopeo fails", async () => {
    const image = `${guarded}/team/app:1.0`;
    const root = node("guarded", `[[registry]]\nlocation = "${guarded}"\ninsecure = true\n`);
    const skopeo = await onNode(root, [requireBinary("skopeo", "skopeo"), "inspect", "--creds", `alice:${PW}`, `docker://${image}`]);
    expect(skopeo.code).not.toBe(0);
    expect(skopeo.stderr.toLowerCase()).toContain("unauthorized");
    const secret = path.join(root, "secret.json");
    writeFileSync(secret, JSON.stringify({ auths: { [guarded]: { auth: Buffer.from(`alice:${PW}`).toString("base64") } } }));
    const d = await doctor(root, image, ["--pull-secret", secret]);
    expect(d.report.client.basedOn).toContain("CRI-O");
    expect(d.r.code).toBe(1);
    expect(d.report.verdict.code).toBe("AUTH_NOT_SENT");
    expect(JSON.stringify(d.report)).not.toContain(PW);
  }, 60_000);

  test("no CRI-O socket, but /etc/containers on a kubelet host without containerd: auto judges kubelet on CRI-O", async () => {
    const image = `${tlsReg.host}/team/app:1.0`;
    const root = node("containers-only", `[[registry]]\nlocation = "${tlsReg.host}"\n`);
    const d = await doctor(root, image, [], false);
    expect(d.report.client.basedOn).toBe(
      "kubelet (/var/lib/kubelet) with CRI-O (/etc/containers/registries.conf, /etc/containers/policy.json)",
    );
    expect(d.r.code).toBe(0);
  }, 60_000);
});
