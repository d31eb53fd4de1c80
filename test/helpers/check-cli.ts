import { expect } from "bun:test";
import { readFileSync } from "node:fs";
import path from "node:path";
import { type RunOutput, runCli } from "./binary";
import { codesOf, type Finding, findingOf, type Stage, stageOf } from "./report";
import { type NsFiles, runInNs } from "./run-in-ns";
import { expectNoSecrets, expectValidReport } from "./schema";

export interface CheckCliOptions {
  /** `pull` runs the same way (default `check`). */
  command?: "check" | "pull";
  /** The test's temp HOME: reports, the absent daemon.json and the empty certs.d live there. */
  home: string;
  /** --timeout in seconds (default 3). */
  timeout?: number;
  env?: Record<string, string>;
  stdin?: string;
  /** Strings that must appear in no output (stdout, stderr, the report file); a JWT may not either. */
  secrets?: string[];
  /**
   * Run in a private mount namespace (run-in-ns.ts) whose /etc/hosts, /etc/resolv.conf and
   * /etc/nsswitch.conf are these (written into `home`; `{}` for the defaults: localhost only, a
   * dead loopback nameserver): for every run that resolves a name. No stdin there.
   */
  ns?: NsFiles;
}

export interface CheckCli {
  r: RunOutput;
  report: any;
  /** stdout, stderr and the --report file, for assertions about everything the run wrote. */
  all: string;
  findings: Finding[];
  /** "CODE:severity" of every finding. */
  codes: string[];
  codesOf(stage: string): string[];
  /** The finding with this code; fails naming the code and the codes the report has. */
  find(code: string): Finding;
  /** The stage result with this id; fails naming it. */
  stage(id: string): Stage;
}

let n = 0;

/**
 * `pulldoctor check IMAGE --json --report FILE …flags` (or `pull`) through the compiled binary, kept away
 * from this machine's Docker setup (no daemon.json, an empty certs.d) unless `flags` name their
 * own. Both the printed and the written report must be schema-valid, and no secret may show.
 */
export async function checkCli(image: string, flags: string[], o: CheckCliOptions): Promise<CheckCli> {
  const reportFile = path.join(o.home, `report-${process.pid}-${++n}.json`);
  const unless = (flag: string, value: string) => (flags.includes(flag) ? [] : [flag, value]);
  const args = [
    o.command ?? "check",
    image,
    "--json",
    "--report",
    reportFile,
    ...unless("--daemon-config", path.join(o.home, "none.json")),
    ...unless("--certs-dir", path.join(o.home, "certs.d")),
    ...unless("--timeout", String(o.timeout ?? 3)),
    // Judged as classic Docker unless told: runCli and runInNs pin it (test/helpers/binary.ts pinClient),
    // since `auto` would read this machine's /etc/containerd and judge as ctr, which reads no config.json.
    ...flags,
  ];
  if (o.ns && o.stdin !== undefined) throw new Error("checkCli: a namespaced run reads no stdin");
  const r = o.ns
    ? await runInNs(args, { home: o.home, dir: o.home, files: o.ns, env: o.env })
    : await runCli(args, { home: o.home, env: o.env, stdin: o.stdin });
  let report: any;
  try {
    report = JSON.parse(r.stdout);
  } catch {
    throw new Error(
      `${o.command ?? "check"} ${image}: no JSON report (exit ${r.code}): ${r.stdout.slice(0, 300)} ${r.stderr.slice(0, 600)}`,
    );
  }
  expectValidReport(report);
  const file = readFileSync(reportFile, "utf8");
  expectValidReport(JSON.parse(file));
  const all = r.stdout + r.stderr + file;
  if (o.secrets) {
    expectNoSecrets(all, o.secrets);
    // Nor any JWT (header.payload starting with base64url of '{"'), whoever signed it.
    expect(all).not.toMatch(/eyJ[A-Za-z0-9_-]{8,}\.eyJ/);
  }
  return {
    r,
    report,
    all,
    findings: report.findings as Finding[],
    codes: codesOf(report),
    codesOf: (stage) => codesOf(report, stage),
    find: (code) => findingOf(report, code),
    stage: (id) => stageOf(report, id),
  };
}
