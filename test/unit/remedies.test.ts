import { afterAll, describe, expect, test } from "bun:test";
import { readFileSync, statSync } from "node:fs";
import path from "node:path";
import type { RunResult } from "../../src/doctor/run";
import type { Json } from "../../src/model/evidence";
import type { Finding } from "../../src/model/finding";
import type { Options } from "../../src/model/options";
import { tempDir, testOptions } from "../helpers/context";
import { makeCA } from "../helpers/pki";
import { askRemedy, waitForScreen } from "../helpers/prompt-streams";

/**
 * Each remedy the interactive doctor offers, driven through the prompts' input and output
 * streams (keypresses in, the drawn screen out), as clack's own tests drive its prompts. The
 * terminal tests (test/tty) keep one tmux smoke test per flow.
 */
const home = tempDir("pd-remedies-");
afterAll(() => home.cleanup());

const runFor = (registry: string, repository: string, extra: Partial<RunResult> = {}) =>
  ({ localFacts: { ref: { registry, repository } }, endpoints: [], ...extra }) as unknown as RunResult;

const errorFinding = (code: string, stage: string, evidence: Record<string, Json> = {}, endpoint: string | null = null): Finding =>
  ({ code, severity: "error", stage, endpoint, title: code, detail: code, fixes: [], evidence }) as Finding;

const ask = (f: Finding, run: RunResult, options: Options = testOptions({ image: "r.example/team/app:1.0" })) => askRemedy(f, run, options);

describe("remedies through injected prompt streams", () => {
  test("REF_UPPERCASE: Enter accepts the lower-case name and re-checks it from the start; n declines", async () => {
    const f = errorFinding("REF_UPPERCASE", "reference");
    const p = ask(f, runFor("r.example", "team/app"), testOptions({ image: "r.example/Team/App:1.0" }));
    await waitForScreen(p.screen, "Check r.example/team/app:1.0 instead?");
    p.enter();
    expect(await p.answer).toMatchObject({ kind: "rerun", options: { image: "r.example/team/app:1.0" }, from: null });
    const q = ask(f, runFor("r.example", "team/app"), testOptions({ image: "r.example/Team/App:1.0" }));
    await waitForScreen(q.screen, "Yes / ○ No");
    q.type("n");
    expect(await q.answer).toEqual({ kind: "none" });
  });

  test("AUTH_CREDENTIALS_REQUIRED: username, then a masked password; re-runs from the config stage with both", async () => {
    const p = ask(errorFinding("AUTH_CREDENTIALS_REQUIRED", "auth"), runFor("r.example", "team/app"));
    await waitForScreen(p.screen, "Enter a username and password for r.example?");
    p.enter();
    await waitForScreen(p.screen, "Username");
    p.enter();
    await waitForScreen(p.screen, "a username is needed");
    p.enter("alice");
    await waitForScreen(p.screen, "Password or access token");
    p.enter("s3cret pass");
    const r = await p.answer;
    expect(r).toMatchObject({ kind: "rerun", options: { username: "alice" }, from: "config", what: "as alice" });
    expect(r.kind === "rerun" && r.options.password?.reveal()).toBe("s3cret pass");
    // The password is drawn as bullets only, and said nowhere.
    expect(p.screen()).not.toContain("s3cret");
    expect(p.screen()).toContain("•••••••••••");
    expect(p.said.join("\n")).not.toContain("s3cret");
  });

  test("PLATFORM_UNAVAILABLE: the index's platforms are offered; the one chosen is checked from the manifest stage", async () => {
    const f = errorFinding("PLATFORM_UNAVAILABLE", "manifest", { platforms: ["linux/arm64", "linux/s390x"] });
    const p = ask(f, runFor("r.example", "team/app"));
    await waitForScreen(p.screen, "No, leave it");
    expect(p.screen()).toContain("linux/s390x");
    p.press("down");
    p.enter();
    expect(await p.answer).toMatchObject({ kind: "rerun", options: { platform: "linux/s390x" }, from: "manifest" });
  });

  test("RATE_LIMITED on Docker Hub: says when the limit resets, then takes a mirror URL (an invalid one is refused)", async () => {
    const f = errorFinding("RATE_LIMITED", "manifest", { rateLimit: { retryAfterSeconds: 120 } });
    const p = ask(f, runFor("docker.io", "library/alpine"));
    await waitForScreen(p.screen, "Try through a registry mirror");
    expect(p.said.join("\n")).toContain("The registry asks to retry after 120 s");
    p.enter("mirror.example.com");
    await waitForScreen(p.screen, "a URL like https://mirror.example.com");
    p.erase(18);
    p.enter("https://mirror.example.com");
    expect(await p.answer).toMatchObject({ kind: "rerun", options: { mirrors: ["https://mirror.example.com"] }, from: "dns" });
  });

  test("RATE_LIMITED elsewhere: no mirrors (they are Hub-only), so it offers credentials instead", async () => {
    const p = ask(
      errorFinding("RATE_LIMITED", "manifest", { rateLimit: { remainingWindowSeconds: 600 } }),
      runFor("r.example", "team/app"),
    );
    await waitForScreen(p.screen, "Enter a username and password for r.example?");
    expect(p.said.join("\n")).toContain("The limit window is 10 min");
    p.press("escape");
    expect(await p.answer).toEqual({ kind: "cancel" });
  });

  test("TLS_UNKNOWN_CA: shows the chain, saves the presented CA (0644) where asked, trusts nothing", async () => {
    const ca = makeCA("Remedy Test Root");
    try {
      const chain = [{ subject: "CN=registry.test", issuer: `CN=${ca.cn}`, notAfter: "2030-01-01T00:00:00Z" }];
      const f = errorFinding("TLS_UNKNOWN_CA", "connect", { tls: { chain, chainPem: [ca.cert] } }, "https://registry.test:5000");
      const p = ask(f, runFor("registry.test:5000", "team/app"));
      await waitForScreen(p.screen, "Save the presented CA certificate");
      expect(p.screen()).toContain("Certificate chain the server presented");
      expect(p.screen()).toContain("0: CN=registry.test");
      p.enter();
      await waitForScreen(p.screen, "registry.test_5000-ca.crt");
      const file = path.join(home.dir, "saved-ca.crt");
      p.erase("registry.test_5000-ca.crt".length);
      p.enter(file);
      expect(await p.answer).toEqual({ kind: "none" });
      expect(readFileSync(file, "utf8")).toBe(`${ca.cert.trimEnd()}\n`);
      expect(statSync(file).mode & 0o777).toBe(0o644);
      expect(p.said.join("\n")).toContain("/etc/docker/certs.d/registry.test:5000/ca.crt");
    } finally {
      ca.cleanup();
    }
  });
});
