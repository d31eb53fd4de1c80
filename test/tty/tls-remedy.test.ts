import { afterAll, afterEach, beforeAll, expect, test } from "bun:test";
import { copyFileSync, existsSync, mkdirSync, readFileSync, statSync } from "node:fs";
import path from "node:path";
import { tempDir } from "../helpers/context";
import { createNetns, type Netns, startTlsRegistryInNetns } from "../helpers/netns";
import { type CA, fullChain, issueServerCert, makeCA } from "../helpers/pki";
import { requireBuiltBinary, Terminal } from "../peers/tmux";

/**
 * The interactive doctor's TLS remedy in a real terminal. On loopback every TLS problem is
 * only a warning (Docker treats 127.0.0.0/8 as insecure), so the registry is
 * `registry.test` at 10.213.0.2 in a network namespace of the test's own: there an unknown
 * CA is the error Docker would stop at, and the doctor offers to save the presented CA.
 * The saved file is then put where the remedy says (a certs.d dir) and the check passes TLS.
 */
const NAME = "registry.test";
let bin: string;
let ns: Netns;
let ca: CA;
let reg: { logs(): string; stop(): Promise<void> };
let work: { dir: string; cleanup: () => void };
const terms: Terminal[] = [];

beforeAll(async () => {
  bin = requireBuiltBinary();
  work = tempDir("pd-tty-tls-");
  ca = makeCA("pulldoctor test private CA");
  const leaf = issueServerCert(ca, { cn: NAME, sans: [`DNS:${NAME}`] });
  ns = createNetns();
  // The server sends its certificate and the private CA's, as many internal registries do.
  reg = await startTlsRegistryInNetns(ns, 443, { certificate: fullChain(leaf, ca), key: leaf.keyFile });
}, 30_000);
afterAll(async () => {
  for (const t of terms.splice(0)) t.kill();
  await reg?.stop();
  ns?.remove();
  ca?.cleanup();
  work?.cleanup();
});
afterEach(() => {
  for (const t of terms.splice(0)) t.kill();
});

/** Inside the namespace, with a hosts file naming the registry and a dead nameserver. */
function inside(dir: string): string[] {
  return ns.withFiles(dir, { hosts: `127.0.0.1 localhost\n${ns.address} ${NAME}\n` });
}

test("TLS_UNKNOWN_CA: the doctor saves the presented CA; trusted through certs.d, the check passes TLS", async () => {
  const home = path.join(work.dir, "home");
  const cwd = path.join(work.dir, "cwd");
  const certsDir = path.join(work.dir, "certs.d");
  for (const d of [home, cwd, certsDir]) mkdirSync(d, { recursive: true });
  const common = [
    `${NAME}/team/app:1`,
    "--client",
    "docker",
    "--docker-store",
    "classic",
    "--daemon-config",
    path.join(home, "none.json"),
    "--certs-dir",
    certsDir,
    "--timeout",
    "5",
  ];
  const env = { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: home, TERM: "xterm-256color", LANG: "C.UTF-8" };
  const t = Terminal.start([...inside(work.dir), bin, ...common], { env, cwd });
  terms.push(t);

  const s0 = await t.waitFor("Save the presented CA certificate", 30_000);
  expect(s0).toContain("TLS_UNKNOWN_CA");
  expect(s0).toMatch(/✖ connect\b/);
  expect(s0).toContain("Certificate chain the server presented");
  expect(s0).toContain("pulldoctor test private CA");
  t.keys("Enter"); // yes
  await t.waitFor("File");
  t.keys("Enter"); // the offered name
  const s1 = await t.waitFor("Only if it is your organisation's CA");
  expect(s1).toContain(`openssl x509 -in ${NAME}-ca.crt`);
  expect(s1).toContain(`sudo mkdir -p /etc/docker/certs.d/${NAME} && sudo cp ${NAME}-ca.crt /etc/docker/certs.d/${NAME}/ca.crt`);
  await t.waitFor("Save the report");
  t.keys("Right", "Enter"); // no
  expect(await t.exitCode()).toBe(1);

  const saved = path.join(cwd, `${NAME}-ca.crt`);
  expect(existsSync(saved)).toBe(true);
  expect(readFileSync(saved, "utf8").trim()).toBe(ca.cert.trim());
  expect(statSync(saved).mode & 0o777).toBe(0o644);

  // Do what the remedy says (into the test's certs.d), and check again.
  mkdirSync(path.join(certsDir, NAME));
  copyFileSync(saved, path.join(certsDir, NAME, "ca.crt"));
  const p = Bun.spawn([...inside(work.dir), bin, "check", ...common, "--json"], { env: { ...env, NO_COLOR: "1" }, cwd, stdout: "pipe" });
  const [out] = await Promise.all([new Response(p.stdout).text(), p.exited]);
  const report = JSON.parse(out);
  const stage = (id: string) => report.stages.find((s: { id: string }) => s.id === id);
  expect(stage("connect").status).toBe("pass");
  expect(stage("v2").status).toBe("pass");
  expect(report.findings.filter((f: { code: string }) => f.code.startsWith("TLS_"))).toEqual([]);
}, 90_000);
