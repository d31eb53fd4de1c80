import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { buildImage, noise } from "../../src/lab/image";
import { DEMO_USER } from "../../src/lab/scenarios";
import { type LabRegistry, startLabRegistry } from "../../src/lab/server";
import { requireBuiltBinary, Terminal } from "../peers/tmux";

/**
 * The interactive doctor in a real terminal (tmux), driving the compiled binary against
 * the lab registry as a person would: read the screen, answer the prompts.
 */
let lab: LabRegistry;
let bin: string;
let home: string;
let cwd: string;
const terms: Terminal[] = [];

beforeAll(async () => {
  bin = requireBuiltBinary();
  lab = await startLabRegistry({ scenarios: true });
  home = mkdtempSync(path.join(os.tmpdir(), "pd-tty-home-"));
});
afterAll(async () => {
  await lab?.stop();
  rmSync(home, { recursive: true, force: true });
});
afterEach(() => {
  for (const t of terms.splice(0)) t.kill();
  if (cwd) rmSync(cwd, { recursive: true, force: true });
});

const env = (extra: Record<string, string> = {}) => ({
  PATH: process.env.PATH ?? "/usr/bin:/bin",
  HOME: home,
  TERM: "xterm-256color",
  LANG: "C.UTF-8",
  ...extra,
});
// Judged as classic Docker: --client auto would judge as whatever this machine has.
const isolated = [
  "--client",
  "docker",
  "--docker-store",
  "classic",
  "--daemon-config",
  "/nonexistent/daemon.json",
  "--certs-dir",
  "/nonexistent/certs.d",
  "--insecure-registry",
];

function doctor(image: string | null, extra: string[] = [], envExtra: Record<string, string> = {}): Terminal {
  cwd = mkdtempSync(path.join(os.tmpdir(), "pd-tty-cwd-"));
  const host = image ? image.split("/")[0]! : lab.host;
  const t = Terminal.start([bin, ...(image ? [image] : []), ...isolated, host, "--timeout", "5", ...extra], { env: env(envExtra), cwd });
  terms.push(t);
  return t;
}

const image = (id: string) => lab.scenarios.find((s) => s.id === id)!.image;

test("happy path: asks the image, shows it normalized as typed, passes every stage, pulls with progress", async () => {
  const t = doctor(null);
  await t.waitFor("Which image should be pulled?");
  t.type(image("healthy").replace(":latest", ""));
  await t.waitFor(`→ ${image("healthy")}`);
  t.keys("Enter");
  await t.waitFor("Save the report", 30_000);
  const diag = t.screen();
  for (const stage of ["reference", "config", "dns", "proxy", "v2", "auth", "manifest", "blob"])
    expect(diag).toMatch(new RegExp(`✔ ${stage}\\b`));
  // The lab speaks plain HTTP on loopback: Docker falls back to it, and the doctor warns so.
  expect(diag).toMatch(/[✔▲] connect\b/);
  expect(diag).not.toContain("✖");
  t.keys("Enter"); // default: no report for a passing run
  await t.waitFor("Pull the image now?");
  t.keys("Enter");
  await t.waitFor("Where to?");
  t.keys("Down", "Enter"); // the first is the OCI layout, unless a Docker Engine answers; pick it explicitly below
  const s = await t.waitFor(/pulled sha256:[0-9a-f]{64}|✖ pull/, 30_000);
  expect(s).toContain("pulled sha256:");
  expect(await t.exitCode()).toBe(0);
  const outs = readdirSync(cwd);
  expect(outs.some((f) => f === "healthy" || f === "healthy.tar")).toBe(true);
}, 60_000);

test("AUTH_CREDENTIALS_REQUIRED: the doctor asks for credentials (masked), re-runs auth and passes", async () => {
  const t = doctor(image("credentials"));
  await t.waitFor("AUTH_CREDENTIALS_REQUIRED", 30_000);
  await t.waitFor("Enter a username and password");
  t.keys("Enter");
  await t.waitFor("Username");
  t.type(DEMO_USER.username);
  t.keys("Enter");
  await t.waitFor("Password");
  t.type(DEMO_USER.password);
  expect(t.screen()).not.toContain(DEMO_USER.password);
  t.keys("Enter");
  await t.waitFor("Checking again as demo");
  const s = await t.waitFor("Save the report", 30_000);
  const after = s.slice(s.indexOf("Checking again"));
  // auth passes (a warning is fair: the lab's token realm is plain HTTP), and so does the rest.
  expect(after).toMatch(/[✔▲] auth\b/);
  expect(after).toMatch(/✔ manifest\b/);
  expect(after).not.toContain("✖");
  expect(s).not.toContain(DEMO_USER.password);
  t.keys("Enter");
  await t.waitFor("Pull the image now?");
  t.keys("Right", "Enter");
  expect(await t.exitCode()).toBe(0);
}, 60_000);

test("MANIFEST_UNKNOWN: choosing the closest tag fixes it", async () => {
  const t = doctor(image("tag"));
  await t.waitFor("MANIFEST_UNKNOWN", 30_000);
  const s0 = await t.waitFor("closest existing tags");
  expect(s0).toContain("1.0");
  t.keys("Enter"); // the closest tag is first: 1.0
  await t.waitFor(`Checking again ${lab.host}/demo/app:1.0`);
  const s = await t.waitFor("Save the report", 30_000);
  expect(s.slice(s.indexOf("Checking again"))).toMatch(/✔ manifest\b/);
  t.keys("Enter");
  await t.waitFor("Pull the image now?");
  t.keys("Right", "Enter");
  expect(await t.exitCode()).toBe(0);
}, 60_000);

test("PLATFORM_UNAVAILABLE: choosing an offered platform re-runs from the manifest stage and passes", async () => {
  const t = doctor(image("platform"));
  await t.waitFor("PLATFORM_UNAVAILABLE", 30_000);
  const s0 = await t.waitFor("Check one of the platforms the index offers?");
  const offered = /index offers only (\S+)/.exec(lab.scenarios.find((x) => x.id === "platform")!.hint)![1]!.replace(/,$/, "");
  expect(s0).toContain(offered);
  t.keys("Enter");
  await t.waitFor(`Checking again --platform ${offered} (from the manifest stage)`);
  const s = await t.waitFor("Save the report", 30_000);
  const after = s.slice(s.indexOf("Checking again"));
  expect(after).toMatch(/✔ manifest\b/);
  expect(after).not.toMatch(/[✔✖] (dns|connect|v2|auth)\b/); // reused, not re-run
  t.keys("Enter");
  await t.waitFor("Pull the image now?");
  t.keys("Right", "Enter");
  expect(await t.exitCode()).toBe(0);
}, 60_000);

test("REF_UPPERCASE: the doctor offers the lower-case name and re-checks it", async () => {
  const t = doctor(`${lab.host}/Demo/App:1.0`);
  await t.waitFor("REF_UPPERCASE", 30_000);
  await t.waitFor(`Check ${lab.host}/demo/app:1.0 instead?`);
  t.keys("Enter");
  const s = await t.waitFor("Save the report", 30_000);
  expect(s.slice(s.indexOf(`Checking again ${lab.host}/demo/app:1.0`))).toMatch(/✔ manifest\b/);
  t.keys("Enter");
  await t.waitFor("Pull the image now?");
  t.keys("Right", "Enter");
  expect(await t.exitCode()).toBe(0);
}, 60_000);

test("RATE_LIMITED: says when the limit resets and offers to authenticate (not Docker Hub, so no mirror)", async () => {
  const t = doctor(image("rate-limit"));
  await t.waitFor("RATE_LIMITED", 30_000);
  const s = await t.waitFor("Enter a username and password");
  expect(s).toMatch(/retry after 3600 s \(about \d/);
  t.keys("Right", "Enter"); // no
  await t.waitFor("Save the report");
  t.keys("Right", "Enter"); // no
  await t.waitFor("Not fixed yet: RATE_LIMITED");
  expect(await t.exitCode()).toBe(1);
}, 60_000);

test("Ctrl-C mid-stage exits 130 at once and writes nothing", async () => {
  // A registry that accepts connections and never answers: the connect stage hangs.
  const sockets: net.Socket[] = [];
  const hang = net.createServer((s) => void sockets.push(s));
  await new Promise<void>((r) => hang.listen(0, "127.0.0.1", r));
  const port = (hang.address() as net.AddressInfo).port;
  try {
    const t = doctor(`127.0.0.1:${port}/app:1.0`, ["--timeout", "60"]);
    await t.waitFor("Connect…", 20_000); // the spinner: the TLS handshake gets no answer
    await Bun.sleep(300);
    const t0 = Date.now();
    t.keys("C-c");
    expect(await t.exitCode(5000)).toBe(130);
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(readdirSync(cwd)).toEqual([]);
  } finally {
    for (const s of sockets) s.destroy();
    hang.close();
  }
}, 60_000);

test("Ctrl-C mid-pull exits 130 and leaves no output that looks complete", async () => {
  const stalled = buildImage({ label: "stalled", layers: [[{ name: "big.bin", content: noise(300 * 1024, 3) }]] });
  // The blob stage's 1 KiB ranged probe passes; the pull's full GET stalls after 100 KB.
  lab.addImage("stalled/app", "1.0", stalled, [{ kind: "stall-blob", digest: stalled.layers[0]!.digest, afterBytes: 100_000 }]);
  const t = doctor(`${lab.host}/stalled/app:1.0`, ["--output", "oci:./stalled-out:1.0", "--timeout", "30"]);
  await t.waitFor("Save the report", 30_000);
  t.keys("Enter");
  await t.waitFor("Pull the image now?");
  t.keys("Enter");
  await t.waitFor("Where to?");
  t.keys("Enter"); // --output is the first choice
  await t.waitFor("pulling to oci:./stalled-out:1.0");
  await Bun.sleep(300);
  t.keys("C-c");
  const code = await t.exitCode(5000);
  if (code !== 130) console.log(t.screen());
  expect(code).toBe(130);
  expect(readdirSync(cwd)).toEqual([]);
}, 60_000);

test("NO_COLOR: the interactive screen has no colour escapes", async () => {
  const t = doctor(image("tag"), [], { NO_COLOR: "1" });
  await t.waitFor("closest existing tags", 30_000);
  expect(t.screen(true)).not.toMatch(/\u001b\[[0-9;]*m/);
  t.keys("C-c");
  expect(await t.exitCode()).toBe(130);
}, 60_000);

test("piped output (check and bare IMAGE) has no escape codes, even with a TERM", async () => {
  for (const args of [["check", image("tag")], [image("tag")]]) {
    const p = Bun.spawn([bin, ...args, ...isolated, lab.host, "--timeout", "5"], { env: env(), stdout: "pipe", stderr: "pipe" });
    const [out, err, code] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
    expect(out).toContain("MANIFEST_UNKNOWN");
    expect(out + err).not.toContain("\u001b");
    expect(code).toBe(1);
  }
}, 60_000);

test("the report saved from the prompt lands at the default path, whole", async () => {
  const t = doctor(image("tag"));
  await t.waitFor("closest existing tags", 30_000);
  t.keys("Up"); // the list wraps: up from the first choice is the last, "No, leave it"
  t.keys("Enter");
  await t.waitFor("Save the report");
  t.keys("Enter"); // default yes for a failing run
  await t.waitFor("Report file");
  t.keys("Enter");
  await t.waitFor("report written to");
  expect(await t.exitCode()).toBe(1);
  const files = readdirSync(cwd).filter((f) => f.startsWith("pulldoctor-report-"));
  expect(files.length).toBe(1);
  expect(files[0]).toMatch(/^pulldoctor-report-127\.0\.0\.1_\d+_demo_app_1\.O-\d{8}T\d{6}Z\.json$/);
  const report = JSON.parse(await Bun.file(path.join(cwd, files[0]!)).text());
  expect(report.verdict.code).toBe("MANIFEST_UNKNOWN");
  expect(readdirSync(cwd).filter((f) => f.includes(".tmp-"))).toEqual([]);
}, 60_000);
