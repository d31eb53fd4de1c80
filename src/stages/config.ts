import path from "node:path";
import { authLookupKey } from "../host/credentials";
import { type DaemonJson, type DropInProxies, readDaemonJson, readDropIns } from "../host/daemon-config";
import { type LoadedConfig, loadDockerConfig } from "../host/docker-config";
import { type EngineInfo, engineSocket, fetchEngineInfo } from "../host/engine-info";
import type { Json } from "../model/evidence";
import type { JudgedClient, LocalConfig } from "../model/facts";
import { defaultOptions } from "../model/options";
import { maskUserinfo } from "../model/redact";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { judgeClient } from "./config-client";
import { clientCredentials, reachEvidence } from "./config-credentials";
import { candidatesCredentials, credentialProblemOf, everyClientsCredentials, lookupFindings } from "./config-each-client";
import { configEvidence, summaryOf } from "./config-evidence";
import { daemonConfigFinding } from "./config-findings";
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
  // 1. The daemon side: daemon.json, systemd drop-ins, the running Engine.
  const loaded = loadDockerConfig(options.dockerConfig, deps);
  const lookupKey = authLookupKey(ref.registry);
  const daemon = readDaemonJson(options.daemonConfig);
  const daemonFinding = daemonConfigFinding(daemon);
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
  const local = localConfig(loaded, daemon, dropIns, live, registryFrom, options.certsDir);
  // 2. Whose pull is judged, and the credentials that client would send (its profile says where they come from).
  const judged = judgeClient(ctx, engine, local);
  const source = judged.profile.credentials.source;
  const creds = await clientCredentials(ctx, source, loaded, lookupKey);
  const credential = creds.credentials[0] ?? null;
  const all = judged.client.all;
  // --client all: each client walks with its own credentials and its lookup findings are reported (doctor/all-clients.ts).
  const each = all ? await everyClientsCredentials(ctx, all, judged.profiles, loaded, lookupKey, creds) : null;
  const findings = each ? each.findings : lookupFindings(creds, source, loaded);
  if (!all) {
    const candidates = await candidatesCredentials(ctx, judged.client.wire, source, loaded);
    if (candidates) judged.client.candidateCredentials = candidates;
  }
  if (daemonFinding) findings.push(daemonFinding);
  // 3. What later stages use, and the evidence.
  const certsHost = path.join(options.certsDir, ref.registry);
  const { resolution } = creds;
  const reads = { loaded, credential, resolution, lookupKey, daemon, dropIns, sock, engine, registryFrom, local, certsHost };
  const evidence = configEvidence(reads, options, deps);
  const c = judged.profile.credentials;
  if (creds.evidence !== null) evidence.credentials = { from: c.from, ...(creds.evidence as object) };
  (evidence.credentials as Record<string, Json>).sentTo = reachEvidence(c.sentTo, judged.profile.hosts, ref.registry);
  // --insecure-registry / --mirror act like daemon.json for this run only (plan.ts adds them);
  // saying "0 insecure" while one was passed contradicted the connect stage's "(insecure)".
  const flags = { insecureRegistries: [...options.insecureRegistries], mirrors: options.mirrors.map(maskUserinfo) };
  if (flags.insecureRegistries.length + flags.mirrors.length > 0) evidence.flags = flags;
  const problem = all ? (all[0]?.credentialProblem ?? null) : credentialProblemOf(credential, findings);
  if (problem) local.credentialProblem = problem;
  findings.push(...judged.findings);
  evidence.client = each ? withLookups(judged.evidence, each.lookups) : judged.evidence;
  // config.json, daemon.json, drop-ins and helper output are the user's files but may hold ESC sequences.
  return escapeOutcome({
    summary: `judged as ${judged.client.label}; ${summaryOf(credential, resolution, loaded, local, flags, each ? eachCredentialsText(all!, each.lookups) : creds.summary)}${candidatesOf(judged.client, ref.input)}`,
    evidence,
    findings,
    provides: { local, credential, credentials: creds.credentials, client: judged.client },
  });
}

/** --client all: each profile's credentials evidence gains its own lookup's answer (the stage's `credentials` is the first client's). */
function withLookups(evidence: Json, lookups: Json[]): Json {
  const e = evidence as { profiles: { credentials: object }[] };
  return { ...e, profiles: e.profiles.map((p, i) => ({ ...p, credentials: { ...p.credentials, lookup: lookups[i] ?? null } })) } as Json;
}

/** --client all: each client's credentials in a few words, clients with the same answer on one line. */
function eachCredentialsText(all: NonNullable<JudgedClient["all"]>, lookups: Json[]): string {
  const byAnswer = new Map<string, string[]>();
  for (const [i, x] of all.entries()) {
    const l = (lookups[i] ?? {}) as { found?: string | null; username?: string | null; problem?: string | null };
    const answer = l.found
      ? `${l.found}${l.username ? ` (user ${l.username})` : ""}`
      : l.problem
        ? `lookup fails (${l.problem.split(":")[0]})`
        : "none";
    byAnswer.set(answer, [...(byAnswer.get(answer) ?? []), x.label]);
  }
  return `credentials: ${[...byAnswer].map(([answer, labels]) => `${labels.join(", ")}: ${answer}`).join("; ")}`;
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

/** podman's short-name candidates in its order, when the judged name is one (the credentials named before are looked up for Docker's reading of the name). */
function candidatesOf(client: JudgedClient, input: string): string {
  const names = [...new Set((client.wire.hosts ?? []).flatMap((h) => (h.ref ? [h.ref.canonical] : [])))];
  return names.length ? `; short name ${input}: candidates ${names.join(", ")} (each with its own credentials)` : "";
}
