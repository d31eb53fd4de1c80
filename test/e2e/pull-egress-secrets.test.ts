import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import path from "node:path";
import { runCli } from "../helpers/binary";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";
import { type KubeletSecretsLab, startKubeletSecretsLab } from "../peers/kubelet-secrets";

/**
 * `pull -f k8s.yaml` and `egress -f k8s.yaml` with `--client kubelet --pull-secret …` through the
 * compiled binary against a docker-registry that asks Basic (htpasswd): as `check -f`, each image
 * is pulled with only the Secrets its own pod spec names (kubelet's keyring per pod).
 */
const PW = "pull-egress-Basic-pw-7";
let lab: KubeletSecretsLab;
beforeAll(async () => {
  lab = await startKubeletSecretsLab("pull-egress-secrets", PW);
});
afterAll(async () => {
  await lab?.stop();
});
const secretFile = (name: string, password: string) => lab.secretFile(name, password);
const deployment = (name: string, secrets: string[]) => lab.deployment(name, secrets);
const flags = () => lab.flags();
type Img = {
  pullSecretFiles: string[];
  report: { verdict: { ok: boolean; code: string | null }; stages: { id: string; evidence: { credential?: { source?: string } } }[] };
};
const authSource = (i: Img) => i.report.stages.find((s) => s.id === "auth")?.evidence.credential?.source;

test("pull -f: each image pulls with its own pod's Secret only; a pod naming the wrong Secret fails and nothing is written", async () => {
  const right = secretFile("regcred", PW);
  const wrong = secretFile("badcred", "not-the-password");
  const k8s = path.join(lab.dir, "pull.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("api", ["badcred"])].join("---\n"));
  const out = path.join(lab.dir, "out-refused");
  const r = await runCli(
    ["pull", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--output", `oci:${out}`, "--json"],
    {
      home: lab.dir,
    },
  );
  expect(r.code).toBe(1);
  const b = JSON.parse(r.stdout);
  expectValidReport(b);
  // Every file to every image would have let api pull with regcred's password.
  expect(b.images.map((i: Img) => i.pullSecretFiles)).toEqual([[right], [wrong]]);
  expect(b.images.map((i: Img) => i.report.verdict.code)).toEqual([null, "AUTH_UNAUTHORIZED"]);
  expect(b.images.map(authSource)).toEqual([`${right} auths[${lab.reg.host}]`, `${wrong} auths[${lab.reg.host}]`]);
  expect(existsSync(out)).toBe(false);
  expectNoSecrets(r.stdout + r.stderr, [PW]);

  // Only web, with a Secret no pod names given first: web still pulls with regcred, the spare is said unused.
  writeFileSync(k8s, deployment("web", ["regcred"]));
  const ok = path.join(lab.dir, "out-ok");
  const p = await runCli(["pull", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--output", `oci:${ok}`], {
    home: lab.dir,
  });
  expect(p.stderr).toBe("");
  expect(p.code).toBe(0);
  expect(p.stdout).toContain("no image's imagePullSecrets names the Secret badcred");
  expect(p.stdout).toContain(`1 images written to oci:${ok}`);
  expect(existsSync(path.join(ok, "index.json"))).toBe(true);
}, 90_000);

test("egress -f: each image's diagnosis reads only its pod's Secrets", async () => {
  const right = secretFile("regcred", PW);
  const wrong = secretFile("badcred", "not-the-password");
  const k8s = path.join(lab.dir, "egress.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("api", ["badcred"])].join("---\n"));
  const r = await runCli(["egress", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--json"], { home: lab.dir });
  const e = JSON.parse(r.stdout);
  expect(e.images.map((i: { verdict: { ok: boolean; code: string | null } }) => [i.verdict.ok, i.verdict.code])).toEqual([
    [true, null],
    [false, "AUTH_UNAUTHORIZED"],
  ]);
  expect(e.egress.map((h: { host: string }) => h.host)).toContain(lab.reg.host.replace(/:\d+$/, ""));
  expectNoSecrets(r.stdout + r.stderr, [PW]);
}, 90_000);
