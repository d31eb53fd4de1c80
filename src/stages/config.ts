import { existsSync } from "node:fs";
import path from "node:path";
import { HELPER_PREFIX } from "../host/cred-helper";
import { type AuthResolution, authLookupKey, resolveAuthConfig } from "../host/credentials";
import { type DaemonJson, readDaemonJson, readDropIns } from "../host/daemon-config";
import { type LoadedConfig, loadDockerConfig } from "../host/docker-config";
import { type EngineInfo, engineSocket, fetchEngineInfo } from "../host/engine-info";
import type { Evidence, Json } from "../model/evidence";
import type { Credential, LocalConfig, ProxySettings } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { defaultOptions } from "../model/options";
import { maskUserinfo, redactUrl } from "../model/redact";
import { rememberSecret, Secret } from "../model/secret";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { plural } from "../model/units";
import { mirrorUrlError } from "../registry/mirror-url";
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
  const findings: Finding[] = [];
  const loaded = loadDockerConfig(options.dockerConfig, deps);
  const lookupKey = authLookupKey(ref.registry);

  let credential: Credential | null = null;
  let resolution: AuthResolution | null = null;
  if (options.username !== null && options.password !== null) {
    credential = { source: "--username", lookupKey, username: options.username, password: options.password };
  } else {
    resolution = await resolveAuthConfig(loaded.file, lookupKey, {
      env: deps.env,
      os: deps.hostPlatform.os,
      timeoutMs: options.timeoutMs,
      signal: deps.signal,
    });
    findings.push(...credentialFindings(resolution, loaded, ref.registry));
    credential = credentialOf(resolution, loaded);
    if (resolution.envProblem) findings.push(envUnusable(resolution.envProblem));
    if (credential === null && resolution.error === null)
      findings.push(
        finding(
          "CREDS_NONE",
          { registry: ref.registry, lookupKey, configPath: loaded.path, found: loaded.found, image: ref.familiar },
          { lookupKey },
        ),
      );
  }

  if (loaded.problem) findings.unshift(configUnreadable(loaded, credential));
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

  const certsHost = path.join(options.certsDir, ref.registry);
  const local: LocalConfig = {
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
    certsDir: options.certsDir,
  };

  const evidence: Evidence = {
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
  // --insecure-registry / --mirror act like daemon.json for this run only (plan.ts adds them);
  // saying "0 insecure" while one was passed contradicted the connect stage's "(insecure)".
  const flags = { insecureRegistries: [...options.insecureRegistries], mirrors: options.mirrors.map(maskUserinfo) };
  if (flags.insecureRegistries.length + flags.mirrors.length > 0) evidence.flags = flags;
  const unread = credential
    ? undefined
    : findings.find((f) => f.code === "CREDS_HELPER_MISSING" || f.code === "CREDS_HELPER_FAILED" || f.code === "CONFIG_UNREADABLE");
  if (unread) local.credentialProblem = `${unread.code}: ${unread.detail}`;
  // config.json, daemon.json, drop-ins and helper output are the user's files but may hold ESC sequences.
  return escapeOutcome({
    summary: summaryOf(credential, resolution, loaded, local, flags),
    evidence,
    findings,
    provides: { local, credential },
  });
}

/** Pure: daemon.json's problem (current dockerd, with dockerd 20.10's differences) to its finding. */
export function daemonConfigFinding(daemon: DaemonJson): Finding | null {
  const p = daemon.problem;
  const legacy = daemon.dockerd20;
  // A well-formed file can still stop dockerd: it validates each registry-mirrors entry at
  // start (moby ValidateMirror). The doctor used to drop such a mirror without a word.
  // A mirror URL with userinfo carries a password: shown as "xxxxx", as moby prints it.
  const badMirror = p ? null : daemon.mirrors.map((m) => ({ m: maskUserinfo(m), error: mirrorUrlError(m) })).find((x) => x.error !== null);
  if (badMirror) {
    const legacy20 = badMirror.error!.includes("no scheme specified")
      ? ` (dockerd 20.10 says: failed to start daemon: invalid mirror: unsupported scheme "" in ${JSON.stringify(badMirror.m)})`
      : "";
    return finding(
      "DAEMON_CONFIG_UNREADABLE",
      { path: daemon.path, message: badMirror.error!, kind: "value", line: null, column: null },
      { path: daemon.path, kind: "value", message: badMirror.error!, mirror: badMirror.m },
      { note: `dockerd refuses to start with this registry-mirrors entry${legacy20}.` },
    );
  }
  if (p) {
    const params = { path: daemon.path, message: p.message, kind: p.kind, line: p.line ?? null, column: p.column ?? null };
    const evidence = { path: daemon.path, kind: p.kind, message: p.message, dockerd20: legacy === undefined ? p.message : legacy };
    if (p.refused)
      return finding("DAEMON_CONFIG_UNREADABLE", params, evidence, {
        note: "(pulldoctor did not read it: dockerd reads daemon.json whole at start, and blocks on a pipe or reads a device forever.)",
      });
    // A file pulldoctor may not open (not root) says nothing about dockerd, which runs as root.
    if (p.kind === "read")
      return finding("DAEMON_CONFIG_UNREADABLE", params, evidence, {
        severity: "warning",
        note: "pulldoctor could not read it (run as root to check it); dockerd itself may read it fine.",
      });
    const note =
      legacy === null
        ? "(dockerd 20.10 read only the first JSON value and started anyway.)"
        : legacy !== undefined
          ? `(dockerd 20.10 words it: ${legacy}.)`
          : undefined;
    return finding("DAEMON_CONFIG_UNREADABLE", params, evidence, note ? { note } : {});
  }
  if (typeof legacy === "string") {
    // Fine for current dockerd, fatal for 20.10 (e.g. an empty file).
    return finding(
      "DAEMON_CONFIG_UNREADABLE",
      { path: daemon.path, message: legacy, kind: "syntax", line: null, column: null },
      { path: daemon.path, kind: "syntax", message: null, dockerd20: legacy },
      { severity: "warning", note: "Current dockerd accepts this file; dockerd 20.10 (Debian 12's docker.io) refuses to start with it." },
    );
  }
  return null;
}

function configUnreadable(loaded: LoadedConfig, credential: Credential | null): Finding {
  const p = loaded.problem!;
  const consequence = p.refused
    ? "pulldoctor did not read it, so no credentials from it are checked in this run."
    : credential
      ? `Docker goes on with what it decoded before the error, which still gives credentials for ${credential.lookupKey} (${credential.source}).`
      : "Docker goes on with what it decoded before the error (for a syntax error: nothing), so this pull is anonymous.";
  return finding(
    "CONFIG_UNREADABLE",
    {
      path: loaded.path,
      message: p.message,
      kind: p.kind,
      line: p.line ?? null,
      column: p.column ?? null,
      dockerWarning: loaded.warning ?? "",
      consequence,
    },
    {
      path: loaded.path,
      kind: p.kind,
      message: p.message,
      line: p.line ?? null,
      column: p.column ?? null,
      ...(p.key ? { key: p.key } : {}),
      dockerWarning: loaded.warning,
    },
    // A pipe or a device: the docker CLI reads config.json whole before anything else and hangs on it.
    p.refused
      ? { note: "(The docker CLI reads config.json whole before anything else: it blocks on a pipe and never finishes on a device.)" }
      : {},
  );
}

/** DOCKER_AUTH_CONFIG set but refused: Docker prints why and uses config.json instead. */
function envUnusable(message: string): Finding {
  const detail = message.replace(/^Failed to create credential store from DOCKER_AUTH_CONFIG:\s+/, "");
  return finding(
    "CONFIG_UNREADABLE",
    {
      path: "DOCKER_AUTH_CONFIG",
      message: detail,
      kind: "env",
      line: null,
      column: null,
      dockerWarning: message,
      consequence: "Docker CLI 29+ ignores the variable and uses config.json and its helpers instead (older CLIs never read it).",
    },
    { path: "DOCKER_AUTH_CONFIG", kind: "env", message: detail, dockerWarning: message },
  );
}

/** Pure, table-tested: a credential lookup to its findings. */
export function credentialFindings(r: AuthResolution, loaded: LoadedConfig, registry: string): Finding[] {
  const out: Finding[] = [];
  if (r.error !== null && r.helper !== null) {
    const run = r.helperRuns[r.helperRuns.length - 1];
    const helper = HELPER_PREFIX + r.helper;
    const ev = {
      helper,
      via: r.helperVia,
      lookupKey: r.lookupKey,
      path: run?.path ?? null,
      exitCode: run?.exitCode ?? null,
      timedOut: run?.timedOut ?? false,
      output: run?.failureOutput ?? null,
      dockerError: r.error,
    };
    if (run && run.path === null)
      out.push(
        finding(
          "CREDS_HELPER_MISSING",
          {
            helper,
            name: r.helper,
            via: r.helperVia ?? "credsStore",
            lookupKey: r.lookupKey,
            registry,
            configPath: loaded.path,
            error: r.error,
          },
          ev,
        ),
      );
    else
      out.push(
        finding(
          "CREDS_HELPER_FAILED",
          {
            helper,
            via: r.helperVia ?? "credsStore",
            lookupKey: r.lookupKey,
            registry,
            configPath: loaded.path,
            exitCode: run?.exitCode ?? null,
            output: run?.failureOutput ?? "",
            error: r.error,
          },
          ev,
        ),
      );
  }
  // Kubernetes pull secrets are base64 by design: only a real config.json is judged.
  if (
    r.error === null &&
    r.store === "file" &&
    r.matchedKey !== null &&
    loaded.kind === "config.json" &&
    loaded.plaintextKeys.includes(r.matchedKey) &&
    (r.auth.password || r.auth.identitytoken || r.auth.registrytoken)
  ) {
    const others = loaded.plaintextKeys.filter((k) => k !== r.matchedKey).length;
    out.push(
      finding(
        "CREDS_PLAINTEXT",
        { configPath: loaded.path, key: r.matchedKey, registry, others },
        { configPath: loaded.path, key: r.matchedKey, plaintextKeys: loaded.plaintextKeys },
      ),
    );
  }
  return out;
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

function summaryOf(
  c: Credential | null,
  r: AuthResolution | null,
  loaded: LoadedConfig,
  local: LocalConfig,
  flags: { insecureRegistries: string[]; mirrors: string[] },
): string {
  const creds = c
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
