import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { checkCli } from "../helpers/check-cli";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import type { Stage } from "../helpers/report";
import { expectNoSecrets } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * The reference and config codes as a user meets them: the compiled binary, real files in a
 * temp HOME, real credential helpers (shell scripts on a temp PATH), a real registry on loopback.
 */

const PW = "local-e2e-Plaintext-pw9";
let reg: RegistryPeer;
let home: { dir: string; cleanup: () => void };
let bin: string;
let n = 0;

beforeAll(async () => {
  requireBinaryBuilt();
  home = tempDir("pd-e2e-local-");
  bin = path.join(home.dir, "bin");
  mkdirSync(bin);
  reg = await startRegistry();
  await pushImage(reg.url, "team/app", "latest", buildImage({ label: "local" }));
});
afterAll(async () => {
  await reg?.stop();
  home?.cleanup();
});

/** A docker config dir holding `config`, and helpers (name → shell body) on a PATH of their own. */
function dockerConfig(config: string, helpers: Record<string, string> = {}): { dir: string; env: Record<string, string> } {
  const dir = path.join(home.dir, `docker-${++n}`);
  const hbin = path.join(home.dir, `hbin-${n}`);
  mkdirSync(dir);
  mkdirSync(hbin);
  writeFileSync(path.join(dir, "config.json"), config);
  for (const [name, body] of Object.entries(helpers)) {
    const p = path.join(hbin, `docker-credential-${name}`);
    writeFileSync(p, `#!/bin/sh\nread url\n${body}\n`);
    chmodSync(p, 0o755);
  }
  // Only the tools the helpers need; no helper of this machine's own (e.g. gcloud) is in reach.
  return { dir, env: { PATH: `${hbin}:/bin` } };
}

const check = (image: string, extra: string[] = [], env: Record<string, string> = {}) => checkCli(image, extra, { home: home.dir, env });

describe("reference codes through the binary", () => {
  test("REF_IMPLICIT_LATEST: no tag ⇒ :latest (info), the check still passes", async () => {
    const c = await check(`${reg.host}/team/app`);
    const f = c.find("REF_IMPLICIT_LATEST");
    expect(f.severity).toBe("info");
    expect(f.evidence.canonical).toBe(`${reg.host}/team/app:latest`);
    expect(c.stage("reference").status).toBe("pass");
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
  });

  test("REF_UPPERCASE: an upper-case repository is refused before any network step, exit 1", async () => {
    const c = await check(`${reg.host}/Team/App:1.0`);
    const f = c.find("REF_UPPERCASE");
    expect(f.severity).toBe("error");
    expect(f.detail).toBe("repository name (Team/App) must be lowercase");
    // The re-run carries this run's --daemon-config, --certs-dir and --timeout (the test harness passes them).
    expect(f.fixes[0]).toStartWith(`Use the lower-case reference: pulldoctor check ${reg.host}/team/app:1.0 --daemon-config `);
    expect(c.stage("reference").status).toBe("fail");
    expect(c.report.stages.filter((s: Stage) => s.id !== "reference").every((s: Stage) => s.status === "skip")).toBe(true);
    expect(c.report.verdict.code).toBe("REF_UPPERCASE");
    expect(c.r.code).toBe(1);
  });

  test("REF_INVALID: a URL is not a reference (Docker's message), exit 1", async () => {
    const c = await check("https://reg.example.com/app");
    const f = c.find("REF_INVALID");
    expect(f.severity).toBe("error");
    expect(f.detail).toContain("invalid reference format");
    expect(c.stage("reference").status).toBe("fail");
    expect(c.report.verdict.code).toBe("REF_INVALID");
    expect(c.r.code).toBe(1);
  });
});

describe("config codes through the binary", () => {
  test("CREDS_NONE: nothing configured ⇒ anonymous (info), healthy", async () => {
    const c = await check(`${reg.host}/team/app:latest`);
    expect(c.codes).toContain("CREDS_NONE:info");
    expect(c.stage("config").status).toBe("pass");
    expect(c.r.code).toBe(0);
  });

  test("CREDS_PLAINTEXT: auths in config.json (warning), the password nowhere in any output", async () => {
    const cfg = dockerConfig(JSON.stringify({ auths: { [reg.host]: { auth: btoa(`alice:${PW}`) } } }));
    const c = await check(`${reg.host}/team/app:latest`, ["--docker-config", cfg.dir]);
    const f = c.find("CREDS_PLAINTEXT");
    expect(f.severity).toBe("warning");
    expect(f.evidence.key).toBe(reg.host);
    expect(c.stage("config").status).toBe("warn");
    expect(c.report.verdict.ok).toBe(true);
    expect(c.r.code).toBe(0);
    expectNoSecrets(c.all, [PW, btoa(`alice:${PW}`)]);
  });

  test("CONFIG_UNREADABLE: malformed config.json (warning with line:column), pull goes on anonymously", async () => {
    const cfg = dockerConfig('{"auths": {\n  "x": {"auth": "abc"},\n}\n');
    const c = await check(`${reg.host}/team/app:latest`, ["--docker-config", cfg.dir]);
    const f = c.find("CONFIG_UNREADABLE");
    expect(f.severity).toBe("warning");
    expect(f.evidence.path).toBe(path.join(cfg.dir, "config.json"));
    expect(typeof f.evidence.line).toBe("number");
    expect(c.stage("config").status).toBe("warn");
    expect(c.r.code).toBe(0);
  });

  test("CREDS_HELPER_MISSING: credsStore names a helper not on PATH, Docker's exact text, exit 1", async () => {
    const cfg = dockerConfig(JSON.stringify({ credsStore: "desktop" }));
    const c = await check(`${reg.host}/team/app:latest`, ["--docker-config", cfg.dir], cfg.env);
    const f = c.find("CREDS_HELPER_MISSING");
    expect(f.severity).toBe("error");
    expect(f.detail).toContain('exec: "docker-credential-desktop": executable file not found in $PATH');
    expect(c.stage("config").status).toBe("fail");
    expect(c.report.verdict.code).toBe("CREDS_HELPER_MISSING");
    expect(c.r.code).toBe(1);
  });

  test("CREDS_HELPER_FAILED: a helper exiting 1, its output quoted, its secret never shown", async () => {
    const cfg = dockerConfig(JSON.stringify({ credHelpers: { [reg.host]: "locked" } }), {
      locked: "printf 'error getting credentials: keychain locked'; exit 1",
    });
    const c = await check(`${reg.host}/team/app:latest`, ["--docker-config", cfg.dir], cfg.env);
    const f = c.find("CREDS_HELPER_FAILED");
    expect(f.severity).toBe("error");
    expect(f.detail).toContain("error getting credentials - err: exit status 1, out: `error getting credentials: keychain locked`");
    expect(f.fixes[0]).toBe(`Run it yourself to see the full error: echo '${reg.host}' | docker-credential-locked get`);
    expect(c.stage("config").status).toBe("fail");
    expect(c.r.code).toBe(1);
  });

  test("DAEMON_CONFIG_UNREADABLE: malformed daemon.json, exit 1, file untouched", async () => {
    const daemon = path.join(home.dir, "daemon-bad.json");
    const text = '{"registry-mirrors": ["http://m.example"],}';
    writeFileSync(daemon, text);
    const c = await check(`${reg.host}/team/app:latest`, ["--daemon-config", daemon]);
    const f = c.find("DAEMON_CONFIG_UNREADABLE");
    expect(f.severity).toBe("error");
    expect(f.evidence.path).toBe(daemon);
    expect(c.stage("config").status).toBe("fail");
    expect(c.r.code).toBe(1);
    expect(readFileSync(daemon, "utf8")).toBe(text);
  });
});

test("misuse messages and unknown codes quote what was typed with control characters escaped (nothing raw reaches the terminal)", async () => {
  const esc = "\x1b[31m";
  for (const args of [
    [`--fo${esc}o`],
    ["pull", "a", "--output", `oci${esc}:x`],
    ["explain", `X${esc}`],
    ["check", `ubuntu${esc}RED\x07`],
  ]) {
    const r = await runCli(args, { home: home.dir });
    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f]/);
    expect(r.stdout + r.stderr).toMatch(/\\x1b|\\u001b/);
  }
});

test("REF_UPPERCASE: the fix that re-runs pulldoctor carries this run's --insecure-registry and --timeout", async () => {
  const r = await runCli(["check", "127.0.0.1:5999/Team/App:1", "--insecure-registry", "127.0.0.1:5999", "--timeout", "4", "--json"], {
    home: home.dir,
  });
  const report = JSON.parse(r.stdout) as { findings: { code: string; fixes: string[] }[] };
  const f = report.findings.find((x) => x.code === "REF_UPPERCASE")!;
  expect(f.fixes).toContain(
    // runCli judges as classic Docker (test/helpers/binary.ts pinClient): the re-run carries that choice too.
    "Use the lower-case reference: pulldoctor check 127.0.0.1:5999/team/app:1 --insecure-registry 127.0.0.1:5999 --timeout 4 --client docker --docker-store classic",
  );
});
