import { type BuiltImage, desc } from "../../src/lab/image";
import type { Deps } from "../../src/model/deps";
import type { AuthSession, Facts, ImageRef, LinkInfo, ResolvedManifest } from "../../src/model/facts";
import type { Options } from "../../src/model/options";
import type { StageContext } from "../../src/model/stage";
import { endpointFor, testContext } from "../helpers/context";

/** An open registry: the auth stage's session sends no Authorization. */
export const openSession: AuthSession = { scheme: "none", authorize: async () => null, invalidate() {} };

/** The ImageRef the reference stage gives for HOST/REPO:TAG (or @DIGEST) on a loopback registry. */
export function loopbackRef(host: string, repository: string, tag: string | null, digest: string | null = null): ImageRef {
  const name = `${host}/${repository}`;
  const canonical = `${name}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
  return { input: canonical, registry: host, repository, tag, digest, canonical, familiar: canonical };
}

/** Facts a real earlier run gives for a plain-http loopback registry (insecure, as Docker decides). */
export function loopbackFacts(baseUrl: string, ref: ImageRef, over: Partial<Facts> = {}): Facts {
  const link: LinkInfo = { scheme: "http", baseUrl, tls: { ca: [], verify: false }, insecure: true };
  return { ref, link, session: openSession, credential: null, ...over };
}

export function stageCtx(
  baseUrl: string,
  ref: ImageRef,
  o: { options?: Partial<Options>; deps?: Partial<Deps>; facts?: Partial<Facts> } = {},
): StageContext {
  return testContext({
    endpoint: endpointFor(baseUrl, { insecure: true }),
    facts: loopbackFacts(baseUrl, ref, o.facts),
    options: { timeoutMs: 3000, ...o.options },
    deps: o.deps,
  });
}

/** The manifest fact the manifest stage would establish for an image the lab or a test built. */
export function resolvedManifest(im: BuiltImage): ResolvedManifest {
  return {
    digest: im.digest,
    mediaType: im.mediaType,
    index: null,
    image: {
      digest: im.digest,
      mediaType: im.mediaType,
      size: im.manifest.length,
      raw: im.manifest,
      config: desc(im.config),
      layers: im.layers.map(desc),
    },
    platform: `${im.platform.os}/${im.platform.architecture}`,
  };
}
