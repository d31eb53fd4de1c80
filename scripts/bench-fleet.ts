#!/usr/bin/env bun
/**
 * How long `fleet summarize` takes for a large fleet (SPEC: 2,000 node reports in under 2 s).
 * Writes N synthetic reports in `kubectl logs --prefix` form (each about the size of a real
 * `check --json` report: every stage with evidence, 1 in 8 nodes failing with one of four
 * faults, an egress list), then times the compiled binary over the file: text, --json and
 * --html. Not a test: run it by hand (`bun scripts/bench-fleet.ts [N]`) on a quiet machine.
 */
import { mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

const n = Number(process.argv[2] ?? 2000);
const binary = process.env.PULLDOCTOR_TEST_BINARY || path.resolve(import.meta.dir, "../dist/pulldoctor");
const STAGES = ["reference", "config", "dns", "proxy", "connect", "v2", "auth", "manifest", "blob"];
const FAULTS = [
  { code: "DNS_SERVFAIL", stage: "dns", title: "The DNS server failed to answer (SERVFAIL/REFUSED)" },
  { code: "CONNECT_TIMEOUT", stage: "connect", title: "The connection timed out" },
  { code: "BLOB_REDIRECT_UNREACHABLE", stage: "blob", title: "Blobs are served from a host this machine cannot reach" },
  { code: "AUTH_UNAUTHORIZED", stage: "auth", title: "The registry rejected the credentials" },
];

function report(i: number): object {
  const fault = i % 8 === 3 ? FAULTS[i % FAULTS.length]! : null;
  const endpoint = "https://registry-1.docker.io";
  const failAt = fault ? STAGES.indexOf(fault.stage) : -1;
  const stages = STAGES.map((id, k) => ({
    id,
    endpoint: k < 2 ? null : endpoint,
    status: failAt === -1 || k < failAt ? "pass" : k === failAt ? "fail" : "skip",
    durationMs: k,
    summary: `${id}: ${"details ".repeat(6)}`,
    evidence: {
      servers: [`10.0.${i % 4}.2:53`],
      hostsFile: { addresses: null, lines: [] },
      queries: Array.from({ length: 4 }, (_, q) => ({
        server: "10.0.0.2:53",
        name: "registry-1.docker.io",
        type: q % 2 ? "AAAA" : "A",
        rcode: "NOERROR",
        answers: ["54.1.2.3", "54.1.2.4"],
        durationMs: 2,
      })),
      effective: { mirrors: i % 5 === 0 ? ["https://mirror.corp"] : [] },
      daemon: { dockerUses: i % 3 === 0 ? "http://proxy.corp:3128" : "direct" },
      note: "x".repeat(400),
    },
  }));
  const findings = fault
    ? [
        {
          ...fault,
          severity: "error",
          endpoint,
          detail: `node-${i}: ${fault.title}`,
          fixes: ["one fix", "another fix"],
          evidence: { host: "registry-1.docker.io" },
        },
      ]
    : [];
  return {
    schemaVersion: 1,
    tool: { name: "pulldoctor", version: "0.1.0" },
    createdAt: new Date(1_700_000_000_000 + i).toISOString(),
    host: { os: "linux", arch: "amd64", hostname: `node-${i}` },
    command: "check",
    input: { image: "nginx", platform: "linux/amd64" },
    image: null,
    stages,
    findings,
    verdict: { ok: !fault, code: fault?.code ?? null, summary: fault ? fault.title : "The pull should succeed." },
    pull: null,
    egress: [
      {
        host: "registry-1.docker.io",
        port: 443,
        scheme: "https",
        roles: ["registry"],
        addresses: [],
        via: "direct",
        observed: true,
        reached: true,
      },
      {
        host: "production.cloudflare.docker.com",
        port: 443,
        scheme: "https",
        roles: ["blob"],
        addresses: [],
        via: "direct",
        observed: true,
        reached: fault?.stage !== "blob",
      },
    ],
  };
}

const dir = mkdtempSync(path.join(os.tmpdir(), "pd-bench-fleet-"));
try {
  const logs = path.join(dir, "logs.txt");
  writeFileSync(
    logs,
    Array.from({ length: n }, (_, i) => `[pod/pulldoctor-node-${i}-abcde/check] ${JSON.stringify(report(i))}`).join("\n"),
  );
  console.log(`${n} reports, ${(statSync(logs).size / 1048576).toFixed(1)} MiB of logs`);
  for (const extra of [[], ["--json"], ["--html", path.join(dir, "fleet.html")]]) {
    const t0 = performance.now();
    const p = Bun.spawnSync([binary, "fleet", "summarize", logs, ...extra], { stdout: "pipe", stderr: "pipe" });
    const ms = performance.now() - t0;
    if (p.exitCode !== 1) throw new Error(`exit ${p.exitCode}: ${p.stderr}`);
    console.log(`fleet summarize ${extra.join(" ") || "(text)"}: ${ms.toFixed(0)} ms${ms < 2000 ? "" : "  (over the 2 s budget)"}`);
  }
} finally {
  rmSync(dir, { recursive: true, force: true });
}
