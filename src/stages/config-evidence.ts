import { existsSync } from "node:fs";
import { HELPER_PREFIX } from "../host/cred-helper";
import type { AuthResolution } from "../host/credentials";
import type { DaemonJson, DropInProxies } from "../host/daemon-config";
import type { LoadedConfig } from "../host/docker-config";
import type { EngineInfo, engineSocket } from "../host/engine-info";
import type { Deps } from "../model/deps";
import type { Evidence, Json } from "../model/evidence";
import type { Credential, LocalConfig, ProxySettings } from "../model/facts";
import type { Options } from "../model/options";
import { maskUserinfo, redactUrl } from "../model/redact";
import { plural } from "../model/units";

/** What the config stage read, as evidence: every file, the Engine's answer, and the settings in effect. */
export interface ConfigReads {
  loaded: LoadedConfig;
  credential: Credential | null;
  resolution: AuthResolution | null;
  lookupKey: string;
  daemon: DaemonJson;
  dropIns: DropInProxies;
  sock: ReturnType<typeof engineSocket>;
  engine: EngineInfo | null;
  /** The live Engine when its registry settings are the ones in effect. */
  registryFrom: EngineInfo | null;
  local: LocalConfig;
  /** certs.d/<registry>. */
  certsHost: string;
}

export function configEvidence(r: ConfigReads, options: Options, deps: Deps): Evidence {
  const { loaded, credential, resolution, lookupKey, daemon, dropIns, sock, engine, registryFrom, local, certsHost } = r;
  return {
    dockerConfig: {
      path: loaded.path,
      from: loaded.from,
      found: loaded.found,
      kind: loaded.kind,
      problem: loaded.problem ? { ...loaded.problem } : null,
      dockerWarning: loaded.warning,
      credsStore: loaded.file.credsStore || null,
      credHelpers: Object.fromEntries(loaded.file.credHelpers),
      authsKeys: [...loaded.file.auths.keys()],
      plaintextKeys: loaded.plaintextKeys,
    },
    credentials: credentialEvidence(credential, resolution, lookupKey, deps.env.DOCKER_AUTH_CONFIG),
    daemonJson: {
      path: daemon.path,
      found: daemon.found,
      keys: daemon.keys,
      mirrors: daemon.mirrors.map(maskUserinfo),
      insecureRegistries: daemon.insecureRegistries,
      proxies: redactProxies(daemon.proxies),
      problem: daemon.problem ? { ...daemon.problem } : null,
    },
    systemdDropIns: {
      searched: [...deps.paths.systemdDropIns],
      files: dropIns.files,
      setBy: dropIns.setBy,
      proxies: redactProxies(dropIns.proxies),
    },
    engine: engine
      ? {
          source: engine.source,
          ok: engine.ok,
          error: engine.error,
          durationMs: engine.durationMs,
          serverVersion: engine.serverVersion,
          operatingSystem: engine.operatingSystem,
          proxies: redactProxies(engine.proxies),
          mirrors: engine.mirrors.map(maskUserinfo),
          insecureRegistries: engine.insecureRegistries,
        }
      : { source: sock.source, ok: false, error: sock.note },
    dockerContext: sock.context,
    effective: {
      registrySettingsFrom: registryFrom ? `Engine GET /info on ${registryFrom.source}` : daemon.found ? daemon.path : "defaults",
      mirrors: local.daemon.mirrors.map(maskUserinfo),
      insecureRegistries: local.daemon.insecureRegistries,
      liveProxies: redactProxies(local.daemon.liveProxies),
      liveSource: local.daemon.liveSource,
    },
    certsD: { dir: options.certsDir, hostDir: certsHost, exists: existsSync(certsHost) },
  };
}

function credentialEvidence(c: Credential | null, r: AuthResolution | null, lookupKey: string, dockerAuthConfig: string | undefined): Json {
  return {
    lookupKey,
    source: c?.source ?? (r?.error ? "none (the helper failed)" : "none (anonymous)"),
    username: c?.username ?? null,
    kinds: c
      ? [c.password ? "password" : null, c.identityToken ? "identitytoken" : null, c.registryToken ? "registrytoken" : null].filter(
          (x): x is string => x !== null,
        )
      : [],
    store: r?.store ?? (c ? "--username" : null),
    helper: r?.helper ? HELPER_PREFIX + r.helper : null,
    helperVia: r?.helperVia ?? null,
    matchedKey: r?.matchedKey ?? null,
    matchKind: r?.matchKind ?? null,
    effectiveCredsStore: r?.credsStore || null,
    helperRuns: (r?.helperRuns ?? []).map((h) => ({ ...h })),
    dockerError: r?.error ?? null,
    dockerAuthConfig: dockerAuthConfig ? (r?.envProblem ? "set, but Docker ignores it" : "set") : "unset",
    dockerAuthConfigProblem: r?.envProblem ?? null,
  };
}

function redactProxies(p: ProxySettings | null): Json {
  if (!p) return null;
  return {
    ...(p.http ? { http: redactUrl(p.http) } : {}),
    ...(p.https ? { https: redactUrl(p.https) } : {}),
    ...(p.no ? { no: p.no } : {}),
  };
}

export function summaryOf(
  c: Credential | null,
  r: AuthResolution | null,
  loaded: LoadedConfig,
  local: LocalConfig,
  flags: { insecureRegistries: string[]; mirrors: string[] },
  credentialsText: string | null = null,
): string {
  const creds = credentialsText
    ? credentialsText
    : c
      ? `credentials for ${c.lookupKey} from ${c.source}${c.username ? ` (user ${c.username})` : ""}`
      : r?.error
        ? `credential lookup fails: ${r.error}`
        : `no credentials for ${r?.lookupKey ?? "?"}: anonymous pull`;
  const cfg = loaded.found ? loaded.path : `${loaded.path} absent`;
  const d = local.daemon;
  const daemon = `daemon: ${plural(d.mirrors.length, "mirror")}, ${d.insecureRegistries.length} insecure, proxy ${d.liveProxies ? `from ${d.liveSource}` : "none"}`;
  const run = [...flags.insecureRegistries.map((h) => `--insecure-registry ${h}`), ...flags.mirrors.map((m) => `--mirror ${m}`)];
  return `${creds}; ${cfg}; ${daemon}${run.length ? `; this run adds ${run.join(", ")}` : ""}`;
}
