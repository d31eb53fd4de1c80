#!/usr/bin/env bun
/**
 * Records what the real clients print when a pull fails, into
 * test/vectors/pasted-errors/recorded.json (the texts `explain --error` must recognise).
 * Needs root and the Debian peers (containerd/ctr, skopeo, podman, docker.io, docker-registry);
 * every server runs on 127.0.0.1 under a temp dir (test/peers/pasted-errors-lab.ts).
 *   bun scripts/record-pasted-errors.ts             all clients
 *   bun scripts/record-pasted-errors.ts ctr skopeo  only these
 */
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { type PeerClient, type Recording, SCENARIOS, type Scenario, startPastedLab } from "../test/peers/pasted-errors-lab";

export const RECORDED = path.join(import.meta.dir, "..", "test", "vectors", "pasted-errors", "recorded.json");

/** The version line of each client (and server), as printed by the binary itself. */
function version(cmd: string[]): string {
  const r = spawnSync(cmd[0]!, cmd.slice(1), { encoding: "utf8" });
  return `${r.stdout}${r.stderr}`.trim().split("\n")[0] ?? "";
}

const wanted = (process.argv.slice(2) as PeerClient[]).filter((c) => c in SCENARIOS);
const clients: PeerClient[] = wanted.length ? wanted : ["ctr", "skopeo", "podman", "docker"];
const lab = await startPastedLab({ docker: clients.includes("docker"), containerd: clients.includes("ctr") });
const versions: Record<string, string> = {
  ctr: version(["ctr", "--version"]),
  containerd: version(["containerd", "--version"]),
  skopeo: version(["skopeo", "--version"]),
  podman: version(["podman", "--version"]),
  docker: version(["docker", "--version"]),
  dockerd: version(["dockerd", "--version"]),
  "docker-registry": version(["docker-registry", "--version"]),
};
const out: (Recording & { version: string })[] = [];
try {
  for (const c of clients)
    for (const s of SCENARIOS[c] as Scenario[]) {
      const r = await lab.run(c, s);
      if (!r) continue;
      process.stderr.write(`${c} ${s}: exit ${r.exitCode}: ${r.text.split("\n").at(-1)}\n`);
      out.push({ ...r, version: c === "docker" ? `${versions.docker}; ${versions.dockerd}` : versions[c]! });
    }
} finally {
  await lab.stop();
}
// Recording some clients keeps the others' earlier recordings.
const earlier: (Recording & { version: string })[] = existsSync(RECORDED)
  ? JSON.parse(readFileSync(RECORDED, "utf8")).recordings.filter((r: Recording) => !clients.includes(r.client))
  : [];
writeFileSync(
  RECORDED,
  `${JSON.stringify({ recordedAt: new Date().toISOString().slice(0, 10), servers: versions["docker-registry"], recordings: [...earlier, ...out] }, null, 2)}\n`,
);
process.stdout.write(`wrote ${out.length} recordings to ${path.relative(process.cwd(), RECORDED)}\n`);
