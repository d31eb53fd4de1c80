import { afterAll, beforeAll, expect, test } from "bun:test";
import type { Facts } from "../../src/model/facts";
import { parseReference } from "../../src/registry/reference";
import { configStage } from "../../src/stages/config";
import { testContext, testDeps } from "../helpers/context";
import { type DockerdPeer, startDockerd } from "../peers/dockerd";

/**
 * The live Engine view against the real dockerd: it is started with proxy variables in its
 * environment (as a systemd drop-in would set them) and the config stage must read them
 * back from GET /info on its socket, with Docker's default insecure CIDRs left out.
 */
let engine: DockerdPeer;
const PROXY_ENV = {
  HTTPS_PROXY: "http://proxy.corp.example:3128",
  HTTP_PROXY: "http://proxy.corp.example:3128",
  NO_PROXY: "localhost,.corp.example",
};

beforeAll(async () => {
  // startDockerd passes this process's environment to dockerd: set the proxy just for its start.
  const saved = Object.fromEntries(Object.keys(PROXY_ENV).map((k) => [k, process.env[k]]));
  Object.assign(process.env, PROXY_ENV);
  try {
    engine = await startDockerd();
  } finally {
    for (const [k, v] of Object.entries(saved)) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}, 60_000);
afterAll(async () => {
  await engine?.stop();
});

test("liveProxies and registry config come from the running Engine's /info", async () => {
  const ctx = testContext({ facts: { ref: parseReference("nginx:1.27") } as Facts });
  const deps = testDeps({ env: { DOCKER_HOST: engine.host, PATH: "/usr/bin:/bin" } });
  const out = await configStage.run({ ...ctx, deps });
  const d = out.provides!.local!.daemon;
  expect(out.evidence.engine).toMatchObject({ ok: true, source: engine.host });
  expect(String((out.evidence.engine as { serverVersion: string }).serverVersion)).toMatch(/^\d+\./);
  expect(d.liveProxies).toEqual({ http: PROXY_ENV.HTTP_PROXY, https: PROXY_ENV.HTTPS_PROXY, no: PROXY_ENV.NO_PROXY });
  expect(d.liveSource).toBe(`Engine GET /info on ${engine.host}`);
  // Docker's own defaults (127.0.0.0/8, ::1/128, a secure docker.io) are not user settings.
  expect(d.insecureRegistries).toEqual([]);
  expect(d.mirrors).toEqual([]);
}, 30_000);
