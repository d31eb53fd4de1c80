import { runFlow } from "../../doctor/flow";
import { FAULTS, type InstalledFault, type NamedFault } from "../../lab/fault-catalogue";
import { type LabRegistry, type Scenario, startLabRegistry } from "../../lab/server";
import { type Deps, realDeps } from "../../model/deps";
import type { Options } from "../../model/options";
import { MemoryTrace } from "../../model/trace";
import { glyphs, unicodeSupported } from "../../ui/glyphs";
import type { Io } from "../../ui/io";
import { plainRenderer } from "../../ui/plain";
import { makeStyle } from "../../ui/style";

/** The host:port of an image reference's registry (scenarios live on two ports). */
const registryOf = (image: string) => image.split("/")[0]!;

export function scenarioCommand(s: Scenario, verb: string | null = "check"): string {
  return `pulldoctor ${verb ? `${verb} ` : ""}${s.image} --insecure-registry ${registryOf(s.image)}`;
}

/**
 * The command that shows a named fault: `pull` when the diagnosis finds nothing (the fault
 * hides in a layer the blob probe does not read, or the pull recovers from it), else `check`.
 * A short --timeout keeps the hanging ones (silent, drip, stall) brief. The outcomes listed are
 * classic Docker's (the e2e tests judge as it), so the command names that client: under
 * `--client auto` a host with containerd would judge otherwise (no /v2/ ping, its own retries).
 */
const FAULT_CLIENT = " --client docker --docker-store classic";

export function faultCommand(f: NamedFault, i: InstalledFault): string {
  const verb = f.expect.check.exit === 0 && f.expect.check.codes.length === 0 ? "pull" : "check";
  const login = i.credentials ? ` --username ${i.credentials.username} --password-stdin` : "";
  const stdin = i.credentials ? `echo ${i.credentials.password} | ` : "";
  const out = verb === "pull" ? ` --output oci:./${f.name}` : "";
  return `${stdin}pulldoctor ${verb} ${i.image}${i.insecure.map((h) => ` --insecure-registry ${h}`).join("")}${login}${FAULT_CLIENT} --timeout 3${out}`;
}

/** Every named fault on the demo's lab (or its own listeners); one that cannot start is reported, not fatal. */
async function installFaults(lab: LabRegistry): Promise<{ installed: { f: NamedFault; i: InstalledFault }[]; failed: string[] }> {
  const installed: { f: NamedFault; i: InstalledFault }[] = [];
  const failed: string[] = [];
  for (const f of FAULTS) {
    try {
      installed.push({ f, i: await f.install(lab) });
    } catch (e) {
      failed.push(`${f.name}: ${(e as Error).message}`);
    }
  }
  return { installed, failed };
}

function expectText(f: NamedFault): string {
  // A code with exit 0 is a warning: the run passes with it, which "check: CODE" alone does not say.
  const say = (o: NamedFault["expect"]["check"]) =>
    o.codes.length ? `${o.codes.join(", ")}${o.exit === 0 ? " (warning; exit 0)" : ""}` : o.exit === 0 ? "passes" : "fails";
  return `check: ${say(f.expect.check)}; pull: ${say(f.expect.pull)}`;
}

/**
 * `pulldoctor demo`: the lab registry on loopback with a healthy repository and one per
 * common failure; prints what to try and serves until Ctrl-C. `--tour` diagnoses each
 * scenario in turn, non-interactively: the product shown on a machine with no registry
 * and no internet. `until` (tests) replaces waiting for Ctrl-C.
 */
export async function demoCommand(options: Options, io: Io, until?: Promise<void>, deps?: Deps): Promise<number> {
  const st = makeStyle(io.color);
  const g = glyphs(unicodeSupported(process.env));
  let lab: LabRegistry;
  try {
    lab = await startLabRegistry({ port: options.port ?? 0, scenarios: true });
  } catch (err) {
    io.stderr(`pulldoctor: cannot start the lab registry on 127.0.0.1:${options.port ?? 0}: ${(err as Error).message}\n`);
    return 1;
  }
  let faults: Awaited<ReturnType<typeof installFaults>> = { installed: [], failed: [] };
  try {
    if (options.tour) return await tour(lab, options, io, deps);
    faults = await installFaults(lab);
    if (options.faults) {
      io.stdout(
        `${st.bold("pulldoctor lab registry")} on ${lab.url} with ${faults.installed.length} named faults (the fault-injection registry). Ctrl-C stops it.\n\n`,
      );
      for (const { f, i } of faults.installed) {
        io.stdout(`  ${st.bold(f.name)}  ${st.dim(`[${f.group}]`)} ${f.title}\n`);
        io.stdout(`    ${st.dim(expectText(f))}\n`);
        io.stdout(`    ${st.cyan(faultCommand(f, i))}\n\n`);
      }
      for (const why of faults.failed) io.stdout(`  ${st.red(g.status.fail)} not served: ${why}\n`);
      await (until ?? waitForInterrupt());
      io.stdout(`\n${g.status.pass} lab registry stopped\n`);
      return 0;
    }
    io.stdout(`${st.bold("pulldoctor lab registry")} on ${lab.url} (plain HTTP, loopback only). Ctrl-C stops it.\n\n`);
    const width = Math.max(...lab.scenarios.map((s) => s.id.length));
    for (const s of lab.scenarios) {
      io.stdout(`  ${st.bold(s.id.padEnd(width))}  ${s.title}${s.expect ? st.dim(` (${s.expect})`) : ""}\n`);
      io.stdout(`  ${" ".repeat(width)}  ${st.dim(s.hint)}\n`);
      io.stdout(`  ${" ".repeat(width)}  ${st.cyan(scenarioCommand(s))}\n\n`);
    }
    const creds = lab.scenarios.find((s) => s.id === "credentials");
    io.stdout(`Walk through a fix interactively: ${st.cyan(scenarioCommand(lab.scenarios.find((s) => s.id === "tag")!, null))}\n`);
    if (creds)
      io.stdout(
        `Pull an image: ${st.cyan(`pulldoctor pull ${lab.scenarios[0]!.image} --insecure-registry ${lab.host} --output oci:./demo-image`)}\n`,
      );
    io.stdout(`Or let the doctor tour every scenario: ${st.cyan("pulldoctor demo --tour")}\n`);
    if (faults.installed.length)
      io.stdout(
        `${faults.installed.length} named faults are served too, at fault/<name>: ${st.cyan("pulldoctor demo --faults")} lists them with the command to try\n`,
      );
    await (until ?? waitForInterrupt());
    io.stdout(`\n${g.status.pass} lab registry stopped\n`);
    return 0;
  } finally {
    for (const { i } of faults.installed) await i.stop?.().catch(() => {});
    await lab.stop();
  }
}

function waitForInterrupt(): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolve();
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}

async function tour(lab: LabRegistry, options: Options, io: Io, deps: Deps = realDeps()): Promise<number> {
  const st = makeStyle(io.color);
  const g = glyphs(unicodeSupported(process.env));
  let matched = 0;
  io.stdout(
    `${st.bold("pulldoctor demo --tour")}: the lab registry on ${lab.url} has ${lab.scenarios.length} repositories, each broken in one way (one healthy).\n`,
  );
  for (const [i, s] of lab.scenarios.entries()) {
    io.stdout(
      `\n${st.bold(`${g.dash.repeat(2)} ${i + 1}/${lab.scenarios.length} ${s.title}`)}\n${st.dim(`$ ${scenarioCommand(s)}`)}\n${st.dim(s.hint)}\n\n`,
    );
    const opts: Options = {
      ...options,
      command: "check",
      tour: false,
      image: s.image,
      insecureRegistries: [...options.insecureRegistries, registryOf(s.image)],
      timeoutMs: Math.min(options.timeoutMs, 5000),
      // Each scenario is built to show the code classic Docker meets; auto would judge as this machine's client.
      ...(options.client === "auto" ? { client: "docker" as const, dockerStore: "classic" as const } : {}),
    };
    const renderer = plainRenderer({ write: io.stdout, color: io.color, verbose: options.verbose });
    const flow = await runFlow({ options: opts, deps, trace: new MemoryTrace(), onEvent: (e) => renderer.onEvent(e) });
    // Only a hook can cancel, and the tour gives none.
    if (flow.cancelled) throw new Error("the tour's flow was cancelled without a prompt");
    const report = flow.report;
    renderer.finish(report);
    const codes = report.findings.filter((f) => f.severity !== "info").map((f) => f.code as string);
    const ok = s.expect === null ? report.verdict.ok : codes.includes(s.expect);
    if (ok) matched++;
    const want = s.expect ?? "no error";
    io.stdout(
      ok
        ? `${st.green(g.status.pass)} diagnosed as expected: ${want}\n`
        : `${st.red(g.status.fail)} expected ${want}; found ${codes.join(", ") || "no finding"}\n`,
    );
  }
  io.stdout(
    `\n${st.bold("Tour done")}: ${matched}/${lab.scenarios.length} scenarios diagnosed as expected. \`pulldoctor explain CODE\` tells more about any code; \`pulldoctor demo\` keeps the lab running to try them yourself.\n`,
  );
  return matched === lab.scenarios.length ? 0 : 1;
}
