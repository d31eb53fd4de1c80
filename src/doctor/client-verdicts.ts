import type { FindingCode } from "../model/catalogue/index";
import type { buildReport } from "../model/report";
import type { RunResult } from "./run";

/**
 * The judged client, and with --client all one verdict per client: each from that client's own
 * walk and its own config findings (doctor/all-clients.ts), with the endpoints it tried.
 */
export function clientParts(run: RunResult): Pick<Parameters<typeof buildReport>[0], "client" | "clients"> {
  const c = run.localFacts.client;
  if (!c) return {};
  const client = { name: c.name, store: c.store, basedOn: c.basedOn };
  if (!c.all || !run.clients) return { client };
  const clients = run.clients.map((x) => ({
    name: x.name,
    store: x.store,
    verdict: { ok: x.run.verdict.ok, code: (x.run.verdict.code ?? null) as FindingCode | null, summary: x.run.verdict.summary },
    endpoints: x.endpoints,
  }));
  return { client, clients };
}
