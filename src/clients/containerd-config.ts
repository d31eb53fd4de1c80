import { readLocalFile } from "../host/local-file";
import type { FileProblem } from "./profile";
import { lineOf } from "./profile";
import { parseTomlFile } from "./toml-file";

/**
 * containerd's config.toml, read for the CRI registry `config_path` and the CRI pull mode.
 * Keys by config version: 1 `plugins.cri.registry` (or the v2 name), 2
 * `plugins."io.containerd.grpc.v1.cri".registry`, 3 `plugins."io.containerd.cri.v1.images".registry`
 * (containerd/containerd:internal/cri/config/config.go, plugins/cri/images/plugin.go).
 */
export interface ContainerdConfig {
  path: string;
  found: boolean;
  version: number | null;
  /** As written, or null when unset. */
  configPath: string | null;
  /** Where it came from: "config.toml:12", or the default for this config version. */
  configPathSource: string;
  /** The roots CRI in local mode reads (config_path split on ':', filepath.SplitList). */
  roots: string[];
  /**
   * containerd 2.1+ CRI pulls through the transfer service unless a setting forces local mode
   * (internal/cri/config/config.go#CheckLocalImagePullConfigs); null when the config is pre-2.x.
   */
  transferMode: boolean | null;
  /** What forces local mode, when something does. */
  localBecause: string | null;
  problem: FileProblem | null;
}

/** containerd 2.x's CRI default on Linux (plugins/cri/images/plugin.go). */
export const CRI_DEFAULT_CONFIG_PATH = "/etc/containerd/certs.d:/etc/docker/certs.d";

/** What is known before the file's keys are read. */
function unread(file: string, found: boolean): ContainerdConfig {
  return {
    path: file,
    found,
    version: null,
    configPath: null,
    configPathSource: found ? "" : "config.toml absent",
    roots: [],
    transferMode: null,
    localBecause: null,
    problem: null,
  };
}

export function readContainerdConfig(file: string): ContainerdConfig {
  const base = unread(file, false);
  const r = readLocalFile(file);
  if (!r.ok) {
    if ("error" in r && r.error.code === "ENOENT") return base;
    const message = "error" in r ? `${r.error.code ?? ""} ${r.error.message}`.trim() : r.refused;
    return { ...base, found: true, problem: { path: file, line: null, column: null, message } };
  }
  return parseContainerdConfig(file, new TextDecoder().decode(r.bytes));
}

/** Pure: the text of config.toml to what CRI reads from it. */
export function parseContainerdConfig(file: string, text: string): ContainerdConfig {
  const base = unread(file, true);
  const parsed = parseTomlFile(file, text);
  if ("problem" in parsed) return { ...base, problem: parsed.problem };
  const doc = parsed.doc;
  const version = typeof doc.version === "number" ? doc.version : 1;
  const plugins = obj(doc.plugins);
  const images =
    version >= 3
      ? obj(plugins["io.containerd.cri.v1.images"])
      : obj(plugins["io.containerd.grpc.v1.cri"] ?? (version === 1 ? plugins.cri : undefined));
  const registry = obj(images.registry);
  const raw = registry.config_path;
  if (raw !== undefined && typeof raw !== "string")
    return {
      ...base,
      version,
      problem: { path: file, line: lineOf(text, "config_path"), column: null, message: "config_path must be a string" },
    };
  const configPath = typeof raw === "string" && raw !== "" ? raw : null;
  // containerd 1.x has no default config_path (only the deprecated registry.mirrors); 2.x has two roots.
  const effective = configPath ?? (version >= 3 ? CRI_DEFAULT_CONFIG_PATH : "");
  const localBecause = version >= 3 ? localModeReason(images, registry) : null;
  return {
    ...base,
    version,
    configPath,
    configPathSource: configPath ? `${file}:${lineOf(text, "config_path") ?? "?"}` : version >= 3 ? "containerd 2.x default" : "unset",
    roots: effective.split(":").filter((s) => s !== ""),
    transferMode: version >= 3 ? localBecause === null : null,
    localBecause,
  };
}

/** internal/cri/config/config.go#CheckLocalImagePullConfigs: settings the transfer service cannot honour. */
function localModeReason(images: Record<string, unknown>, registry: Record<string, unknown>): string | null {
  if (images.use_local_image_pull === true) return "use_local_image_pull = true";
  if (images.discard_unpacked_layers === true) return "discard_unpacked_layers = true";
  for (const k of ["mirrors", "configs", "auths"]) if (registry[k] !== undefined) return `deprecated registry.${k}`;
  if (images.max_concurrent_downloads !== undefined && images.max_concurrent_downloads !== 3) return "max_concurrent_downloads ≠ 3";
  if (images.image_pull_with_sync_fs === true) return "image_pull_with_sync_fs = true";
  if (images.disable_snapshot_annotations === false) return "disable_snapshot_annotations = false";
  return null;
}

function obj(v: unknown): Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
