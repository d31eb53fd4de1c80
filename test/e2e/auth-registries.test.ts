import { afterAll, beforeAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { type CA, issueServerCert, makeCA } from "../helpers/pki";
import { pushImage } from "../helpers/push";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";

// The healthy path against a registry with Basic auth behind TLS (a CA of the test's own,
// put where Docker looks: certs.d/<host:port>/ca.crt), with the credentials coming from
// config.json and from a credential helper. Neither the password nor the Basic header may
// appear in the report, the --report file, or --verbose output.
const PASSWORD = "pd-Sup3r-Secret-pw";
const HELPER_PASSWORD = "pd-helper-secret-777";

let ca: CA;
let reg: RegistryPeer;
let home: { dir: string; cleanup: () => void };
let certsDir: string;

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-auth-");
  ca = makeCA("pulldoctor e2e CA");
  const server = issueServerCert(ca, { cn: "127.0.0.1", sans: ["IP:127.0.0.1", "DNS:localhost"] });
  reg = await startRegistry({
    htpasswd: { alice: PASSWORD, bob: HELPER_PASSWORD },
    tls: { certificate: server.certFile, key: server.keyFile },
  });
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "auth" }), { authorization: `Basic ${btoa(`alice:${PASSWORD}`)}` });
  certsDir = path.join(home.dir, "certs.d");
  mkdirSync(path.join(certsDir, reg.host), { recursive: true });
  writeFileSync(path.join(certsDir, reg.host, "ca.crt"), ca.cert);
});
afterAll(async () => {
  await reg?.stop();
  ca?.cleanup();
  home?.cleanup();
});

function args(extra: string[] = []): string[] {
  return [
    "check",
    `${reg.host}/team/app:1.0`,
    "--certs-dir",
    certsDir,
    "--daemon-config",
    path.join(home.dir, "none.json"),
    "--timeout",
    "5",
    // config.json is Docker's: `auto` would read this machine's /etc/containerd and judge as ctr.
    "--client",
    "docker",
    ...extra,
  ];
}

test("htpasswd over TLS with config.json auths: healthy, and no secret in any output", async () => {
  const cfgDir = path.join(home.dir, "docker-plain");
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(path.join(cfgDir, "config.json"), JSON.stringify({ auths: { [reg.host]: { auth: btoa(`alice:${PASSWORD}`) } } }));
  const reportFile = path.join(home.dir, "report-plain.json");
  const r = await runCli([...args(["--json", "--report", reportFile]), "--docker-config", cfgDir], { home: home.dir });
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.verdict).toMatchObject({ ok: true });
  expect(r.code).toBe(0);
  const basic = btoa(`alice:${PASSWORD}`);
  expectNoSecrets(r.stdout + r.stderr + readFileSync(reportFile, "utf8"), [PASSWORD, basic]);
  const verbose = await runCli([...args(["--verbose"]), "--docker-config", cfgDir], { home: home.dir });
  expect(verbose.code).toBe(0);
  expectNoSecrets(verbose.stdout + verbose.stderr, [PASSWORD, basic]);
});

test("credentials from a credential helper: healthy, helper secret never shown", async () => {
  const cfgDir = path.join(home.dir, "docker-helper");
  const bin = path.join(home.dir, "bin");
  mkdirSync(cfgDir, { recursive: true });
  mkdirSync(bin, { recursive: true });
  writeFileSync(path.join(cfgDir, "config.json"), JSON.stringify({ credHelpers: { [reg.host]: "pdtest" } }));
  const helper = path.join(bin, "docker-credential-pdtest");
  writeFileSync(helper, `#!/bin/sh\nread url\nprintf '{"ServerURL":"%s","Username":"bob","Secret":"${HELPER_PASSWORD}"}' "$url"\n`);
  chmodSync(helper, 0o755);
  const r = await runCli([...args(["--json", "--verbose"]), "--docker-config", cfgDir], {
    home: home.dir,
    env: { PATH: `${bin}:${process.env.PATH}` },
  });
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.verdict.ok).toBe(true);
  expectNoSecrets(r.stdout + r.stderr, [HELPER_PASSWORD, btoa(`bob:${HELPER_PASSWORD}`)]);
});

test("--username/--password-stdin: for this run only, never shown", async () => {
  const r = await runCli([...args(["--json", "--username", "alice", "--password-stdin"])], { home: home.dir, stdin: `${PASSWORD}\n` });
  const report = JSON.parse(r.stdout);
  expect(report.verdict.ok).toBe(true);
  expectNoSecrets(r.stdout + r.stderr, [PASSWORD]);
  // Nothing on stdin: misuse before any network step, as docker login refuses an empty password.
  const empty = await runCli([...args(["--username", "alice", "--password-stdin"])], { home: home.dir, stdin: "" });
  expect(empty.code).toBe(2);
  expect(empty.stderr).toContain("--password-stdin read an empty password for alice");
  expect(empty.stdout).toBe("");
});

test("a credential helper that is missing: the 401 says the credentials could not be read, not that none are configured", async () => {
  const cfgDir = path.join(home.dir, "docker-missing-helper");
  mkdirSync(cfgDir, { recursive: true });
  writeFileSync(path.join(cfgDir, "config.json"), JSON.stringify({ credsStore: "pdmissing" }));
  const r = await runCli([...args(["--json"]), "--docker-config", cfgDir], { home: home.dir });
  const report = JSON.parse(r.stdout);
  expectValidReport(report);
  expect(report.verdict.code).toBe("CREDS_HELPER_MISSING");
  const f = report.findings.find((x: { code: string }) => x.code === "AUTH_CREDENTIALS_REQUIRED");
  expect(f.detail).toContain(`the credentials for ${reg.host} could not be read`);
  expect(f.detail).not.toContain("no credentials are configured");
  expect(f.detail).toContain("CREDS_HELPER_MISSING");
  expect(f.evidence.credentialProblem).toContain("docker-credential-pdmissing");
});
