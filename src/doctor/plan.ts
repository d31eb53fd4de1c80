import type { ClientWire, ImageRef, LocalConfig, WireHost } from "../model/facts";
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
  /** Hosts of the judged client that this pull does not send to (capabilities), and why. */
  skippedHosts: { url: string; reason: string }[];
}

/**
 * The endpoints the judged client tries, in its order. Classic Docker (no wire hosts): for docker.io
 * the configured mirrors (daemon.json `registry-mirrors`, then --mirror), then the upstream
 * registry; for any other registry only the registry itself (Docker mirrors are Hub-only). The
 * other clients: the hosts their own files give (hosts.toml in file order then `server`,
 * registries.conf mirrors then the location), see planHosts.
 */
export function planEndpoints(ref: ImageRef, local: LocalConfig | undefined, options: Options, wire?: ClientWire): Plan {
  if (wire?.hosts)
    return planHosts(ref, wire, [...(wire.daemonInsecure ? (local?.daemon.insecureRegistries ?? []) : []), ...options.insecureRegistries]);
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
  return { endpoints, rejectedMirrors, skippedHosts: [] };
}

/**
 * The judged client's hosts. A tag is resolved only by hosts with both `pull` and `resolve`
 * (containerd/containerd:core/remotes/docker/resolver.go#dockerResolver.Resolve filters on
 * HostCapabilityResolve), so a pull-only mirror never sees the manifest by tag: the tag goes
 * to the next resolving host (usually the upstream) even in an air-gapped setup.
 */
function planHosts(ref: ImageRef, wire: ClientWire, insecureList: string[]): Plan {
  const endpoints: Endpoint[] = [];
  const skippedHosts: Plan["skippedHosts"] = [];
  const byTag = ref.digest === null;
  for (const h of wire.hosts ?? []) {
    const url = `${h.url}${h.path}`;
    if (!h.capabilities.includes("pull")) {
      skippedHosts.push({ url, reason: `its capabilities (${h.capabilities.join(", ")}) lack "pull"` });
      continue;
    }
    if (byTag && !h.capabilities.includes("resolve")) {
      skippedHosts.push({
        url,
        reason: `capabilities ${JSON.stringify(h.capabilities)} lack "resolve": ${wire.label} sends the manifest by tag to the next host, not to this one`,
      });
      continue;
    }
    endpoints.push(hostEndpoint(h, insecureList, wire.daemonInsecure));
  }
  return { endpoints, rejectedMirrors: [], skippedHosts };
}

function hostEndpoint(h: WireHost, insecureList: string[], loopback: boolean): Endpoint {
  const url = new URL(h.url);
  const ep = endpointFrom(url, h.role, insecureList, loopback);
  // hosts.toml's skip_verify and http→https fallback are the client's insecure rule for this host.
  const insecure = ep.insecure || h.httpFallback || h.skipVerify === true;
  const own = h.ref ? { ref: h.ref } : {};
  return { ...ep, insecure, pathPrefix: h.path.replace(/\/+$/, "").replace(/\/v2$/, ""), source: h.source, tls: h.tls, ...own };
}

function endpointFrom(url: URL, role: Endpoint["role"], insecureList: string[], loopback = true): Endpoint {
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
    insecure: scheme === "http" || isInsecureByConfig(url.host, hostname, insecureList, loopback),
    pathPrefix,
  };
}
