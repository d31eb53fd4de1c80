import { readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import { buildManifest, manifestYaml } from "../../fleet/manifest";
import { type FleetNode, parseNodes } from "../../fleet/nodes";
import { readReports } from "../../fleet/reports";
import { summarize } from "../../fleet/summarize";
import { normalJit } from "../../host/jit";
import { InputCollector } from "../../inputs/read";
import { escapeControls } from "../../registry/http-util";
import type { Io } from "../../ui/io";
import { VERSION } from "../../version";

export const FLEET_USAGE = `Usage: pulldoctor fleet manifest [IMAGE... | -f FILE] [--nodes FILE|- | --daemonset]
                                [--image REF] [--namespace NS] [--client NAME] [--pull-secret NAME]...
       pulldoctor fleet summarize [FILE... | -] [--json] [--html FILE]

  manifest   Kubernetes YAML that runs 'pulldoctor check --json' on every node: one Job per
             node of 'kubectl get nodes -o json' (--nodes), or one DaemonSet (--daemonset)
  summarize  read the nodes' reports (JSON lines, report files, 'kubectl logs --prefix' output)
             and say which nodes cannot pull, and why

Exit status: manifest 0; summarize 0 every node can pull, 1 a node cannot or no report was read; 2 misuse.
`;

const CLIENTS = new Set(["auto", "docker", "containerd", "kubelet", "podman", "all"]);
const DEFAULT_NAMESPACE = "pulldoctor";

type Parsed = { values: Record<string, string[]>; bools: Set<string>; positionals: string[] };

/** Flags per subcommand: a value flag takes the next argument (or =VALUE). */
function parse(argv: string[], valueFlags: string[], boolFlags: string[]): Parsed | string {
  const out: Parsed = { values: {}, bools: new Set(), positionals: [] };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "-" || !arg.startsWith("-")) {
      out.positionals.push(arg);
      continue;
    }
    const eq = arg.startsWith("--") ? arg.indexOf("=") : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    if (boolFlags.includes(name) && eq < 0) out.bools.add(name);
    else if (valueFlags.includes(name)) {
      const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
      if (value === undefined || value === "") return `flag ${name} needs a value`;
      out.values[name] = [...(out.values[name] ?? []), value];
    } else return `unknown flag for fleet: ${name}`;
  }
  return out;
}

export async function fleetCommand(argv: string[], io: Io, stdin: () => Promise<string> = readStdin): Promise<number> {
  normalJit();
  const [sub, ...rest] = argv;
  const misuse = (msg: string) => {
    io.stderr(`pulldoctor fleet: ${escapeControls(msg)}\nRun 'pulldoctor fleet --help' for the usage.\n`);
    return 2;
  };
  if (sub === undefined || sub === "--help" || sub === "-h" || rest.includes("--help")) {
    io.stdout(FLEET_USAGE);
    return sub === undefined ? 2 : 0;
  }
  if (sub === "manifest") return await manifestCommand(rest, io, stdin, misuse);
  if (sub === "summarize") return await summarizeCommand(rest, io, stdin, misuse);
  if (sub === "hold") return await hold();
  return misuse(`unknown fleet command: ${sub} (manifest or summarize)`);
}

async function manifestCommand(argv: string[], io: Io, stdin: () => Promise<string>, misuse: (m: string) => number): Promise<number> {
  const p = parse(argv, ["-f", "--file", "--nodes", "--image", "--namespace", "--client", "--pull-secret"], ["--daemonset", "--no-color"]);
  if (typeof p === "string") return misuse(p);
  const images = [...p.positionals];
  const pullSecrets = [...(p.values["--pull-secret"] ?? [])];
  const files = [...(p.values["-f"] ?? []), ...(p.values["--file"] ?? [])];
  const nodesFile = p.values["--nodes"]?.at(-1);
  if (files.includes("-") && nodesFile === "-") return misuse("-f - and --nodes - cannot both read standard input");
  for (const file of files) {
    const text = readInput(file, stdin);
    const t = typeof text === "string" ? text : await text;
    if (t === null) return misuse(`-f ${file}: cannot read it`);
    const found = imagesOfFile(file, t);
    if ("error" in found) return misuse(found.error);
    if (found.images.length === 0) return misuse(`-f ${file} names no image`);
    for (const i of found.images) if (!images.includes(i)) images.push(i);
    for (const s of found.pullSecrets) if (!pullSecrets.includes(s)) pullSecrets.push(s);
  }
  if (images.length === 0) return misuse("fleet manifest needs an IMAGE (or -f FILE)");
  const client = p.values["--client"]?.at(-1) ?? "auto";
  if (!CLIENTS.has(client)) return misuse(`--client takes auto, docker, containerd, kubelet, podman or all, not "${client}"`);
  const namespace = p.values["--namespace"]?.at(-1);
  if (namespace !== undefined && !/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(namespace))
    return misuse(`--namespace ${namespace} is not a namespace name (lower case letters, digits and '-', at most 63)`);
  for (const s of pullSecrets)
    if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(s)) return misuse(`--pull-secret ${s} is not a Secret name`);
  const daemonset = p.bools.has("--daemonset");
  if (daemonset && nodesFile !== undefined)
    return misuse("--daemonset runs on every node by itself: give --nodes or --daemonset, not both");
  if (!daemonset && nodesFile === undefined)
    return misuse("fleet manifest needs --nodes FILE|- (the output of 'kubectl get nodes -o json') or --daemonset");

  let nodes: FleetNode[] | null = null;
  if (nodesFile !== undefined) {
    const source = nodesFile === "-" ? "- (standard input)" : nodesFile;
    const raw = readInput(nodesFile, stdin);
    const text = typeof raw === "string" || raw === null ? raw : await raw;
    if (text === null) return misuse(`--nodes ${source}: cannot read it`);
    const parsed = parseNodes(text, source);
    if (!parsed.ok) return misuse(parsed.error);
    for (const s of parsed.skipped) io.stderr(`pulldoctor fleet: skipped node ${s.name}: ${s.why} (the doctor's image is for Linux)\n`);
    if (parsed.nodes.length === 0) return misuse(`--nodes ${source} has no Linux node`);
    nodes = parsed.nodes;
  }
  const objects = buildManifest({
    images,
    image: p.values["--image"]?.at(-1) ?? `pulldoctor:${VERSION}`,
    namespace: namespace ?? DEFAULT_NAMESPACE,
    createNamespace: namespace === undefined,
    client,
    pullSecrets,
    nodes,
    version: VERSION,
  });
  io.stdout(manifestYaml(objects));
  return 0;
}

async function summarizeCommand(argv: string[], io: Io, stdin: () => Promise<string>, misuse: (m: string) => number): Promise<number> {
  const p = parse(argv, ["--html"], ["--json", "--no-color"]);
  if (typeof p === "string") return misuse(p);
  const names = p.positionals.length > 0 ? p.positionals : ["-"];
  if (names.filter((n) => n === "-").length > 1) return misuse("standard input (-) can be read once");
  const inputs: { name: string; text: string }[] = [];
  for (const name of names) {
    const raw = readInput(name, stdin);
    const text = typeof raw === "string" || raw === null ? raw : await raw;
    if (text === null) return misuse(`${name}: cannot read it`);
    inputs.push({ name: name === "-" ? "stdin" : name, text });
  }
  const read = readReports(inputs);
  const summary = summarize(read);
  if (read.reports.length === 0) {
    const why =
      read.skipped.length > 0
        ? `${read.skipped.length} line${read.skipped.length === 1 ? "" : "s"} read, none a report`
        : "the input is empty";
    io.stderr(`pulldoctor fleet summarize: no report to summarise: ${why}.\n`);
    if (p.bools.has("--json")) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
    return 1;
  }
  const htmlFile = p.values["--html"]?.at(-1);
  if (htmlFile !== undefined) {
    const { summaryHtml } = await import("../../fleet/html");
    try {
      const tmp = path.join(path.dirname(htmlFile), `.${path.basename(htmlFile)}.${process.pid}.tmp`);
      writeFileSync(tmp, summaryHtml(summary, read.reports));
      renameSync(tmp, htmlFile);
    } catch (e) {
      return misuse(`--html ${htmlFile}: cannot write it: ${(e as Error).message}`);
    }
  }
  if (p.bools.has("--json")) io.stdout(`${JSON.stringify(summary, null, 2)}\n`);
  else io.stdout((await import("../../fleet/text")).summaryText(summary));
  return summary.failing > 0 ? 1 : 0;
}

/**
 * `fleet manifest -f FILE`: the images and imagePullSecrets names, read by src/inputs (the parser
 * `check -f` uses; for kubectl output, every container, since the fleet checks nodes, not pods).
 * The pods cannot read the user's file, so the images become the check's arguments. A file that is
 * none of the formats and whose every line is an image is a plain list, one image per line.
 */
export function imagesOfFile(file: string, text: string): { images: string[]; pullSecrets: string[] } | { error: string } {
  const c = new InputCollector({ all: true, env: {}, cwd: process.cwd() });
  c.add(file, text);
  const r = c.done();
  const unrecognised = r.files.every((f) => f.formats.every((x) => x === "unrecognised"));
  if (r.images.length === 0 && unrecognised) {
    const lines = text
      .split(/\r?\n/)
      .map((l) => l.replace(/#.*$/, "").trim())
      .filter((l) => l !== "");
    if (lines.every((l) => /^[^\s]+$/.test(l))) return { images: [...new Set(lines)], pullSecrets: [] };
  }
  const bad = r.findings.find((f) => f.severity === "error");
  if (bad) return { error: `-f ${file}: ${bad.code}: ${bad.detail}` };
  return { images: r.images.map((i) => i.image), pullSecrets: [...new Set(r.images.flatMap((i) => i.pullSecrets))] };
}

/** A file's text, or standard input for "-"; null when the file cannot be read. */
function readInput(name: string, stdin: () => Promise<string>): string | null | Promise<string> {
  if (name === "-") return stdin();
  try {
    return readFileSync(name, "utf8");
  } catch {
    return null;
  }
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of process.stdin) chunks.push(Buffer.from(c));
  return Buffer.concat(chunks).toString("utf8");
}

/** `fleet hold`: the DaemonSet's idle container (its check ran as the init container). */
async function hold(): Promise<number> {
  return await new Promise((resolve) => {
    const timer = setInterval(() => {}, 1 << 30);
    process.once("SIGTERM", () => {
      clearInterval(timer);
      resolve(0);
    });
  });
}
