import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildImage } from "../../src/lab/image";
import { requireBinaryBuilt } from "../helpers/binary";
import { tempDir } from "../helpers/context";
import { pushImage } from "../helpers/push";
import { type RegistryPeer, startRegistry } from "./registry";

/**
 * A docker-registry that asks Basic (htpasswd) holding one image, and the files a kubelet run
 * of the many-image commands needs: Secret files as `kubectl get secret -o yaml` prints them,
 * Deployments naming them, and the flags that judge as kubelet on containerd.
 */
export interface KubeletSecretsLab {
  reg: RegistryPeer;
  dir: string;
  image: string;
  password: string;
  /** A kubernetes.io/dockerconfigjson Secret file for alice with this password. */
  secretFile(name: string, password: string): string;
  /** A Deployment of the image whose pod spec names these imagePullSecrets, in order. */
  deployment(name: string, secrets: string[]): string;
  /** --client kubelet, with containerd CRI told of the plain-HTTP registry by hosts.toml. */
  flags(): string[];
  stop(): Promise<void>;
}

export async function startKubeletSecretsLab(label: string, password: string): Promise<KubeletSecretsLab> {
  requireBinaryBuilt();
  const t = tempDir(`pd-e2e-${label}-`);
  const reg = await startRegistry({ htpasswd: { alice: password } });
  const basic = `Basic ${Buffer.from(`alice:${password}`).toString("base64")}`;
  await pushImage(reg.url, "team/app", "1.0", buildImage({ label }), { authorization: basic });
  const image = `${reg.host}/team/app:1.0`;
  // containerd CRI reads hosts.toml: the plain-HTTP registry as kubelet's runtime would be told of it.
  const hostsDir = path.join(t.dir, "certs.d");
  mkdirSync(path.join(hostsDir, reg.host), { recursive: true });
  writeFileSync(path.join(hostsDir, reg.host, "hosts.toml"), `server = "http://${reg.host}"\n`);
  return {
    reg,
    dir: t.dir,
    image,
    password,
    secretFile(name, pw) {
      const cfg = { auths: { [reg.host]: { auth: Buffer.from(`alice:${pw}`).toString("base64") } } };
      const file = path.join(t.dir, `${name}.yaml`);
      const data = Buffer.from(JSON.stringify(cfg)).toString("base64");
      writeFileSync(
        file,
        `apiVersion: v1\nkind: Secret\nmetadata:\n  name: ${name}\ntype: kubernetes.io/dockerconfigjson\ndata:\n  .dockerconfigjson: ${data}\n`,
      );
      return file;
    },
    deployment(name, secrets) {
      const pulls = secrets.map((s) => `\n        - name: ${s}`).join("");
      return `apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ${name}\nspec:\n  template:\n    spec:\n      imagePullSecrets:${pulls}\n      containers:\n        - name: ${name}\n          image: ${image}\n`;
    },
    flags: () => ["--client", "kubelet", "--containerd-config", "/nonexistent/config.toml", "--hosts-dir", hostsDir, "--timeout", "5"],
    async stop() {
      await reg.stop();
      t.cleanup();
    },
  };
}
