import type { FindingCode } from "../../model/catalogue/index";
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

/** What each client prints for a code: one row per client with an example line (explain CODE, docs/findings.md). */
export function printedFor(code: FindingCode): { client: TextClient; label: string; texts: ErrorText[] }[] {
  return CLIENT_TEXTS.map((c) => ({ client: c.client, label: c.label, texts: c.texts.filter((t) => t.code === code && t.example) })).filter(
    (r) => r.texts.length > 0,
  );
}
