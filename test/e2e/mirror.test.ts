import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage, sha256 } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import type { Stage } from "../helpers/report";
import { type DnsmasqPeer, startDnsmasq } from "../peers/dnsmasq";
import { type RegistryPeer, startRegistry } from "../peers/registry";
import { freePort, requireBinary } from "../peers/require";

/**
 * Docker Hub images through a mirror, entirely on loopback: the mirror is a real docker-registry
 * started as a pull-through cache (proxy.remoteurl) of another local registry holding
 * library/app:1.0. The upstream registry-1.docker.io is diagnosed too, but a dnsmasq answers
 * NXDOMAIN for it (and for every docker.io name): it is both the --dns server and, through a
 * bind-mounted /etc/resolv.conf in a private mount namespace, the system resolver, so nothing
 * can reach this machine's real nameserver or leave loopback.
 */

const HUB = "https://registry-1.docker.io";
const img = buildImage({ label: "mirrored" });
let origin: RegistryPeer, mirror: RegistryPeer;
let dns: DnsmasqPeer;
let home: { dir: string; cleanup: () => void };
let resolvConf = "";

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-mirror-");
  origin = await startRegistry();
  await pushImage(origin.url, "library/app", "1.0", img);
  mirror = await startRegistry({ proxy: { remoteurl: origin.url } });
  // resolv.conf cannot name a port: dnsmasq also listens on port 53 of a loopback address of its own.
  const addr = `127.53.${Math.floor(Math.random() * 250) + 1}.${Math.floor(Math.random() * 250) + 1}`;
  dns = await startDnsmasq({ local: ["docker.io", "docker.com"], port53On: addr });
  resolvConf = `nameserver ${addr}\noptions attempts:1 timeout:1\n`;
});
afterAll(async () => {
  await Promise.all([mirror?.stop(), origin?.stop(), dns?.stop()]);
  home?.cleanup();
});

/** mirrorUrl null: the mirror comes from the daemon.json given in extra. */
async function run(command: "check" | "pull", mirrorUrl: string | null, extra: string[] = []) {
  const flags = [...(mirrorUrl ? ["--mirror", mirrorUrl] : []), "--dns", dns.server, ...extra];
  const c = await checkCli("docker.io/library/app:1.0", flags, {
    home: home.dir,
    command,
    ns: { resolvConf },
  });
  return {
    ...c,
    stages: c.report.stages as Stage[],
    at: (endpoint: string, id: string) => {
      const s = c.report.stages.find((x: Stage) => x.endpoint === endpoint && x.id === id);
      if (!s)
        throw new Error(
          `no ${id} stage for ${endpoint}; the report has: ${c.report.stages.map((x: Stage) => `${x.id}@${x.endpoint}`).join(", ")}`,
        );
      return s as Stage;
    },
    errors: c.findings.filter((f) => f.severity === "error"),
    findingsAt: (endpoint: string) => c.findings.filter((f) => f.endpoint === endpoint),
  };
}

describe("docker.io through a pull-through mirror", () => {
  test("check: the mirror passes every stage and is the endpoint a pull uses; the NXDOMAIN upstream is diagnosed as warnings", async () => {
    const c = await run("check", mirror.url);
    expect(c.errors).toEqual([]);
    for (const id of ["dns", "proxy", "connect", "v2", "auth", "manifest"]) expect([id, c.at(mirror.url, id).status]).toEqual([id, "pass"]);
    // A pull-through cache streams a blob it does not hold yet from its upstream as a whole
    // (distribution's proxy blob store ignores Range then): resuming would not work for it.
    expect(c.at(mirror.url, "blob").status).toBe("warn");
    expect(c.findingsAt(mirror.url).map((f) => `${f.code}:${f.severity}`)).toEqual([
      "TLS_INSECURE_IN_USE:info",
      "BLOB_RANGE_UNSUPPORTED:warning",
    ]);
    expect(c.report.verdict.ok).toBe(true);
    expect(c.report.verdict.endpoint).toBe(mirror.url);
    expect(c.report.verdict.summary).toContain(`via ${mirror.url}`);
    expect(c.r.code).toBe(0);
    // The upstream was diagnosed on its own: its DNS fails (NXDOMAIN from the --dns server) …
    expect(c.at(HUB, "dns").status).toBe("warn");
    expect(c.at(HUB, "connect").status).toBe("skip");
    const up = c.findingsAt(HUB);
    expect(up.map((f) => `${f.code}:${f.severity}`)).toEqual(["DNS_NXDOMAIN:warning"]);
    // … and since the mirror works, that error is a warning saying why.
    expect(up[0]!.detail).toContain(`Docker only tries ${HUB} when ${mirror.url} fails`);
    expect(JSON.stringify(up[0]!.evidence)).toContain(dns.server);
    // The system resolver (getaddrinfo, through the bind-mounted resolv.conf) got NXDOMAIN from the same dnsmasq.
    expect(c.at(HUB, "dns").evidence.systemResolver.code).toBe("ENOTFOUND");
    // The mirror really served the image (fetched from the origin on the way).
    expect(JSON.stringify(c.at(mirror.url, "manifest").evidence)).toContain(img.digest);
  });

  test("check: the mirror down and the upstream NXDOMAIN ⇒ the verdict names the upstream's error, as docker pull reports it, and the mirror's; both endpoints are in the report", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const c = await run("check", closed);
    expect(c.report.verdict.ok).toBe(false);
    expect(c.r.code).toBe(1);
    const mirrorErr = c.findingsAt(closed).find((f) => f.severity === "error")!;
    expect(mirrorErr.code).toBe("CONNECT_REFUSED");
    // The mirror's address is not in the image reference: the fix points at registry-mirrors.
    expect(mirrorErr.fixes).toContain(`Check the mirror URL in daemon.json "registry-mirrors" (or --mirror): ${new URL(closed).host}.`);
    expect(c.at(closed, "connect").status).toBe("fail");
    expect(c.findingsAt(HUB).map((f) => `${f.code}:${f.severity}`)).toEqual(["DNS_NXDOMAIN:error"]);
    // Docker falls back from the mirror and prints the upstream's error (the last one it got).
    expect(c.report.verdict.code).toBe("DNS_NXDOMAIN");
    expect(c.report.verdict.summary).toEndWith(`Docker tried ${closed} (CONNECT_REFUSED) first; it reports this last error.`);
    expect(c.report.verdict.endpoint ?? null).toBeNull();
    const endpoints = new Set(c.stages.map((s) => s.endpoint).filter((e) => e !== null));
    expect([...endpoints]).toEqual([closed, HUB]);
  });

  test("check: the mirror from daemon.json registry-mirrors, tried before the upstream as Docker does", async () => {
    const daemon = path.join(home.dir, "daemon.json");
    writeFileSync(daemon, JSON.stringify({ "registry-mirrors": [`${mirror.url}/`] }));
    const c = await run("check", null, ["--daemon-config", daemon]);
    const endpoints = [...new Set(c.stages.map((s) => s.endpoint).filter((e) => e !== null))];
    expect(endpoints).toEqual([mirror.url, HUB]);
    expect(c.errors).toEqual([]);
    expect(c.at(mirror.url, "manifest").status).toBe("pass");
    expect(c.report.verdict).toMatchObject({ ok: true, endpoint: mirror.url });
    expect(c.r.code).toBe(0);
  });

  test("pull --output oci:DIR through the mirror: a complete OCI layout of the image", async () => {
    const out = path.join(home.dir, "oci-out");
    const c = await run("pull", mirror.url, ["--output", `oci:${out}`]);
    expect(c.errors).toEqual([]);
    expect(c.r.code).toBe(0);
    expect(c.report.verdict.endpoint).toBe(mirror.url);
    expect(c.report.pull).toMatchObject({ digest: img.digest });
    const index = JSON.parse(readFileSync(path.join(out, "index.json"), "utf8"));
    expect(index.manifests.map((m: { digest: string }) => m.digest)).toEqual([img.digest]);
    for (const d of [img.digest, img.config.digest, ...img.layers.map((l) => l.digest)])
      expect(existsSync(path.join(out, "blobs/sha256", d.slice(7)))).toBe(true);
    // skopeo reads the layout offline and agrees on the image.
    const sk = Bun.spawnSync([requireBinary("skopeo", "skopeo"), "inspect", "--raw", `oci:${out}`]);
    expect(sk.exitCode).toBe(0);
    expect(sha256(new Uint8Array(sk.stdout))).toBe(img.digest);
  });
});
