import { afterAll, beforeAll, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * `check -f k8s.yaml --client kubelet --pull-secret …` through the compiled binary against a
 * docker-registry that asks Basic (htpasswd): each Deployment's image is judged with the Secrets
 * its own pod spec names, in its order, as kubelet builds a pod's keyring; nothing else.
 */
const PW = "secrets-Basic-pw-5";
let reg: RegistryPeer;
let t: { dir: string; cleanup: () => void };
let image: string;
let hostsDir: string;

beforeAll(async () => {
  requireBinaryBuilt();
  t = tempDir("pd-e2e-many-secrets-");
  reg = await startRegistry({ htpasswd: { alice: PW } });
  const basic = `Basic ${Buffer.from(`alice:${PW}`).toString("base64")}`;
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "many-secrets" }), { authorization: basic });
  image = `${reg.host}/team/app:1.0`;
  // containerd CRI reads hosts.toml: the plain-HTTP registry as kubelet's runtime would be told of it.
  hostsDir = path.join(t.dir, "certs.d");
  mkdirSync(path.join(hostsDir, reg.host), { recursive: true });
  writeFileSync(path.join(hostsDir, reg.host, "hosts.toml"), `server = "http://${reg.host}"\n`);
});
afterAll(async () => {
  await reg?.stop();
  t?.cleanup();
});

/** A kubernetes.io/dockerconfigjson Secret file, as `kubectl get secret -o yaml` prints it. */
function secretFile(name: string, password: string): string {
  const cfg = { auths: { [reg.host]: { auth: Buffer.from(`alice:${password}`).toString("base64") } } };
  const file = path.join(t.dir, `${name}.yaml`);
  writeFileSync(
    file,
    `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${Buffer.from(JSON.stringify(cfg)).toString("base64")}\n`,
  );
  return file;
}

function deployment(name: string, secrets: string[]): string {
  const pulls = secrets.map((s) => `\n        - name: ${s}`).join("");
  return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  template:\n    spec:\n      imagePullSecrets:${pulls}\n      containers:\n        - name: ${name}\n          image: ${image}\n`;
}

const flags = () => ["--client", "kubelet", "--containerd-config", "/nonexistent/config.toml", "--hosts-dir", hostsDir, "--timeout", "5"];

test("two Deployments of one image naming different Secrets: the right one pulls, the wrong one fails AUTH_UNAUTHORIZED, as kubelet would", async () => {
  const right = secretFile("regcred", PW);
  const wrong = secretFile("badcred", "not-the-password");
  const spare = secretFile("spare", PW);
  const k8s = path.join(t.dir, "k8s.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("api", ["badcred"])].join("---\n"));
  const args = ["check", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--pull-secret", spare];
  const r = await runCli(args, { home: t.dir });
  expect(r.code).toBe(1);
  const lines = r.stdout.split("\n");
  expect(lines[0]).toMatch(/^VERDICT +CODE +IMAGE +FROM$/);
  // One image, two pulls: the dedupe key holds the pod's secret names.
  expect(lines[1]).toMatch(/^ok +- +.* Deployment\/web \(web\)$/);
  expect(lines[2]).toMatch(/^FAIL +AUTH_UNAUTHORIZED +.* Deployment\/api \(api\)$/);
  // The Secret no pod names is said once.
  expect(r.stdout.split("no image's imagePullSecrets names the Secret spare").length).toBe(2);
  expect(r.stdout).toContain("1 of 2 images should pull; 1 will not.");
  expectNoSecrets(r.stdout + r.stderr, [PW]);
  const again = lines.find((l) => l.includes("shows every stage"))!;
  expect(again).toContain(`--pull-secret ${wrong}`);
  expect(again).not.toContain(right);

  const j = await runCli([...args, "--json"], { home: t.dir });
  const b = JSON.parse(j.stdout);
  expectValidReport(b);
  expect(b.images.map((i: { pullSecrets: string[] }) => i.pullSecrets)).toEqual([["regcred"], ["badcred"]]);
  // Each diagnosis read only its pod's Secret: the other files never reached it.
  expect(b.images.map((i: { pullSecretFiles: string[] }) => i.pullSecretFiles)).toEqual([[right], [wrong]]);
  const used = b.images.map(
    (i: { report: { stages: { id: string; evidence: { credential?: { source?: string } } }[] } }) =>
      i.report.stages.find((s) => s.id === "auth")?.evidence.credential?.source,
  );
  expect(used[0]).toBe(`${right} auths[${reg.host}]`);
  expect(used[1]).toBe(`${wrong} auths[${reg.host}]`);
  expect(b.unusedPullSecrets).toEqual([{ file: spare, name: "spare" }]);
}, 90_000);

test("a name the pod lists with no --pull-secret file: said in that image's output, and the pull goes anonymous and fails", async () => {
  const right = secretFile("regcred", PW);
  const k8s = path.join(t.dir, "k8s-missing.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("worker", ["othercred", "regcred"])].join("---\n"));
  const r = await runCli(["check", "-f", k8s, ...flags(), "--pull-secret", right], { home: t.dir });
  const lines = r.stdout.split("\n");
  expect(lines[1]).toMatch(/^ok +- +.* Deployment\/web \(web\)$/);
  // othercred has no file, regcred (second in the pod's list) still answers: kubelet pulls with it.
  expect(lines[2]).toMatch(/^ok +- +.* Deployment\/worker \(worker\)$/);
  expect(r.stdout).toContain("imagePullSecrets names othercred, but no --pull-secret file holds a Secret named othercred");
  expect(r.stdout).not.toContain("names the Secret regcred");
  expect(r.code).toBe(0);

  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("worker", ["othercred"])].join("---\n"));
  const f = await runCli(["check", "-f", k8s, ...flags(), "--pull-secret", right], { home: t.dir });
  const fl = f.stdout.split("\n");
  expect(fl[1]).toMatch(/^ok +- +.* Deployment\/web \(web\)$/);
  // No Secret of its own: the pull goes anonymous and the registry's 401 stands.
  expect(fl[2]).toMatch(/^FAIL +AUTH_CREDENTIALS_REQUIRED +.* Deployment\/worker \(worker\)$/);
  // The single check it points to carries only this pod's Secrets (none), not regcred's file.
  const again = f.stdout.split("\n").find((l) => l.includes("shows every stage"))!;
  expect(again).not.toContain("--pull-secret");
  expect(f.stdout).toContain("imagePullSecrets names othercred, but no --pull-secret file holds a Secret named othercred");
  expect(f.code).toBe(1);
}, 90_000);
