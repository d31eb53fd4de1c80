import type { BuiltImage } from "../../src/lab/image";
import type { Deps } from "../../src/model/deps";
import type { AuthSession, Facts } from "../../src/model/facts";
import type { Options } from "../../src/model/options";
import type { Endpoint } from "../../src/model/stage";
import { MemoryTrace } from "../../src/model/trace";
import { type PullEvent, type PullInput, runPull } from "../../src/pull/engine";
import { endpointFor, testDeps, testOptions } from "../helpers/context";
import { resolvedManifest } from "./manifest-facts";

export const anonymous: AuthSession = { scheme: "none", authorize: async () => null, invalidate() {} };

/**
 * The facts the doctor's stages would have established for a plain-HTTP registry on
 * loopback (ref, link, session, manifest, route), built from the image we pushed.
 */
export function factsFor(
  baseUrl: string,
  repository: string,
  tag: string,
  img: BuiltImage,
  session: AuthSession = anonymous,
): { endpoint: Endpoint; facts: Facts } {
  const endpoint = endpointFor(baseUrl, { insecure: true });
  const host = endpoint.host;
  const facts: Facts = {
    ref: {
      input: `${host}/${repository}:${tag}`,
      registry: host,
      repository,
      tag,
      digest: null,
      canonical: `${host}/${repository}:${tag}`,
      familiar: `${host}/${repository}:${tag}`,
    },
    route: { url: null, auth: null, reason: "loopback is never proxied" },
    link: { scheme: "http", baseUrl: endpoint.url, tls: { ca: [], verify: false }, insecure: true },
    session,
    manifest: resolvedManifest(img),
  };
  return { endpoint, facts };
}

export interface PullRun {
  input: PullInput;
  events: PullEvent[];
}

export async function pull(
  src: { endpoint: Endpoint; facts: Facts },
  output: string,
  over: {
    storeDir: string;
    deps?: Partial<Deps>;
    options?: Partial<Options>;
    fallbacks?: PullInput["fallbacks"];
    tuning?: PullInput["tuning"];
    endpointFirst?: Endpoint;
  },
) {
  const events: PullEvent[] = [];
  const trace = new MemoryTrace();
  const out = await runPull({
    options: testOptions(over.options),
    deps: testDeps(over.deps),
    trace,
    endpoint: src.endpoint,
    facts: src.facts,
    fallbacks: over.fallbacks,
    output,
    onProgress: (e) => events.push(e),
    tuning: { storeDir: over.storeDir, retry: { backoffMs: 20, maxBackoffMs: 100 }, ...over.tuning },
  });
  return { ...out, events, trace };
}
