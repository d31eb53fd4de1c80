import { expect, test } from "bun:test";
import { shareEndpointProbes } from "../../src/doctor/shared-probes";
import type { Endpoint, Stage, StageContext } from "../../src/model/stage";
import { MemoryTrace } from "../../src/model/trace";

const ep = (url: string): Endpoint => ({
  url,
  host: new URL(url).host,
  hostname: new URL(url).hostname,
  port: 443,
  role: "upstream",
  insecure: false,
  pathPrefix: "",
});

test("DNS, proxy, connect and /v2/ run once per endpoint, however many runs ask at once; other stages every time", async () => {
  const runs: string[] = [];
  const stage = (id: Stage["id"], scope: Stage["scope"]): Stage => ({
    id,
    title: id,
    scope,
    needs: [],
    async run(ctx) {
      runs.push(`${id} ${ctx.endpoint?.url ?? "-"}`);
      ctx.trace.record({ kind: "note", text: `${id} probed` });
      await Bun.sleep(20);
      return { summary: id, evidence: { n: runs.length }, findings: [] };
    },
  });
  const stages = shareEndpointProbes([
    stage("reference", "local"),
    stage("dns", "endpoint"),
    stage("v2", "endpoint"),
    stage("manifest", "endpoint"),
  ]);
  const run = async (url: string) => {
    const trace = new MemoryTrace();
    const out = [];
    for (const s of stages) out.push(await s.run({ endpoint: s.scope === "local" ? null : ep(url), trace } as unknown as StageContext));
    return { out, trace };
  };
  const [a, b, c] = await Promise.all([run("https://r.example"), run("https://r.example"), run("https://other.example")]);
  expect(runs.filter((r) => r === "dns https://r.example")).toHaveLength(1);
  expect(runs.filter((r) => r === "v2 https://r.example")).toHaveLength(1);
  expect(runs.filter((r) => r.startsWith("manifest https://r.example"))).toHaveLength(2);
  expect(runs.filter((r) => r.startsWith("reference"))).toHaveLength(3);
  expect(runs.filter((r) => r === "dns https://other.example")).toHaveLength(1);
  // Each run's trace holds the probe's events: its own report's egress list sees them.
  for (const r of [a, b, c])
    expect(r.trace.events.map((e) => (e.kind === "note" ? e.text : ""))).toEqual([
      "reference probed",
      "dns probed",
      "v2 probed",
      "manifest probed",
    ]);
  const shared = [a, b].map((r) => r.out[1]!.evidence.sharedWithOtherImages === true);
  expect(shared.sort()).toEqual([false, true]);
});
