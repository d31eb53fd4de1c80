import path from "node:path";
import { type Finding, finding } from "../model/finding";
import type { CredentialReach } from "../net/origin";
import { parseMirror } from "../registry/mirror-url";
import type { ClientInputs } from "./inputs";
import type { ClientHost, ClientJudgement, ClientProfile, DockerStore } from "./profile";

/**
 * dockerd with the classic (graphdriver) store: /v2/ ping first, challenges only from it
 * (moby/moby:daemon/pkg/registry/auth.go#PingV2Registry), daemon.json mirrors for docker.io only,
 * falling back on any error (daemon/internal/distribution/errors.go#continueOnError).
 */
export function dockerClassic(inp: ClientInputs): ClientJudgement {
  return {
    profile: dockerProfile({
      store: "classic",
      sender: "dockerd",
      hosts: dockerMirrorHosts(inp, "classic"),
      sentTo: "registry",
      behaviour: {
        pingsV2: true,
        retries401WithCredentials: false,
        plainHttp: "insecure registries and 127.0.0.0/8: https first, then http",
        retry: "a mirror is left on any error; blobs retried 5 times, attempt × 5 s apart",
        on429: null,
        shortNames: "docker.io/library/",
        reportsError: "last",
      },
    }),
    findings: contentTrust(inp),
    evidence: {},
  };
}

/**
 * What dockerd is with either store: the docker CLI's config.json and its helpers for credentials,
 * dockerd's own proxy settings (not the shell's), daemon.json/certs.d fixes.
 */
export function dockerProfile(p: {
  store: DockerStore;
  sender: string;
  hosts: ClientHost[];
  sentTo: CredentialReach;
  behaviour: ClientProfile["behaviour"];
}): ClientProfile {
  return {
    name: "docker",
    store: p.store,
    label: `docker (${p.store} store)`,
    sender: p.sender,
    hosts: p.hosts,
    credentials: {
      from: ["config.json auths", "credential helpers (credHelpers, credsStore)"],
      sentTo: p.sentTo,
      source: { kind: "docker-config" },
    },
    proxyEnvironment: "dockerd's (its systemd unit, daemon.json proxies), not the shell's",
    unitProxy: null,
    behaviour: p.behaviour,
    fixesFor: "docker",
  };
}

/** daemon.json registry-mirrors (docker.io only) then the registry itself. */
export function dockerMirrorHosts(inp: ClientInputs, store: "classic" | "containerd"): ClientHost[] {
  const out: ClientHost[] = [];
  if (inp.ref.registry === "docker.io")
    for (const m of [...inp.daemon.mirrors, ...inp.options.mirrors]) {
      const p = parseMirror(m);
      if ("reason" in p) continue;
      const scheme = p.url.protocol === "http:" ? "http" : "https";
      out.push({
        url: `${scheme}://${p.url.host}`,
        host: p.url.host,
        scheme,
        path: `${p.url.pathname.replace(/\/+$/, "").replace(/\/v2$/, "")}/v2`,
        capabilities: store === "containerd" ? ["pull", "resolve"] : ["pull", "resolve"],
        // The containerd store's mirrors share docker.io's HTTP client, so its certs.d dir (moby daemon/hosts.go, inferred).
        tls: {
          ca: [],
          client: [],
          skipVerify: null,
          certFiles: store === "containerd" ? path.join(inp.options.certsDir, "docker.io") : null,
        },
        httpFallback: false,
        role: "mirror",
        source: "daemon.json registry-mirrors",
      });
    }
  const host = inp.ref.registry === "docker.io" ? "registry-1.docker.io" : inp.ref.registry;
  out.push({
    url: `https://${host}`,
    host,
    scheme: "https",
    path: "/v2",
    capabilities: ["pull", "resolve", "push"],
    tls: { ca: [], client: [], skipVerify: null, certFiles: path.join(inp.options.certsDir, inp.ref.registry) },
    httpFallback: false,
    role: "upstream",
    source: "the image's registry",
  });
  return out;
}

/** The docker CLI reads DOCKER_CONTENT_TRUST (docker/cli:cli/trust/trust.go); "1" or "true" turns it on. */
export function contentTrust(inp: ClientInputs): Finding[] {
  const v = inp.env.DOCKER_CONTENT_TRUST;
  if (v === undefined || !["1", "true"].includes(v.toLowerCase())) return [];
  return [
    finding("CONTENT_TRUST_ENABLED", { source: "the environment of this run", image: inp.ref.familiar }, { DOCKER_CONTENT_TRUST: v }),
  ];
}
