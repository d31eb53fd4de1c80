import { existsSync } from "node:fs";
import path from "node:path";
import type { ClientPaths } from "../model/deps";
import type { ClientName, DockerStore } from "./profile";

export interface Detection {
  name: ClientName;
  store: DockerStore | null;
  /** kubelet only: which runtime it asks over CRI. */
  runtime: "containerd" | "cri-o" | null;
  /** What the choice was based on, in words, for the report. */
  basedOn: string;
  /** true when nothing on the host named a client and the SPEC's fallback was taken. */
  unsure: boolean;
}

/**
 * SPEC "Clients": a live Engine → docker (its /info says the store); containerd on a kubelet host →
 * kubelet; containerd → containerd; CRI-O or containers config without Docker → podman (CRI-O under
 * a kubelet → kubelet on CRI-O); else docker with the containerd store (Docker 29's default).
 */
export function detectClient(
  engine: { ok: boolean; source: string; imageStore?: DockerStore } | null,
  paths: ClientPaths | undefined,
  storeFlag: DockerStore | null,
): Detection {
  if (engine?.ok) {
    const store = storeFlag ?? engine.imageStore ?? "containerd";
    const why = storeFlag
      ? `--docker-store ${storeFlag}`
      : engine.imageStore
        ? `its /info reports the ${store} image store`
        : "no store in /info: Docker 29's default";
    return { name: "docker", store, runtime: null, basedOn: `a Docker Engine answers on ${engine.source} (${why})`, unsure: false };
  }
  const has = (p: string | undefined) => p !== undefined && existsSync(p);
  const containerd = paths ? [paths.containerdSocket, paths.containerdConfig].filter(has) : [];
  // CRI-O: its socket, /etc/crio (crio.conf or only crio.conf.d), or, on a kubelet host without
  // containerd, the containers/image config it reads (cri-o/cri-o:pkg/config/config.go defaults).
  const crio = paths ? [paths.crioSocket, paths.crioConfig, path.dirname(paths.crioConfig)].filter(has) : [];
  const kubelet = paths ? [paths.kubeletDir, path.join(paths.kubeletDir, "config.json")].filter(has) : [];
  const containers = paths
    ? [path.join(paths.containersDir, "registries.conf"), path.join(paths.containersDir, "policy.json")].filter(has)
    : [];
  if (kubelet.length > 0 && (containerd.length > 0 || crio.length > 0 || containers.length > 0)) {
    const runtime = containerd.length > 0 ? "containerd" : "cri-o";
    const seen = containerd.length > 0 ? containerd : crio.length > 0 ? crio : containers;
    return {
      name: "kubelet",
      store: null,
      runtime,
      basedOn: `kubelet (${kubelet[0]}) with ${runtime === "cri-o" ? "CRI-O" : runtime} (${[...new Set(seen)].join(", ")})`,
      unsure: false,
    };
  }
  if (containerd.length > 0)
    return {
      name: "containerd",
      store: null,
      runtime: null,
      basedOn: `containerd (${containerd.join(", ")}) and no Docker Engine answering`,
      unsure: false,
    };
  if (crio.length > 0 || containers.length > 0)
    return {
      name: "podman",
      store: null,
      runtime: null,
      basedOn: `containers/image config (${[...crio, ...containers].join(", ")}) and no Docker Engine answering`,
      unsure: false,
    };
  return {
    name: "docker",
    store: storeFlag ?? "containerd",
    runtime: null,
    basedOn: storeFlag
      ? `no client found on this host; --docker-store ${storeFlag}`
      : "no client found on this host: docker with the containerd store (Docker 29's default)",
    unsure: true,
  };
}
