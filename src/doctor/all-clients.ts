import type { JudgedClient } from "../model/facts";
import type { Finding } from "../model/finding";
import type { Verdict } from "../model/report";
import type { StageResult } from "../model/stage";
import { concernsClient } from "../stages/config-each-client";
import { shareClientProbes } from "./client-probes";
import type { RunInput, RunResult } from "./run";
import { verdictOf } from "./verdict";

/** --client all: one client's own walk (its hosts, its behaviour flags) and the URLs it tried. */
export interface ClientRun {
  name: string;
  store: string | null;
  label: string;
  run: RunResult;
  endpoints: string[];
}

/** What the runner has once the local stages ran. */
export type LocalPart = Pick<RunResult, "localFacts" | "localResults" | "localFindings" | "crashed">;

/**
 * `--client all` (SPEC "Clients": the wire is walked once and judged for every client): each client
 * walks the endpoints of its own plan (hosts.toml for the containerd family, registries.conf for
 * podman, daemon.json for classic Docker) with its own flags (ping, 401 retry, credential reach),
 * and an endpoint that several clients try the same way is probed once (client-probes.ts). Each
 * client's verdict comes from its own walk and its own config findings. The first client's walk is
 * the one rendered stage by stage; the others add the endpoints only they tried and the findings
 * only they met, each finding naming the clients it concerns. The run fails when any client fails,
 * so its error findings, its verdict and the exit status (1) agree.
 */
export async function judgeEveryClient(
  local: LocalPart,
  input: RunInput,
  walk: (input: RunInput) => Promise<RunResult>,
): Promise<RunResult> {
  const judged = local.localFacts.client!;
  const from = input.stages.find((s) => s.scope === "endpoint")?.id;
  if (!from) throw new Error("--client all needs the endpoint stages");
  const stages = shareClientProbes(input.stages);
  const clients: ClientRun[] = [];
  for (const [i, x] of judged.all!.entries()) {
    // Config findings of --client all start with their client's label; a client is judged on its own.
    const own = (f: Finding) => concernsClient(f, x.label);
    // Its own short-name candidates' credentials (podman's), whatever its position in the list.
    const { candidateCredentials: _first, ...rest } = judged;
    const candidates = x.candidateCredentials ? { candidateCredentials: x.candidateCredentials } : {};
    const client: JudgedClient = { ...rest, ...candidates, name: x.name, store: x.store, label: x.label, wire: x.wire, all: null };
    const lf = local.localFacts.local;
    const base: RunResult = {
      ...local,
      localFacts: {
        ...local.localFacts,
        client,
        // Why its own credentials could not be read, for a 401 (the auth stage's hint).
        ...(lf ? { local: { ...lf, credentialProblem: x.credentialProblem ?? null } } : {}),
        // Its own credentials (pull secrets for kubelet, auth.json for podman, only --username for ctr).
        ...(x.credentials ? { credential: x.credentials[0] ?? null, credentials: x.credentials } : {}),
      },
      localFindings: local.localFindings.filter(own),
      endpoints: [],
      stages: local.localResults,
      findings: [],
      verdict: { ok: true, code: null, summary: "", endpoint: null },
      chosen: null,
    };
    // A client whose own config already stops it (a blocked registry, a short name) sends nothing.
    const run =
      i > 0 && x.code
        ? { ...base, findings: base.localFindings, verdict: verdictOf(base.localFindings, null, [], local.crashed, x.wire) }
        : await walk({ ...input, stages, previous: base, from, onEvent: i === 0 ? input.onEvent : undefined });
    clients.push({ name: x.name, store: x.store, label: x.label, run, endpoints: run.endpoints.map((r) => r.endpoint.url) });
  }
  return combine(local, clients);
}

function combine(local: LocalPart, clients: ClientRun[]): RunResult {
  const main = clients[0]!.run;
  // The stages of every endpoint walked, each once: the first client's walk, then the endpoints only others tried.
  const walked = new Set(main.endpoints.map((r) => r.endpoint.url));
  const stages: StageResult[] = [...main.stages];
  for (const c of clients.slice(1)) {
    for (const r of c.run.endpoints) {
      if (walked.has(r.endpoint.url)) continue;
      walked.add(r.endpoint.url);
      stages.push(...r.results);
    }
  }
  return {
    ...local,
    endpoints: main.endpoints,
    stages,
    findings: [...local.localFindings, ...endpointFindings(clients)],
    verdict: verdictOfAll(clients),
    chosen: main.chosen,
    crashed: clients.some((c) => c.run.crashed),
    clients,
  };
}

/** The endpoint findings of every client's walk, once each, naming the clients that meet it. */
function endpointFindings(clients: ClientRun[]): Finding[] {
  const byKey = new Map<string, { f: Finding; labels: string[] }>();
  for (const c of clients) {
    for (const r of c.run.endpoints) {
      for (const f of r.findings) {
        const key = `${f.code} ${f.severity} ${f.endpoint} ${f.stage}`;
        const known = byKey.get(key);
        if (known) {
          if (!known.labels.includes(c.label)) known.labels.push(c.label);
        } else byKey.set(key, { f, labels: [c.label] });
      }
    }
  }
  return [...byKey.values()].map(({ f, labels }) => ({ ...f, detail: `[${labels.join(", ")}] ${f.detail}` }));
}

/** Every client's pull should succeed, or the first client whose pull fails, by name. */
function verdictOfAll(clients: ClientRun[]): Verdict {
  const failing = clients.find((c) => !c.run.verdict.ok);
  const main = clients[0]!.run.verdict;
  if (!failing) return { ...main, summary: `Every client's pull should succeed. ${clients[0]!.label}: ${main.summary}` };
  const others = clients.filter((c) => !c.run.verdict.ok && c !== failing).map((c) => c.label);
  const also = others.length ? ` (also failing: ${others.join(", ")})` : "";
  return { ...failing.run.verdict, summary: `${failing.label}: ${failing.run.verdict.summary}${also}` };
}
