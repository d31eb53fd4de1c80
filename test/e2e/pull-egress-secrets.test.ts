import { afterAll, beforeAll, expect, test } from "bun:test";
import { existsSync, mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt, runCli } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { expectNoSecrets, expectValidReport } from "../helpers/schema";
import { type RegistryPeer, startRegistry } from "../peers/registry";

/**
 * `pull -f k8s.yaml` and `egress -f k8s.yaml` with `--client kubelet --pull-secret …` through the
 * compiled binary against a docker-registry that asks Basic (htpasswd): as `check -f`, each image
 * is pulled with only the Secrets its own pod spec names (kubelet's keyring per pod).
 */
const PW = "pull-egress-Basic-pw-7";
let reg: RegistryPeer;
let t: { dir: string; cleanup: () => void };
let image: string;
let hostsDir: string;

beforeAll(async () => {
  requireBinaryBuilt();
  t = tempDir("pd-e2e-pull-egress-secrets-");
  reg = await startRegistry({ htpasswd: { alice: PW } });
  const basic = `Basic ${Buffer.from(`alice:${PW}`).toString("base64")}`;
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label: "pull-egress-secrets" }), { authorization: basic });
  image = `${reg.host}/team/app:1.0`;
  hostsDir = path.join(t.dir, "certs.d");
  mkdirSync(path.join(hostsDir, reg.host), { recursive: true });
  writeFileSync(path.join(hostsDir, reg.host, "hosts.toml"), `server = "http://${reg.host}"\n`);
});
afterAll(async () => {
  await reg?.stop();
  t?.cleanup();
});

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
type Img = {
  pullSecretFiles: string[];
  report: { verdict: { ok: boolean; code: string | null }; stages: { id: string; evidence: { credential?: { source?: string } } }[] };
};
const authSource = (i: Img) => i.report.stages.find((s) => s.id === "auth")?.evidence.credential?.source;

test("pull -f: each image pulls with its own pod's Secret only; a pod naming the wrong Secret fails and nothing is written", async () => {
  const right = secretFile("regcred", PW);
  const wrong = secretFile("badcred", "not-the-password");
  const k8s = path.join(t.dir, "pull.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("api", ["badcred"])].join("---\n"));
  const out = path.join(t.dir, "out-refused");
  const r = await runCli(
    ["pull", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--output", `oci:${out}`, "--json"],
    {
      home: t.dir,
    },
  );
  expect(r.code).toBe(1);
  const b = JSON.parse(r.stdout);
  expectValidReport(b);
  // Every file to every image would have let api pull with regcred's password.
  expect(b.images.map((i: Img) => i.pullSecretFiles)).toEqual([[right], [wrong]]);
  expect(b.images.map((i: Img) => i.report.verdict.code)).toEqual([null, "AUTH_UNAUTHORIZED"]);
  expect(b.images.map(authSource)).toEqual([`${right} auths[${reg.host}]`, `${wrong} auths[${reg.host}]`]);
  expect(existsSync(out)).toBe(false);
  expectNoSecrets(r.stdout + r.stderr, [PW]);

  // Only web, with a Secret no pod names given first: web still pulls with regcred, the spare is said unused.
  writeFileSync(k8s, deployment("web", ["regcred"]));
  const ok = path.join(t.dir, "out-ok");
  const p = await runCli(["pull", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--output", `oci:${ok}`], {
    home: t.dir,
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
  const k8s = path.join(t.dir, "egress.yaml");
  writeFileSync(k8s, [deployment("web", ["regcred"]), deployment("api", ["badcred"])].join("---\n"));
  const r = await runCli(["egress", "-f", k8s, ...flags(), "--pull-secret", wrong, "--pull-secret", right, "--json"], { home: t.dir });
  const e = JSON.parse(r.stdout);
  expect(e.images.map((i: { verdict: { ok: boolean; code: string | null } }) => [i.verdict.ok, i.verdict.code])).toEqual([
    [true, null],
    [false, "AUTH_UNAUTHORIZED"],
  ]);
  expect(e.egress.map((h: { host: string }) => h.host)).toContain(reg.host.replace(/:\d+$/, ""));
  expectNoSecrets(r.stdout + r.stderr, [PW]);
}, 90_000);
