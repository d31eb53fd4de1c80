import type { Stage, StageId, StageOutcome } from "../model/stage";
import type { TraceEvent } from "../model/trace";

/**
 * Stages whose answer depends only on the endpoint, this run's options and the host's
 * configuration, never on the image: DNS, proxy, connect and `/v2/`.
 */
const PER_ENDPOINT: ReadonlySet<StageId> = new Set(["dns", "proxy", "connect", "v2"]);

interface Probe {
  outcome: StageOutcome;
  events: TraceEvent[];
}

/**
 * The stages for a run over many images: what the images of one registry share (its DNS, proxy,
 * connect and `/v2/` probes) is probed once per endpoint, however many images name it and
 * however many run at once. A later image gets the same outcome, with the probe's trace events
 * replayed into its own trace (its report's egress list names the same hosts), marked shared.
 */
export function shareEndpointProbes(stages: readonly Stage[]): Stage[] {
  const cache = new Map<string, Promise<Probe>>();
  return stages.map((stage) => {
    if (stage.scope !== "endpoint" || !PER_ENDPOINT.has(stage.id)) return stage;
    return {
      ...stage,
      async run(ctx) {
        const key = `${stage.id} ${ctx.endpoint?.url ?? ""}`;
        const known = cache.get(key);
        if (!known) {
          const events: TraceEvent[] = [];
          const trace = {
            record: (e: TraceEvent) => {
              events.push(e);
              ctx.trace.record(e);
            },
          };
          const probe = stage.run({ ...ctx, trace }).then((outcome) => ({ outcome, events }));
          cache.set(key, probe);
          return (await probe).outcome;
        }
        const { outcome, events } = await known;
        for (const e of events) ctx.trace.record(e);
        return { ...outcome, evidence: { ...outcome.evidence, sharedWithOtherImages: true } };
      },
    };
  });
}
