import path from "node:path";
import { HELPER_PREFIX } from "../host/cred-helper";
import { type AuthResolution, authLookupKey, resolveAuthConfig } from "../host/credentials";
import { type DaemonJson, type DropInProxies, readDaemonJson, readDropIns } from "../host/daemon-config";
import { type LoadedConfig, loadDockerConfig } from "../host/docker-config";
import { type EngineInfo, engineSocket, fetchEngineInfo } from "../host/engine-info";
import type { Credential, LocalConfig } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { defaultOptions } from "../model/options";
import { maskUserinfo } from "../model/redact";
import { rememberSecret, Secret } from "../model/secret";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { judgeClient } from "./config-client";
import { configEvidence, summaryOf } from "./config-evidence";
import { configUnreadable, credentialFindings, daemonConfigFinding, envUnusable } from "./config-findings";
import { escapeOutcome } from "./reference";

/**
 * The `config` stage: what the Docker client would send (config.json, credential
 * helpers, DOCKER_AUTH_CONFIG, --username) and what the daemon runs with (daemon.json,
 * systemd drop-ins, the live Engine /info). Reads only; never writes anything.
 */
export const configStage: Stage = {
  id: "config",
  title: "Client and daemon config",
  scope: "local",
  needs: ["ref"],
  run: runConfig,
};

/** The Engine socket answers fast or not at all; never let it hold up the doctor. */
const ENGINE_TIMEOUT_MS = 2000;

async function runConfig(ctx: StageContext): Promise<StageOutcome> {
  const { options, deps } = ctx;
  const ref = ctx.facts.ref!;
  // 1. The client side: config.json and the credentials the docker CLI would send.
  const loaded = loadDockerConfig(options.dockerConfig, deps);
  const lookupKey = authLookupKey(ref.registry);
  const { credential, resolution, findings } = await clientCredentials(ctx, loaded, lookupKey);
  if (loaded.problem) findings.unshift(configUnreadable(loaded, credential));
  // 2. The daemon side: daemon.json, systemd drop-ins, the running Engine.
  const daemon = readDaemonJson(options.daemonConfig);
  const daemonFinding = daemonConfigFinding(daemon);
  if (daemonFinding) findings.push(daemonFinding);
  const dropIns = readDropIns(deps.paths.systemdDropIns);
  const sock = engineSocket(deps.env, deps.paths.dockerSocket, {
    configDir: path.dirname(loaded.path),
    currentContext: loaded.file.currentContext,
  });
  const engine: EngineInfo | null = sock.socketPath
    ? await fetchEngineInfo(sock.socketPath, sock.source, {
        timeoutMs: Math.min(options.timeoutMs, ENGINE_TIMEOUT_MS),
        signal: deps.signal,
      })
    : null;
  const live = engine?.ok ? engine : null;
  // Registry settings: the running Engine's (it may have been started with flags), unless
  // the user pointed --daemon-config at a file of their own to check that file.
  const ownFile = options.daemonConfig !== defaultOptions().daemonConfig && daemon.found;
  const registryFrom = live && !ownFile ? live : null;
  // 3. What later stages use, and the evidence.
  const local = localConfig(loaded, daemon, dropIns, live, registryFrom, options.certsDir);
  const certsHost = path.join(options.certsDir, ref.registry);
  const reads = { loaded, credential, resolution, lookupKey, daemon, dropIns, sock, engine, registryFrom, local, certsHost };
  const evidence = configEvidence(reads, options, deps);
  // --insecure-registry / --mirror act like daemon.json for this run only (plan.ts adds them);
  // saying "0 insecure" while one was passed contradicted the connect stage's "(insecure)".
  const flags = { insecureRegistries: [...options.insecureRegistries], mirrors: options.mirrors.map(maskUserinfo) };
  if (flags.insecureRegistries.length + flags.mirrors.length > 0) evidence.flags = flags;
  const unread = credential
    ? undefined
    : findings.find((f) => f.code === "CREDS_HELPER_MISSING" || f.code === "CREDS_HELPER_FAILED" || f.code === "CONFIG_UNREADABLE");
  if (unread) local.credentialProblem = `${unread.code}: ${unread.detail}`;
  const judged = judgeClient(ctx, engine, local);
  findings.push(...judged.findings);
  evidence.client = judged.evidence;
  // config.json, daemon.json, drop-ins and helper output are the user's files but may hold ESC sequences.
  return escapeOutcome({
    summary: `judged as ${judged.client.label}; ${summaryOf(credential, resolution, loaded, local, flags)}`,
    evidence,
    findings,
    provides: { local, credential: judged.credential !== undefined ? judged.credential : credential, client: judged.client },
  });
}

/** --username/--password, else what config.json, its helpers or DOCKER_AUTH_CONFIG give for the registry. */
async function clientCredentials(
  ctx: StageContext,
  loaded: LoadedConfig,
  lookupKey: string,
): Promise<{ credential: Credential | null; resolution: AuthResolution | null; findings: Finding[] }> {
  const { options, deps } = ctx;
  const ref = ctx.facts.ref!;
  if (options.username !== null && options.password !== null)
    return {
      credential: { source: "--username", lookupKey, username: options.username, password: options.password },
      resolution: null,
      findings: [],
    };
  const resolution = await resolveAuthConfig(loaded.file, lookupKey, {
    env: deps.env,
    os: deps.hostPlatform.os,
    timeoutMs: options.timeoutMs,
    signal: deps.signal,
  });
  const findings = credentialFindings(resolution, loaded, ref.registry);
  const credential = credentialOf(resolution, loaded);
  if (resolution.envProblem) findings.push(envUnusable(resolution.envProblem));
  if (credential === null && resolution.error === null)
    findings.push(
      finding(
        "CREDS_NONE",
        { registry: ref.registry, lookupKey, configPath: loaded.path, found: loaded.found, image: ref.familiar },
        { lookupKey },
      ),
    );
  return { credential, resolution, findings };
}

/** The daemon settings in effect: the live Engine's registry settings when they apply, proxies from it or the drop-ins. */
function localConfig(
  loaded: LoadedConfig,
  daemon: DaemonJson,
  dropIns: DropInProxies,
  live: EngineInfo | null,
  registryFrom: EngineInfo | null,
  certsDir: string,
): LocalConfig {
  return {
    dockerConfig: { path: loaded.path, found: loaded.found, kind: loaded.found ? loaded.kind : "none" },
    daemon: {
      path: daemon.path,
      found: daemon.found,
      mirrors: registryFrom ? registryFrom.mirrors : daemon.mirrors,
      insecureRegistries: registryFrom ? registryFrom.insecureRegistries : daemon.insecureRegistries,
      proxies: daemon.proxies,
      liveProxies: live ? live.proxies : dropIns.proxies,
      liveSource: live
        ? `Engine GET /info on ${live.source}`
        : dropIns.setBy.length > 0
          ? `systemd drop-in ${dropIns.setBy.join(", ")}`
          : null,
    },
    certsDir,
  };
}

/** What later stages use: secrets wrapped, origin in words. null = anonymous. */
export function credentialOf(r: AuthResolution, loaded: LoadedConfig): Credential | null {
  if (r.error !== null) return null;
  const a = r.auth;
  if (!a.username && !a.password && !a.identitytoken && !a.registrytoken) return null;
  const where =
    r.store === "env"
      ? `DOCKER_AUTH_CONFIG auths[${r.matchedKey}] (read by Docker CLI 29+; older CLIs ignore it)`
      : r.store === "helper"
        ? `${r.helperVia === "credHelpers" ? `credHelpers[${r.lookupKey}]` : r.helperVia === "detected" ? "default store (detected on PATH)" : "credsStore"} → ${HELPER_PREFIX}${r.helper}`
        : `auths[${r.matchedKey}] in ${loaded.path}`;
  // Only the credential actually used joins the final scrub (its Basic form too): remembering
  // every value of every file would scrub common words ("password") from whole reports.
  if (a.username && a.password) rememberSecret(Buffer.from(`${a.username}:${a.password}`).toString("base64"));
  return {
    source: where,
    lookupKey: r.lookupKey,
    ...(a.username ? { username: a.username } : {}),
    ...(a.password ? { password: new Secret(a.password) } : {}),
    ...(a.identitytoken ? { identityToken: new Secret(a.identitytoken) } : {}),
    ...(a.registrytoken ? { registryToken: new Secret(a.registrytoken) } : {}),
  };
}
