import type { ClientSettings, RegistryTarget } from "../model/client-settings";
import type { Evidence } from "../model/evidence";
import type { Descriptor, FetchedBlob, Platform } from "../model/facts";
import type { Secret } from "../model/secret";
import { blobUrl, ClientPool, followBlob, readBody } from "./blob";
import { digestOf } from "./manifest";

/** Configs are a few KiB; beyond this the platform check is skipped rather than download more. */
export const MAX_CONFIG_CHECK_BYTES = 64 * 1024;

/** os/architecture/variant from an image config (OCI image-spec config.json). Pure. */
export function configPlatform(bytes: Uint8Array): Platform | null {
  try {
    const c = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    if (typeof c.os !== "string" || typeof c.architecture !== "string") return null;
    const p: Platform = { os: c.os, architecture: c.architecture };
    if (typeof c.variant === "string" && c.variant) p.variant = c.variant;
    if (typeof c["os.version"] === "string" && c["os.version"]) p["os.version"] = c["os.version"] as string;
    return p;
  } catch {
    return null;
  }
}

/**
 * The platform a single-platform image declares, read from its config blob as Docker does
 * before it refuses an explicit --platform that does not match ("image with reference … was
 * found but does not match the specified platform"). Any failure to fetch is left to the blob
 * stage, which diagnoses blob fetches: here it only yields no platform and a note in the evidence.
 * A config fetched whole and verified is handed on (`fetched`): the blob stage judges that
 * exchange instead of asking again, as Docker fetches the config once.
 */
export async function fetchConfigPlatform(
  settings: ClientSettings,
  registry: RegistryTarget,
  repository: string,
  config: Descriptor,
  authorization: Secret | null,
  evidence: Evidence,
): Promise<{ platform: Platform | null; fetched: FetchedBlob | null }> {
  const none = { platform: null, fetched: null };
  if (config.size <= 0 || config.size > MAX_CONFIG_CHECK_BYTES) {
    evidence.configPlatform = { skipped: `config is ${config.size} bytes` };
    return none;
  }
  const pool = new ClientPool({ settings, registry });
  try {
    const url = blobUrl(registry.baseUrl, repository, config.digest);
    const range = `bytes=0-${config.size - 1}`;
    const r = await followBlob(pool, url, range, authorization);
    if (r.kind !== "response") {
      evidence.configPlatform = { skipped: `config blob not fetched (${r.kind}); see the blob stage` };
      return none;
    }
    if (r.res.status !== 200 && r.res.status !== 206) {
      await r.res.body.cancel().catch(() => undefined);
      evidence.configPlatform = { skipped: `config blob answered ${r.res.status}; see the blob stage` };
      return none;
    }
    const read = await readBody(r.res.body, config.size, settings.timeoutMs, true);
    if (read.count !== config.size || !read.bytes || digestOf(read.bytes, config.digest) !== config.digest) {
      evidence.configPlatform = { skipped: "config blob incomplete or not matching its digest; see the blob stage" };
      return none;
    }
    const p = configPlatform(read.bytes);
    evidence.configPlatform = p
      ? { os: p.os, architecture: p.architecture, variant: p.variant ?? null }
      : { skipped: "config names no os/architecture" };
    const { status, headers } = r.res;
    const fetched = {
      digest: config.digest,
      range,
      status,
      headers,
      host: r.host,
      hops: r.hops,
      bytes: read.count,
      transferMs: read.transferMs,
    };
    return { platform: p, fetched };
  } finally {
    await pool.close();
  }
}
