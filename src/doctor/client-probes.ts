import type { ClientWire, Facts } from "../model/facts";
import type { Endpoint, Stage, StageContext, StageId, StageOutcome } from "../model/stage";
import { evidenceOnly } from "../stages/v2";

/** The stages whose requests depend on the endpoint and the client's transport rules, not on its auth. */
const SHARED: ReadonlySet<StageId> = new Set(["dns", "proxy", "connect", "v2"]);

/** What each shared stage reads of the judged client's wire, besides the words of its findings. */
const READS: Record<string, (w: ClientWire | undefined) => unknown> = {
  dns: () => null,
  proxy: (w) => w?.unitProxy ?? null,
  connect: (w) => w?.daemonInsecure !== false,
  // The ping is made the same way for every client; a client that never pings gets it as evidence (below).
  v2: () => null,
};

/** Stages whose findings name the client or write its fixes (dns and the raw `/v2/` probe do neither). */
const WORDED: ReadonlySet<StageId> = new Set(["proxy", "connect"]);

interface Probe {
  outcome: StageOutcome;
  /** The client the probe was made for. */
  label: string;
  /** Its label and fix style, when they are in the findings' words. */
  words: string;
}

/**
 * The stages for `--client all`: every client walks its own plan, but an endpoint several clients
 * try with the same transport rules is probed once (DNS, proxy, connect, `/v2/`). A later client
 * gets the same outcome and the same facts objects, so its next stage shares too. A probe whose
 * findings carry another client's words (its name, its fix style) is made again for this client.
 * Auth, manifest and blob run per client: credentials, the 401 retry and their reach differ.
 */
export function shareClientProbes(stages: readonly Stage[]): Stage[] {
  const cache = new Map<string, Promise<Probe>[]>();
  const ids = new WeakMap<object, number>();
  let next = 0;
  const idOf = (o: object | undefined) => {
    if (!o) return "-";
    if (!ids.has(o)) ids.set(o, ++next);
    return String(ids.get(o));
  };
  return stages.map((stage): Stage => {
    if (stage.scope !== "endpoint" || !SHARED.has(stage.id)) return stage;
    return {
      ...stage,
      async run(ctx) {
        const wire = ctx.facts.client?.wire;
        const key = probeKey(stage.id, ctx.endpoint, ctx.facts, READS[stage.id]!(wire), idOf);
        const label = wire?.label ?? "docker";
        const words = WORDED.has(stage.id) ? `${label} ${wire?.fixesFor}` : "";
        for (const known of cache.get(key) ?? []) {
          const p = await known;
          if (p.outcome.findings.length > 0 && p.words !== words) continue;
          return forClient(stage.id, { ...p.outcome, evidence: { ...p.outcome.evidence, probedFor: p.label } }, ctx);
        }
        const probe = stage.run(stage.id === "v2" ? pinging(ctx) : ctx).then((outcome) => ({ outcome, label, words }));
        cache.set(key, [...(cache.get(key) ?? []), probe]);
        return forClient(stage.id, (await probe).outcome, ctx);
      },
    };
  });
}

function probeKey(id: StageId, ep: Endpoint | null, facts: Facts, reads: unknown, idOf: (o: object | undefined) => string): string {
  const where = ep ? JSON.stringify([ep.url, ep.insecure, ep.pathPrefix, ep.tls ?? null]) : "";
  // The ping is fully set by the link (scheme, base URL, TLS settings): equal links share it even
  // when connect was probed again for another client's words.
  const before = id === "v2" ? JSON.stringify(facts.link ?? null) : [facts.resolution, facts.route].map(idOf).join(",");
  return `${id} ${where} ${JSON.stringify(reads)} ${before}`;
}

/** The raw `/v2/` probe, as a pinging client makes it: shared by every client. */
function pinging(ctx: StageContext): StageContext {
  const client = ctx.facts.client;
  if (!client) return ctx;
  return { ...ctx, facts: { ...ctx.facts, client: { ...client, wire: { ...client.wire, pingsV2: true } } } };
}

/** A shared probe as this client has it: a client that never pings gets `/v2/` as evidence only (stages/v2.ts). */
function forClient(id: StageId, out: StageOutcome, ctx: StageContext): StageOutcome {
  const wire = ctx.facts.client?.wire;
  // The proxy's evidence names who pulls with the unit's environment (containerd's unit serves kubelet too).
  const puller = (out.evidence as { puller?: { name: string; unit: string } }).puller;
  if (id === "proxy" && puller && wire) return { ...out, evidence: { ...out.evidence, puller: { ...puller, name: wire.label } } };
  if (id !== "v2" || !wire || wire.pingsV2 || !ctx.facts.link) return out;
  return evidenceOnly(out, wire.label, `${ctx.facts.link.baseUrl}/v2/`);
}
