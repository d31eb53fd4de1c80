import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage, buildIndex } from "../../src/lab/image";
import { hostPlatform } from "../../src/model/deps";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";
import { freePorts, type NginxPeer, startNginx } from "../peers/nginx";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * Issue 12 items 3–7 through the compiled binary, against a real distribution registry and
 * nginx in front of it: findings that match their evidence and name the cause clients meet.
 * expectValidReport also holds every report to the rule that no finding claims credentials
 * were sent or rejected unless its evidence shows they were.
 */
type Finding = { code: string; severity: string; stage: string; detail: string; fixes: string[]; evidence: Record<string, any> };

const PW = "e2e-n0t-sent-pw";
let reg: RegistryPeer;
let nginx: NginxPeer;
let work: { dir: string; cleanup: () => void };
let front = "";
let n = 0;
const host = hostPlatform();
const mine = buildImage({ label: "e2e-mine", platform: { os: host.os, architecture: host.architecture } });
const theirs = buildImage({
  label: "e2e-theirs",
  platform: { os: "linux", architecture: host.architecture === "arm64" ? "amd64" : "arm64" },
});
const index = buildIndex([mine, theirs]);
// The blob stage probes the config and the smallest layer; the pull meets the larger one, deleted.
const layered = buildImage({
  label: "e2e-gc",
  layers: [[{ name: "a", content: "a\n" }], [{ name: "b", content: "a larger layer that garbage collection removed\n".repeat(40) }]],
});

beforeAll(async () => {
  requireBinaryBuilt();
  work = tempDir("pd-e2e-evidence-");
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "e2e-basic" }));
  await pushImage(reg.url, "gc/index", "1.0", index);
  expect((await fetch(`${reg.url}/v2/gc/index/manifests/${mine.digest}`, { method: "DELETE" })).status).toBe(202);
  await pushImage(reg.url, "gc/layer", "1.0", layered);
  expect((await fetch(`${reg.url}/v2/gc/layer/blobs/${layered.layers[1]!.digest}`, { method: "DELETE" })).status).toBe(202);
  await pushImage(reg.url, "ctidx/app", "1.0", index);
  const [port] = await freePorts(1);
  nginx = await startNginx({
    httpBlock: `
  server {
    listen 127.0.0.1:${port};
    location = /v2/ { proxy_pass ${reg.url}; }
    location /v2/team/ { auth_basic "team"; auth_basic_user_file htpasswd; proxy_pass ${reg.url}; }
    location /v2/ctidx/app/manifests/ {
      proxy_pass ${reg.url}; proxy_hide_header Content-Type; add_header Content-Type "application/vnd.oci.image.manifest.v1+json" always;
    }
    location /v2/ { proxy_pass ${reg.url}; }
  }`,
  });
  writeFileSync(path.join(nginx.dir, "htpasswd"), `alice:{PLAIN}${PW}\n`);
  front = `127.0.0.1:${port}`;
}, 30_000);
afterAll(async () => {
  await Promise.all([nginx?.stop(), reg?.stop()]);
  work?.cleanup();
});

async function doctor(command: "check" | "pull", image: string, extra: string[] = []) {
  const args = [
    command,
    image,
    "--json",
    "--daemon-config",
    path.join(work.dir, "none.json"),
    "--timeout",
    "5",
    // Classic Docker, whose pull these items are about (its containerd store retries a 401).
    "--client",
    "docker",
    "--docker-store",
    "classic",
    ...extra,
  ];
  if (command === "pull") args.push("--output", `oci:${path.join(work.dir, `out-${++n}`)}`);
  const r = await runCli(args, { home: work.dir, env: { PULLDOCTOR_STORE: path.join(work.dir, "store") }, timeoutMs: 60_000 });
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expectNoSecrets(r.stdout + r.stderr, [PW, btoa(`alice:${PW}`)]);
  const findings = (report.findings as Finding[]).filter((f) => f.severity === "error");
  return { r, report, findings, codes: findings.map((f) => f.code) };
}

describe("issue 12, findings that match their evidence, through the binary", () => {
  test("item 3: /v2/ open, the repository asks for Basic, credentials configured ⇒ AUTH_NOT_SENT (never 'rejects the credentials')", async () => {
    const cfg = path.join(work.dir, "docker-alice");
    mkdirSync(cfg, { recursive: true });
    writeFileSync(path.join(cfg, "config.json"), JSON.stringify({ auths: { [front]: { auth: btoa(`alice:${PW}`) } } }));
    const c = await doctor("check", `${front}/team/app:1.0`, ["--docker-config", cfg]);
    expect(c.codes).toEqual(["AUTH_NOT_SENT"]);
    const f = c.findings[0]!;
    expect(f.severity).toBe("error");
    expect(f.detail).toContain("no Authorization was sent");
    expect(f.detail).not.toContain("rejects");
    expect(f.evidence.manifestHead.authorizationScheme).toBeNull();
    expect(c.report.verdict).toMatchObject({ ok: false, code: "AUTH_NOT_SENT" });
    expect(c.r.code).toBe(1);
  });

  test("item 3: the same without credentials ⇒ AUTH_CREDENTIALS_REQUIRED naming the repository, no token service", async () => {
    const c = await doctor("check", `${front}/team/app:1.0`);
    expect(c.codes).toEqual(["AUTH_CREDENTIALS_REQUIRED"]);
    expect(c.findings[0]!.detail).toContain("/v2/ asked for no credentials, but the repository answered 401");
    expect(c.findings[0]!.detail).not.toContain("token service");
  });

  test("item 5: a layer deleted while referenced ⇒ BLOB_UNKNOWN from the pull, not PULL_INTERRUPTED", async () => {
    const c = await doctor("pull", `${reg.host}/gc/layer:1.0`);
    expect(c.codes).toEqual(["BLOB_UNKNOWN"]);
    expect(c.findings[0]!.detail).toContain(`the layer blob ${layered.layers[1]!.digest} is missing`);
    expect(c.findings[0]!.fixes.join("\n")).not.toMatch(/run the (same )?pull again|proxy/i);
    expect(c.r.code).toBe(1);
  });

  test("item 6: an index entry the registry lacks ⇒ MANIFEST_UNKNOWN for that child digest", async () => {
    const c = await doctor("check", `${reg.host}/gc/index:1.0`);
    expect(c.codes).toEqual(["MANIFEST_UNKNOWN"]);
    expect(c.findings[0]!.detail).toContain(`the index ${index.digest} references the manifest ${mine.digest}`);
    expect(c.findings[0]!.fixes.join("\n")).not.toContain("health");
  });

  test("item 7: an OCI index served as an image manifest is not pullable; the finding says what each client prints", async () => {
    const c = await doctor("check", `${front}/ctidx/app:1.0`);
    expect(c.codes).toEqual(["MANIFEST_UNSUPPORTED_MEDIA_TYPE"]);
    const d = c.findings[0]!.detail;
    for (const said of ["docker:", "containerd:", "podman/skopeo:", "CVE-2021-41190"]) expect(d).toContain(said);
    expect(c.report.verdict.ok).toBe(false);
  });
});
