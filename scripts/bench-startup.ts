#!/usr/bin/env bun
/**
 * Start-up benchmark: runs each command ROUNDS times, alternating the order on every round
 * (a busy neighbour then slows every command alike), and prints the median and minimum wall
 * time of each, and each median over the first command's. The first command is the yardstick
 * (issue 15 compares `pulldoctor --version` with a compiled hello-world of the same Bun).
 * Usage: bun scripts/bench-startup.ts [--rounds N] [--warmup N] -- 'CMD ARGS' 'CMD ARGS' ...
 * Each command is split on spaces (no shell); its output is discarded, and a non-zero exit fails the run.
 */

const argv = process.argv.slice(2);
let rounds = 40;
let warmup = 3;
const commands: string[][] = [];
for (let i = 0; i < argv.length; i++) {
  const a = argv[i] ?? "";
  if (a === "--rounds") rounds = Number(argv[++i]);
  else if (a === "--warmup") warmup = Number(argv[++i]);
  else if (a !== "--") commands.push(a.split(" ").filter(Boolean));
}
if (commands.length === 0 || !(rounds > 0)) {
  console.error("usage: bun scripts/bench-startup.ts [--rounds N] [--warmup N] -- 'CMD ARGS' ...");
  process.exit(2);
}

function runOnce(cmd: string[]): number {
  const t0 = Bun.nanoseconds();
  const p = Bun.spawnSync(cmd, { stdout: "ignore", stderr: "pipe", stdin: "ignore" });
  const ms = (Bun.nanoseconds() - t0) / 1e6;
  if (p.exitCode !== 0) throw new Error(`${cmd.join(" ")} exited ${p.exitCode}: ${p.stderr.toString()}`);
  return ms;
}

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] ?? 0) : ((s[m - 1] ?? 0) + (s[m] ?? 0)) / 2;
};

for (let w = 0; w < warmup; w++) for (const c of commands) runOnce(c);
const samples = commands.map(() => [] as number[]);
for (let r = 0; r < rounds; r++) {
  const order = commands.map((_, i) => i);
  if (r % 2) order.reverse();
  for (const i of order) samples[i]?.push(runOnce(commands[i] ?? []));
}
const base = median(samples[0] ?? []);
console.log(`${rounds} alternating rounds, ${warmup} warm-up; wall ms`);
console.log("| command | median | min | × first |\n|---|---:|---:|---:|");
commands.forEach((c, i) => {
  const s = samples[i] ?? [];
  console.log(`| \`${c.join(" ")}\` | ${median(s).toFixed(1)} | ${Math.min(...s).toFixed(1)} | ${(median(s) / base).toFixed(2)} |`);
});
