import type { FindingCode } from "../model/catalogue/index";
import { catalogueEntry } from "../model/catalogue/index";
import type { ClientWire } from "../model/facts";
import type { Finding } from "../model/finding";
import type { buildReport, Report } from "../model/report";
import type { RunResult } from "./run";

/**
 * The judged client, and with --client all one verdict per client: its own config's error, else
 * the first error of the one walk that stops this client (its judgement over the recorded
 * findings, see walkAll in stages/config-client.ts).
 */
export function clientParts(run: RunResult, verdict: Report["verdict"]): Pick<Parameters<typeof buildReport>[0], "client" | "clients"> {
  const c = run.localFacts.client;
  if (!c) return {};
  const client = { name: c.name, store: c.store, basedOn: c.basedOn };
  if (!c.all) return { client };
  // Config findings of --client all say whose they are ("[podman (containers/image)] …"): each client's own are in x.code.
  const wire = run.findings.filter((f) => !(f.stage === "config" && f.detail.startsWith("[")));
  const clients = c.all.map((x) => {
    const own = x.code ? run.findings.find((g) => g.code === x.code && g.detail.startsWith(`[${x.label}]`)) : undefined;
    const f = own ?? wire.find((g) => stops(g, x.wire));
    const code = (f?.code ?? null) as FindingCode | null;
    return {
      name: x.name,
      store: x.store,
      verdict: f
        ? { ok: false, code, summary: `${f.title}: ${f.detail}` }
        : {
            ok: verdict.ok,
            code: null,
            summary: verdict.ok ? verdict.summary : `nothing in ${x.label}'s config or requests stops it; ${verdict.summary}`,
          },
    };
  });
  return { client, clients };
}

/**
 * Whether a finding of the walk stops this client's pull. The walk probed /v2/ as evidence and
 * retried a repository 401 with credentials: a /v2/ failure stops the clients that ping, and a
 * retry that only a retrying client makes (AUTH_NOT_SENT) stops the others.
 */
export function stops(f: Finding, w: ClientWire): boolean {
  if (f.stage === "v2" && f.severity === "info") return w.pingsV2 && catalogueEntry(f.code).severity === "error";
  if (f.code === "AUTH_NOT_SENT") return !w.retries401WithCredentials;
  return f.severity === "error";
}
