import { afterAll, beforeAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import path from "node:path";
import { runCli } from "../helpers/binary";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";
import { type KubeletSecretsLab, startKubeletSecretsLab } from "../peers/kubelet-secrets";

/**
 * `check -f k8s.yaml --client kubelet --pull-secret …` through the compiled binary against a
 * docker-registry that asks Basic (htpasswd): each Deployment's image is judged with the Secrets
 * its own pod spec names, in its order, as kubelet builds a pod's keyring; nothing else.
 */
const PW = "secrets-Basic-pw-5";
let lab: KubeletSecretsLab;
beforeAll(async () => {
  lab = await startKubeletSecretsLab("many-secrets", PW);
});
afterAll(async () => {
  await lab?.stop();
});
const secretFile = (name: string, password: string) => lab.secretFile(name, password);
const deployment = (name: string, secrets: string[]) => lab.deployment(name, secrets);
const flags = () => lab.flags();

test("two Deployments of one image naming different Secrets: the right one pulls, the wrong one fails AUTH_UNAUTHORIZED, as kubelet would", async () => {
  const right = secretFile("regcred", PW);
  const wrong = secretFile("badcred", "not-the-password");
  const spare = secretFile("spare", PW);
  const k8s = path.join(lab.dir, "k8s.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("api", ["badcred"])].join("---\n"));
  const args = ["check", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--pull-secret", spare];
  const r = await runCli(args, { home: lab.dir });
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

  const j = await runCli([...args, "--json"], { home: lab.dir });
  const b = JSON.parse(j.stdout);
  expectValidReport(b);
  expect(b.images.map((i: { pullSecrets: string[] }) => i.pullSecrets)).toEqual([["regcred"], ["badcred"]]);
  // Each diagnosis read only its pod's Secret: the other files never reached it.
  expect(b.images.map((i: { pullSecretFiles: string[] }) => i.pullSecretFiles)).toEqual([[right], [wrong]]);
  const used = b.images.map(
    (i: { report: { stages: { id: string; evidence: { credential?: { source?: string } } }[] } }) =>
      i.report.stages.find((s) => s.id === "auth")?.evidence.credential?.source,
  );
  expect(used[0]).toBe(`${right} auths[${lab.reg.host}]`);
  expect(used[1]).toBe(`${wrong} auths[${lab.reg.host}]`);
  expect(b.unusedPullSecrets).toEqual([{ file: spare, name: "spare" }]);
}, 90_000);

test("a name the pod lists with no --pull-secret file: said in that image's output, and the pull goes anonymous and fails", async () => {
  const right = secretFile("regcred", PW);
  const k8s = path.join(lab.dir, "k8s-missing.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("worker", ["othercred", "regcred"])].join("---\n"));
  const r = await runCli(["check", "-f", k8s, ...flags(), "--pull-secret", right], { home: lab.dir });
  const lines = r.stdout.split("\n");
  expect(lines[1]).toMatch(/^ok +- +.* Deployment\/web \(web\)$/);
  // othercred has no file, regcred (second in the pod's list) still answers: kubelet pulls with it.
  expect(lines[2]).toMatch(/^ok +- +.* Deployment\/worker \(worker\)$/);
  expect(r.stdout).toContain("imagePullSecrets names othercred, but no --pull-secret file holds a Secret named othercred");
  expect(r.stdout).not.toContain("names the Secret regcred");
  expect(r.code).toBe(0);

  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("worker", ["othercred"])].join("---\n"));
  const f = await runCli(["check", "-f", k8s, ...flags(), "--pull-secret", right], { home: lab.dir });
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
