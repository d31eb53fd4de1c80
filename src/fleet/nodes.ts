/** A node from `kubectl get nodes -o json`: what the manifest needs of it. */
export interface FleetNode {
  name: string;
  os: string;
  arch: string;
  /** status.nodeInfo.containerRuntimeVersion, e.g. "containerd://1.7.22". */
  runtime: string;
}

export type NodesResult = { ok: true; nodes: FleetNode[]; skipped: { name: string; why: string }[] } | { ok: false; error: string };

/**
 * Reads a NodeList (or a List of Nodes, or one Node) as kubectl prints it. Windows nodes are
 * skipped and counted: the doctor's image is a Linux binary (Eraser skips them the same way).
 * `source` names the input in every error ("nodes.json", "standard input").
 */
export function parseNodes(text: string, source: string): NodesResult {
  if (text.trim() === "") return { ok: false, error: `--nodes ${source} is empty: give it the output of 'kubectl get nodes -o json'` };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    const hint = /^\s*[\w.-]+:(\s|$)/m.test(text) ? " (it looks like YAML: use 'kubectl get nodes -o json')" : "";
    return { ok: false, error: `--nodes ${source} is not JSON${hint}: ${(e as Error).message}` };
  }
  const items = nodeItems(doc);
  if (!items) return { ok: false, error: `--nodes ${source} is not a list of nodes: expected the output of 'kubectl get nodes -o json'` };
  const nodes: FleetNode[] = [];
  const skipped: { name: string; why: string }[] = [];
  const seen = new Set<string>();
  for (const [i, item] of items.entries()) {
    const node = readNode(item);
    if (typeof node === "string") return { ok: false, error: `--nodes ${source}: item ${i}: ${node}` };
    if (seen.has(node.name)) continue;
    seen.add(node.name);
    if (node.os !== "" && node.os !== "linux") skipped.push({ name: node.name, why: `${node.os} node` });
    else nodes.push(node);
  }
  if (nodes.length === 0 && skipped.length === 0) return { ok: false, error: `--nodes ${source} lists no nodes` };
  return { ok: true, nodes, skipped };
}

function nodeItems(doc: unknown): unknown[] | null {
  if (!isObject(doc)) return null;
  if (doc.kind === "Node") return [doc];
  if (Array.isArray(doc.items) && (doc.kind === "NodeList" || doc.kind === "List" || doc.kind === undefined)) return doc.items;
  return null;
}

function readNode(item: unknown): FleetNode | string {
  if (!isObject(item)) return "not an object";
  if (item.kind !== undefined && item.kind !== "Node") return `a ${String(item.kind)}, not a Node`;
  const meta = isObject(item.metadata) ? item.metadata : {};
  const name = meta.name;
  if (typeof name !== "string" || !/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name))
    return `metadata.name ${JSON.stringify(name ?? null)} is not a node name`;
  const labels = isObject(meta.labels) ? meta.labels : {};
  const info = isObject(item.status) && isObject(item.status.nodeInfo) ? item.status.nodeInfo : {};
  const os = str(info.operatingSystem) || str(labels["kubernetes.io/os"]);
  const arch = str(info.architecture) || str(labels["kubernetes.io/arch"]);
  return { name, os, arch, runtime: str(info.containerRuntimeVersion) };
}

function str(v: unknown): string {
  return typeof v === "string" ? v : "";
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
