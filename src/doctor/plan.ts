import type { ImageRef, LocalConfig } from "../model/facts";
import type { Options } from "../model/options";
import type { Endpoint } from "../model/stage";
import { hostPort } from "../net/origin";
import { isInsecureByConfig } from "../registry/insecure";
import { parseMirror } from "../registry/mirror-url";

/** Docker Hub's API host: the domain `docker.io` is never contacted itself. */
export const DOCKER_HUB_API = "registry-1.docker.io";

export interface Plan {
  endpoints: Endpoint[];
  /** Mirrors that were configured but are not valid URLs (Docker refuses to start with them). */
  rejectedMirrors: { value: string; reason: string }[];
}

/**
 * The endpoints a Docker client tries, in order: for docker.io the configured mirrors
 * (daemon.json `registry-mirrors`, then --mirror), then the upstream registry; for any
 * other registry only the registry itself (Docker mirrors are Hub-only).
 */
export function planEndpoints(ref: ImageRef, local: LocalConfig | undefined, options: Options): Plan {
  const insecureList = [...(local?.daemon.insecureRegistries ?? []), ...options.insecureRegistries];
  const endpoints: Endpoint[] = [];
  const rejectedMirrors: Plan["rejectedMirrors"] = [];
  if (ref.registry === "docker.io") {
    const mirrors = [...(local?.daemon.mirrors ?? []), ...options.mirrors];
    const seen = new Set<string>();
    for (const m of mirrors) {
      const parsed = parseMirror(m);
      if ("reason" in parsed) {
        rejectedMirrors.push({ value: m, reason: parsed.reason });
        continue;
      }
      if (seen.has(parsed.url.href)) continue;
      seen.add(parsed.url.href);
      endpoints.push(endpointFrom(parsed.url, "mirror", insecureList));
    }
    endpoints.push(endpointFrom(new URL(`https://${DOCKER_HUB_API}`), "upstream", insecureList));
  } else {
    endpoints.push(endpointFrom(new URL(`https://${ref.registry}`), "upstream", insecureList));
  }
  return { endpoints, rejectedMirrors };
}

function endpointFrom(url: URL, role: Endpoint["role"], insecureList: string[]): Endpoint {
  const scheme = url.protocol === "http:" ? "http" : "https";
  const { host: hostname, port } = hostPort(url);
  const pathPrefix = url.pathname.replace(/\/+$/, "").replace(/\/v2$/, "");
  return {
    url: `${scheme}://${url.host}`,
    host: url.host,
    hostname,
    port,
    role,
    // An http:// mirror is insecure by construction: Docker talks plain HTTP to it.
    insecure: scheme === "http" || isInsecureByConfig(url.host, hostname, insecureList),
    pathPrefix,
  };
}
