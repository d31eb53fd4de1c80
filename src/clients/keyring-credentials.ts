import { execProvider, type PluginRun, readProviderConfig } from "../host/credential-provider";
import type { Json } from "../model/evidence";
import { type Finding, finding } from "../model/finding";
import { Secret } from "../model/secret";
import { explainMatch, type KeyringEntry, lookup } from "./kube-keyring";
import type { CredentialSource } from "./profile";

type KeyringSource = Extract<CredentialSource, { kind: "keyring" }>;

export interface KeyringCredentials {
  /** Every matching credential, in the order kubelet tries them. */
  ordered: KeyringEntry[];
  findings: Finding[];
  evidence: Json;
}

/**
 * kubelet's Lookup for one image (kubernetes/kubernetes:pkg/credentialprovider/keyring.go
 * #UnionDockerKeyring.Lookup, #providersDockerKeyring.Lookup): the pod's pull secrets form one
 * keyring, looked up first; the node's config.json and the credential-provider plugins whose
 * matchImages match form the second, looked up together. Each returns every matching credential,
 * most specific key first; kubelet then asks the runtime once per credential until one pull works
 * (pkg/kubelet/kuberuntime/kuberuntime_image.go#PullImage), anonymously when none matched.
 */
export async function keyringCredentials(
  src: KeyringSource,
  repo: string,
  opts: { env: Readonly<Record<string, string | undefined>>; timeoutMs: number; signal?: AbortSignal },
): Promise<KeyringCredentials> {
  const findings: Finding[] = [];
  const runs: PluginRun[] = [];
  const fromPlugins: KeyringEntry[] = [];
  let providers: Json = null;
  if (src.providers) {
    const cfg = readProviderConfig(src.providers.config);
    providers = { config: src.providers.config, binDir: src.providers.binDir, ok: cfg.ok };
    if (!cfg.ok)
      findings.push(
        finding(
          "CLIENT_CONFIG_INVALID",
          {
            client: "kubelet",
            file: cfg.path,
            line: cfg.line,
            message: cfg.message,
            consequence: "kubelet refuses to start with --image-credential-provider-config pointing at it.",
          },
          { file: cfg.path, line: cfg.line, message: cfg.message },
        ),
      );
    else
      for (const p of cfg.providers) {
        // isImageAllowed: the plugin runs only for an image one of its matchImages matches.
        if (!p.matchImages.some((m) => explainMatch(m, repo).matches)) continue;
        const a = await execProvider(p, repo, { binDir: src.providers.binDir, ...opts });
        runs.push(a.run);
        if (!a.ok) {
          findings.push(
            finding(
              "CREDS_PROVIDER_FAILED",
              { plugin: p.name, path: a.run.path, image: repo, config: cfg.path, error: a.error },
              { run: { ...a.run } },
            ),
          );
          continue;
        }
        for (const e of a.auth)
          fromPlugins.push({
            key: e.key,
            file: `credential provider ${p.name}`,
            username: e.username,
            password: e.password ? new Secret(e.password) : null,
          });
      }
  }
  const pods = lookup(src.secrets, repo);
  const node = lookup([...src.node, ...fromPlugins], repo);
  const usable = (e: KeyringEntry) => e.username !== "" || e.password !== null;
  const ordered = [...pods.chosen, ...node.chosen].filter(usable);
  return {
    ordered,
    findings,
    evidence: {
      repo,
      tried: ordered.map((e) => ({ key: e.key, from: e.file, username: e.username })),
      plugins: runs.map((r) => ({ ...r })),
      providers,
    },
  };
}
