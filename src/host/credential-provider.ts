import path from "node:path";
import { execBounded } from "./bounded-exec";
import { safeOutput, signalName } from "./cred-helper";
import { readLocalFile } from "./local-file";

/** yaml when a provider config is read, not at every check's start (docs/performance.md, "Diagnosis: connections, start-up and the catalogue"). */
const yaml = () => require("yaml") as typeof import("yaml");

/**
 * kubelet's exec credential-provider plugins (kubernetes/kubernetes:pkg/credentialprovider/plugin/
 * config.go #readCredentialProviderConfigFile, #validateCredentialProviderConfig; plugin.go
 * #execPlugin.ExecPlugin, #pluginProvider.Provide): the CredentialProviderConfig file kubelet is
 * given with --image-credential-provider-config, and one run of a plugin: a CredentialProviderRequest
 * on stdin, a CredentialProviderResponse on stdout. Nothing is cached or written.
 */

export const PROVIDER_API_VERSIONS = [
  "credentialprovider.kubelet.k8s.io/v1",
  "credentialprovider.kubelet.k8s.io/v1beta1",
  "credentialprovider.kubelet.k8s.io/v1alpha1",
];

export interface ProviderSpec {
  name: string;
  matchImages: string[];
  defaultCacheDuration: string;
  apiVersion: string;
  args: string[];
  env: { name: string; value: string }[];
}

export type ProviderConfig =
  | { ok: true; path: string; providers: ProviderSpec[] }
  | { ok: false; path: string; absent: boolean; message: string; line: number | null };

/** Read and validate the config as kubelet does at start-up (an invalid file stops kubelet). */
export function readProviderConfig(file: string): ProviderConfig {
  const r = readLocalFile(file);
  if (!r.ok) {
    const absent = "error" in r && r.error.code === "ENOENT";
    return { ok: false, path: file, absent, message: "error" in r ? r.error.message : r.refused, line: null };
  }
  return parseProviderConfig(file, new TextDecoder().decode(r.bytes));
}

export function parseProviderConfig(file: string, text: string): ProviderConfig {
  const fail = (message: string, line: number | null = null): ProviderConfig => ({ ok: false, path: file, absent: false, message, line });
  const doc = yaml().parseDocument(text);
  if (doc.errors.length > 0)
    return fail(`not YAML or JSON: ${doc.errors[0]!.message.split("\n")[0]}`, doc.errors[0]!.linePos?.[0].line ?? null);
  const o = doc.toJS() as Record<string, unknown> | null;
  if (!o || typeof o !== "object") return fail("not a CredentialProviderConfig object", 1);
  if (o.kind !== "CredentialProviderConfig") return fail(`kind is ${JSON.stringify(o.kind)}, not CredentialProviderConfig`);
  if (!Array.isArray(o.providers) || o.providers.length === 0) return fail("at least 1 item in plugins is required");
  const providers: ProviderSpec[] = [];
  const seen = new Set<string>();
  for (const [i, raw] of (o.providers as Record<string, unknown>[]).entries()) {
    const p = raw ?? {};
    const at = `providers[${i}]`;
    const name = typeof p.name === "string" ? p.name : "";
    if (name === "") return fail(`${at}.name is required`);
    if (/[/\\]|^\.\.?$/.test(name)) return fail(`${at}.name ${JSON.stringify(name)} must be a file name, not a path`);
    if (seen.has(name)) return fail(`${at}.name ${JSON.stringify(name)} is duplicated`);
    seen.add(name);
    const matchImages = Array.isArray(p.matchImages) ? p.matchImages.map(String) : [];
    if (matchImages.length === 0) return fail(`${at}.matchImages is required`);
    if (typeof p.defaultCacheDuration !== "string" || p.defaultCacheDuration === "") return fail(`${at}.defaultCacheDuration is required`);
    const apiVersion = typeof p.apiVersion === "string" ? p.apiVersion : "";
    if (!PROVIDER_API_VERSIONS.includes(apiVersion))
      return fail(`${at}.apiVersion ${JSON.stringify(apiVersion)} is not one of ${PROVIDER_API_VERSIONS.join(", ")}`);
    const env = Array.isArray(p.env)
      ? (p.env as Record<string, unknown>[]).map((e) => ({ name: String(e?.name ?? ""), value: String(e?.value ?? "") }))
      : [];
    providers.push({ name, matchImages, defaultCacheDuration: p.defaultCacheDuration, apiVersion, args: (p.args as string[]) ?? [], env });
  }
  return { ok: true, path: file, providers };
}

/** One plugin run, for evidence: never the credentials it returned. */
export interface PluginRun {
  plugin: string;
  path: string;
  image: string;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  cacheKeyType: string | null;
  /** The auth keys the plugin answered for (not their values). */
  keys: string[];
}

export type PluginAnswer =
  | { ok: true; run: PluginRun; auth: { key: string; username: string; password: string }[] }
  | { ok: false; run: PluginRun; error: string };

export interface PluginOptions {
  binDir: string;
  /** kubelet's own environment; the provider's env entries are added to it. */
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  signal?: AbortSignal;
}

/** execPlugin.ExecPlugin and the checks Provide makes on the response. */
export async function execProvider(p: ProviderSpec, image: string, opts: PluginOptions): Promise<PluginAnswer> {
  const exe = path.join(opts.binDir, p.name);
  const run: PluginRun = {
    plugin: p.name,
    path: exe,
    image,
    exitCode: null,
    signal: null,
    timedOut: false,
    durationMs: 0,
    cacheKeyType: null,
    keys: [],
  };
  const env = { ...opts.env, ...Object.fromEntries(p.env.map((e) => [e.name, e.value])) };
  const stdin = JSON.stringify({ kind: "CredentialProviderRequest", apiVersion: p.apiVersion, image });
  const res = await execBounded(exe, p.args, { env, stdin, timeoutMs: opts.timeoutMs, signal: opts.signal });
  Object.assign(run, { exitCode: res.code, signal: res.signal, timedOut: res.timedOut, durationMs: res.durationMs });
  const fail = (error: string): PluginAnswer => ({ ok: false, run, error });
  if (res.spawnError !== null) return fail(`fork/exec ${exe}: ${res.spawnError}`);
  if (res.timedOut) return fail(`timed out after ${opts.timeoutMs} ms (pulldoctor's --timeout; kubelet waits 1 minute)`);
  if (res.code !== 0)
    return fail(`${res.signal ? `signal: ${signalName(res.signal)}` : `exit status ${res.code}`}, out: \`${pluginOutput(res.stdout)}\``);
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(res.stdout) as Record<string, unknown>;
  } catch {
    // The parser's message quotes the text, which may be a credential: say only that it is not JSON.
    return fail(`error decoding credential provider plugin response: not JSON (${res.stdout.length} bytes)`);
  }
  if (typeof body !== "object" || body === null) return fail("error decoding credential provider plugin response: not an object");
  if (body.kind !== "CredentialProviderResponse") return fail(`kind was ${JSON.stringify(body.kind)}, expected CredentialProviderResponse`);
  if (body.apiVersion !== p.apiVersion)
    return fail(
      `apiVersion from credential plugin response did not match: got ${JSON.stringify(body.apiVersion)}, expected ${p.apiVersion}`,
    );
  run.cacheKeyType = typeof body.cacheKeyType === "string" ? body.cacheKeyType : null;
  if (!["Image", "Registry", "Global"].includes(run.cacheKeyType ?? ""))
    return fail(`credential provider plugin did not return a valid cacheKeyType: ${JSON.stringify(body.cacheKeyType ?? "")}`);
  const auth = (typeof body.auth === "object" && body.auth !== null ? body.auth : {}) as Record<string, Record<string, unknown>>;
  const out = Object.entries(auth).map(([key, v]) => ({
    key,
    username: typeof v?.username === "string" ? v.username : "",
    password: typeof v?.password === "string" ? v.password : "",
  }));
  run.keys = out.map((a) => a.key);
  return { ok: true, run, auth: out };
}

/** A failing plugin's stdout, quoted in the finding: never a response that carries credentials. */
function pluginOutput(s: string): string {
  return /"(password|auth)"\s*:/i.test(s) ? "<credential JSON withheld>" : safeOutput(s);
}
