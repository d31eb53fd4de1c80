import { detectClient } from "../clients/detect";
import { type ClientProfile, judgeClients, profileEvidence, wireOf } from "../clients/index";
import type { EngineInfo } from "../host/engine-info";
import { stdinIsTTY } from "../host/tty";
import { DEFAULT_CLIENT_PATHS } from "../model/deps";
import type { Json } from "../model/evidence";
import type { JudgedClient, LocalConfig } from "../model/facts";
import type { Finding } from "../model/finding";
import type { StageContext } from "../model/stage";

/**
 * The config stage's client part: which client is judged (--client, or what `auto` finds), its
 * profile and the findings of its own files. The logic lives in src/clients/.
 */
export function judgeClient(
  ctx: StageContext,
  engine: EngineInfo | null,
  local: LocalConfig,
): { findings: Finding[]; evidence: Json; client: JudgedClient; profile: ClientProfile; profiles: ClientProfile[] } {
  const { options, deps } = ctx;
  const live = engine?.ok ? engine : null;
  const detection = detectClient(live, deps.paths.clients, options.dockerStore);
  const dockerStore = options.dockerStore ?? live?.imageStore ?? "containerd";
  const judged = judgeClients(options.client, detection, {
    ref: ctx.facts.ref!,
    options,
    env: deps.env,
    homeDir: deps.homeDir,
    paths: deps.paths.clients ?? DEFAULT_CLIENT_PATHS,
    daemon: { mirrors: local.daemon.mirrors, insecureRegistries: local.daemon.insecureRegistries },
    dockerStore,
    runtime: detection.runtime ?? "containerd",
    uid: process.getuid?.() ?? 0,
    tty: stdinIsTTY() && !options.yes,
  });
  const all = options.client === "all";
  const first = judged[0]!.profile;
  const basedOn = all
    ? "--client all"
    : options.client === "auto"
      ? detection.basedOn
      : `--client ${options.client}${options.dockerStore ? ` --docker-store ${options.dockerStore}` : ""}`;
  // With --client all each finding says whose it is; the same config can stop one client and not another.
  const findings = judged.flatMap((j) =>
    all ? j.findings.map((f) => ({ ...f, detail: `[${j.profile.label}] ${f.detail}` })) : j.findings,
  );
  const client: JudgedClient = {
    name: first.name,
    store: first.store,
    label: all ? "every client" : first.label,
    basedOn,
    unsure: options.client === "auto" && detection.unsure,
    wire: wireOf(first),
    all: all
      ? judged.map((j) => ({
          name: j.profile.name,
          store: j.profile.store,
          label: j.profile.label,
          code: j.findings.find((f) => f.severity === "error")?.code ?? null,
          wire: wireOf(j.profile),
        }))
      : null,
  };
  return {
    findings,
    evidence: {
      choice: options.client,
      judged: all ? "all" : first.label,
      basedOn,
      detection: { ...detection },
      profiles: judged.map(profileEvidence),
    },
    client,
    profile: first,
    profiles: judged.map((j) => j.profile),
  };
}
