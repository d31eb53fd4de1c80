import type { FindingCode } from "../../model/catalogue/index";
import { findImage } from "../pasted-image";
import { CONTAINERD_TEXTS } from "./containerd";
import { DOCKER_TEXTS } from "./docker";
import { GO_NET_TEXTS } from "./go-net";
import { KUBELET_TEXTS } from "./kubelet";
import { PODMAN_TEXTS } from "./podman";
import { REGISTRY_TEXTS } from "./registry-texts";
import type { ClientErrorTexts, ErrorText, TextClient } from "./types";

export type { ClientErrorTexts, ClientMarker, ErrorText, TextClient } from "./types";

/** Each client's texts, in the order `explain CODE` lists them. */
export const CLIENT_TEXTS: readonly ClientErrorTexts[] = [DOCKER_TEXTS, CONTAINERD_TEXTS, KUBELET_TEXTS, PODMAN_TEXTS];

/** Texts every client prints (the registry's error codes, Go's network and TLS errors). */
export const SHARED_TEXTS: readonly ErrorText[] = [...REGISTRY_TEXTS, ...GO_NET_TEXTS];

export interface PrintedRow {
  client: TextClient;
  label: string;
  /** The whole message, most specific wording first when a client has several. */
  example: string;
  versions: string | null;
  origin: "recorded" | "upstream";
  source: string;
}

/** What each client prints for a code: one row per client (explain CODE, docs/findings.md). */
export function printedFor(code: FindingCode): PrintedRow[] {
  const rows: PrintedRow[] = [];
  for (const c of CLIENT_TEXTS) {
    const t = c.texts.filter((x) => x.code === code && x.example).sort((a, b) => b.weight - a.weight)[0];
    if (t)
      rows.push({
        client: c.client,
        label: c.label,
        example: t.example!,
        versions: t.versions ?? null,
        origin: t.origin,
        source: t.source,
      });
    else if (c.client === "kubelet") {
      const inner = rows.find((r) => r.client === "containerd");
      if (inner) rows.push(kubeletRow(code, inner, c.label));
    }
  }
  return rows;
}

/** gRPC codes containerd's CRI gives (errgrpc.ToGRPC): NotFound for errdefs not-found, Unknown for the rest. */
const NOT_FOUND: readonly FindingCode[] = ["MANIFEST_UNKNOWN", "NAME_UNKNOWN", "BLOB_UNKNOWN", "PLATFORM_UNAVAILABLE"];

/**
 * kubelet prints the runtime's error inside its own words, so its row for a code is containerd's
 * text as CRI returns it: `Failed to pull image "IMG": rpc error: code = C desc = failed to pull
 * and unpack image "IMG": …` (kubernetes/kubernetes:pkg/kubelet/images/image_manager.go,
 * containerd/containerd:internal/cri/server/images/image_pull.go).
 */
function kubeletRow(code: FindingCode, containerd: PrintedRow, label: string): PrintedRow {
  const inner = containerd.example.replace(/^ctr: /, "");
  const img = findImage(inner)?.ref.canonical ?? "registry.example.com/team/app:1.0";
  const grpc = NOT_FOUND.includes(code) ? "NotFound" : "Unknown";
  return {
    client: "kubelet",
    label,
    example: `Failed to pull image "${img}": rpc error: code = ${grpc} desc = failed to pull and unpack image "${img}": ${inner}`,
    versions: "containerd's wording inside kubelet's; CRI-O's is podman's",
    origin: "upstream",
    source: "kubernetes/kubernetes:pkg/kubelet/images/image_manager.go around containerd's text",
  };
}
