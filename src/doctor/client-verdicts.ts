import type { FindingCode } from "../model/catalogue/index";
import type { buildReport, Report } from "../model/report";
import type { RunResult } from "./run";

/** The judged client, and with --client all one verdict per client: its own config's error, else the wire's verdict. */
export function clientParts(run: RunResult, verdict: Report["verdict"]): Pick<Parameters<typeof buildReport>[0], "client" | "clients"> {
  const c = run.localFacts.client;
  if (!c) return {};
  const client = { name: c.name, store: c.store, basedOn: c.basedOn };
  if (!c.all) return { client };
  const own = new Set(c.all.map((x) => x.code).filter((x) => x !== null));
  const wire = run.findings.find((f) => f.severity === "error" && !own.has(f.code));
  const clients = c.all.map((x) => {
    const f = x.code ? run.findings.find((g) => g.code === x.code && g.detail.startsWith(`[${x.label}]`)) : wire;
    const code = (x.code ?? wire?.code ?? null) as FindingCode | null;
    return {
      name: x.name,
      store: x.store,
      verdict: f
        ? { ok: false, code, summary: `${f.title}: ${f.detail}` }
        : {
            ok: verdict.ok || code === null,
            code: null,
            summary: verdict.ok ? verdict.summary : `nothing in ${x.label}'s config stops it`,
          },
    };
  });
  return { client, clients };
}
