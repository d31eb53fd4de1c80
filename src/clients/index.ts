import type { Json } from "../model/evidence";
import type { ClientWire } from "../model/facts";
import type { Finding } from "../model/finding";
import type { ClientChoice } from "../model/options";
import { containerdClient, hostJson } from "./containerd";
import type { Detection } from "./detect";
import { dockerClassic } from "./docker-classic";
import { dockerContainerd } from "./docker-containerd";
import type { ClientInputs } from "./inputs";
import { kubeletClient } from "./kubelet";
import { podmanClient } from "./podman";
import type { ClientJudgement, ClientProfile } from "./profile";

export type { ClientJudgement, ClientProfile };

/** Which profiles to build: the chosen client, the detected one for auto, every one for all. */
export function judgeClients(choice: ClientChoice, detection: Detection, inp: ClientInputs): ClientJudgement[] {
  const docker = () => (inp.dockerStore === "classic" ? dockerClassic(inp) : dockerContainerd(inp));
  const by = {
    docker,
    containerd: () => containerdClient(inp),
    kubelet: () => kubeletClient(inp),
    podman: () => podmanClient(inp),
  };
  if (choice === "all") return [dockerClassic(inp), dockerContainerd(inp), by.containerd(), by.kubelet(), by.podman()];
  return [by[choice === "auto" ? detection.name : choice]()];
}

/** The report's `client` and the config stage's evidence for one profile. */
export function profileEvidence(j: ClientJudgement): Json {
  const p = j.profile;
  return {
    name: p.name,
    store: p.store,
    label: p.label,
    sender: p.sender,
    hosts: p.hosts.map(hostJson),
    // The source's kind only: a keyring's entries hold the secrets themselves.
    credentials: { from: p.credentials.from, sentTo: p.credentials.sentTo, source: p.credentials.source.kind },
    proxyEnvironment: p.proxyEnvironment,
    unitProxy: p.unitProxy ? { unit: p.unitProxy.unit, dirs: [...p.unitProxy.dirs], files: [...p.unitProxy.files] } : null,
    behaviour: { ...p.behaviour },
    read: j.evidence,
  };
}

/** One line per client for `--client all`: will its config let the pull start, and which code decides. */
export function clientVerdicts(
  js: ClientJudgement[],
): { name: string; store: string | null; ok: boolean; code: string | null; findings: Finding[] }[] {
  return js.map((j) => {
    const err = j.findings.find((f) => f.severity === "error");
    return { name: j.profile.name, store: j.profile.store, ok: !err, code: err?.code ?? null, findings: j.findings };
  });
}

/**
 * What the network stages consult (SPEC "Clients"): the hosts in the client's order and its
 * behaviour flags. Classic Docker keeps the doctor's own Docker plan (daemon.json mirrors, --mirror,
 * then the registry), which also reports mirrors Docker would refuse.
 */
export function wireOf(p: ClientProfile): ClientWire {
  const docker = p.name === "docker";
  return {
    label: p.label,
    hosts:
      p.store === "classic"
        ? null
        : p.hosts.map((h) => ({
            url: h.url,
            host: h.host,
            path: h.path,
            capabilities: [...h.capabilities],
            role: h.role,
            httpFallback: h.httpFallback,
            skipVerify: h.tls.skipVerify,
            tls: { ca: [...h.tls.ca], client: h.tls.client.map(([c, k]) => [c, k] as [string, string]), certFiles: h.tls.certFiles },
            source: h.source,
            ...(h.ref ? { ref: h.ref } : {}),
          })),
    pingsV2: p.behaviour.pingsV2,
    retries401WithCredentials: p.behaviour.retries401WithCredentials,
    credentialsTo: p.credentials.sentTo,
    daemonInsecure: docker,
    reportsError: p.behaviour.reportsError,
    retry: p.behaviour.retry,
    on429: p.behaviour.on429,
    proxyEnvironment: p.proxyEnvironment,
    unitProxy: p.unitProxy ? { unit: p.unitProxy.unit, dirs: [...p.unitProxy.dirs], files: [...p.unitProxy.files] } : null,
    fixesFor: p.fixesFor,
  };
}
