import { CLIENT_CHOICES, type ClientChoice, type Command, defaultOptions, type Options } from "../model/options";
import { maskUserinfo } from "../model/redact";
import { plainArgs } from "./plain-args";

export { USAGE } from "./usage";

// The checks of --dns, --mirror, --limit-rate and --platform values are require()d when such a
// flag is given: in Bun's bundle a require() loads its module on the first call, so every other
// start (`--version`, `ref`, `explain`) loads none of the four (docs/performance.md, "Start-up of ref and explain").

export type ParsedArgs = { ok: true; options: Options; passwordStdin: boolean } | { ok: false; error: string };

const COMMANDS = new Set(["check", "pull", "ref", "explain", "demo", "egress", "help", "version"]);

type Kind = "bool" | "value" | "list";
const FLAGS: Record<string, { kind: Kind; key?: keyof Options }> = {
  "--json": { kind: "bool", key: "json" },
  "--report": { kind: "value", key: "reportFile" },
  "--platform": { kind: "value", key: "platform" },
  "--username": { kind: "value", key: "username" },
  "--docker-config": { kind: "value", key: "dockerConfig" },
  "--daemon-config": { kind: "value", key: "daemonConfig" },
  "--certs-dir": { kind: "value", key: "certsDir" },
  "--dns": { kind: "list", key: "dns" },
  "--insecure-registry": { kind: "list", key: "insecureRegistries" },
  "--mirror": { kind: "list", key: "mirrors" },
  "--timeout": { kind: "value", key: "timeoutMs" },
  "--output": { kind: "value", key: "output" },
  "--concurrency": { kind: "value", key: "concurrency" },
  "--verbose": { kind: "bool", key: "verbose" },
  "--yes": { kind: "bool", key: "yes" },
  "--tour": { kind: "bool", key: "tour" },
  "--faults": { kind: "bool", key: "faults" },
  "--port": { kind: "value", key: "port" },
  "--client": { kind: "value", key: "client" },
  "--docker-store": { kind: "value", key: "dockerStore" },
  "--containerd-config": { kind: "value", key: "containerdConfig" },
  "--hosts-dir": { kind: "list", key: "hostsDirs" },
  "--pull-secret": { kind: "list", key: "pullSecrets" },
  "--registries-conf": { kind: "value", key: "registriesConf" },
  "--plain-http": { kind: "bool", key: "plainHttp" },
  "--file": { kind: "list", key: "files" },
  "--all": { kind: "bool", key: "all" },
  "--all-tags": { kind: "bool", key: "allTags" },
  "--quiet": { kind: "bool", key: "quiet" },
  "--limit-rate": { kind: "value", key: "limitRate" },
  "--format": { kind: "value", key: "format" },
  "--error": { kind: "value", key: "errorText" },
  // Acted on by readFlags itself, not stored in Options.
  "--password-stdin": { kind: "bool" },
  "--no-color": { kind: "bool" },
  "--version": { kind: "bool" },
  "--help": { kind: "bool" },
};

/** The one-letter spellings: each is its long flag (errors still name the spelling that was typed). */
const SHORT: Record<string, string> = {
  "-o": "--output",
  "-y": "--yes",
  "-f": "--file",
  "-a": "--all-tags",
  "-q": "--quiet",
  "-h": "--help",
};

/**
 * argv (without the runtime and script) → Options. Pure: no I/O. Misuse is reported as an
 * error string; main prints it with the usage line and exits 2.
 */
export function parseArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ParsedArgs {
  return plainArgs(argv, env) ?? parseAllArgs(argv, env);
}

/** The whole parser: every flag, command and cross-flag rule (test/unit/args-plain.test.ts compares plainArgs with it). */
export function parseAllArgs(argv: readonly string[], env: Readonly<Record<string, string | undefined>> = {}): ParsedArgs {
  const o = defaultOptions();
  o.color = env.NO_COLOR === undefined || env.NO_COLOR === "";
  const r = readFlags(argv, o);
  if (!r.ok) return r;
  const { positionals, passwordStdin } = r;
  if (r.wantVersion) return { ok: true, options: { ...o, command: "version" }, passwordStdin };
  let command: Command = "interactive";
  if (positionals.length > 0 && COMMANDS.has(positionals[0]!)) command = positionals.shift() as Command;
  if (r.wantHelp) return { ok: true, options: { ...o, command: "help" }, passwordStdin };
  o.command = command;
  // With no flag but --no-color and nothing left over, no cross-flag rule can apply: `ref IMAGE`
  // and `explain CODE` do not compile them at start (docs/performance.md, "Start-up of ref and explain").
  const error =
    takePositionals(o, command, positionals) ??
    (r.optionFlags || positionals.length > 0 ? crossFlagError(o, command, positionals, passwordStdin) : null);
  if (error) return { ok: false, error };
  if (o.json) o.yes = true;
  return { ok: true, options: o, passwordStdin };
}

type ReadFlags =
  | { ok: true; positionals: string[]; passwordStdin: boolean; wantVersion: boolean; wantHelp: boolean; optionFlags: boolean }
  | { ok: false; error: string };

/** The flags into `o`, the rest as positionals. */
function readFlags(argv: readonly string[], o: Options): ReadFlags {
  const r = {
    ok: true as const,
    positionals: [] as string[],
    passwordStdin: false,
    wantVersion: false,
    wantHelp: false,
    optionFlags: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === "--") {
      r.positionals.push(...argv.slice(i + 1));
      break;
    }
    if (!arg.startsWith("-") || arg === "-") {
      r.positionals.push(arg);
      continue;
    }
    const eq = arg.indexOf("=");
    const name = eq > 0 && arg.startsWith("--") ? arg.slice(0, eq) : arg;
    const flag = SHORT[name] ?? name;
    const spec = FLAGS[flag];
    if (!spec) return { ok: false, error: `unknown flag: ${name}` };
    let value: string | undefined;
    if (spec.kind !== "bool") {
      if (eq > 0) value = arg.slice(eq + 1);
      else {
        value = argv[i + 1];
        if (value === undefined || (value.startsWith("-") && value !== "-")) return { ok: false, error: `flag ${name} needs a value` };
        i++;
      }
    } else if (eq > 0) {
      return { ok: false, error: `flag ${name} takes no value` };
    }
    if (flag === "--version") r.wantVersion = true;
    else if (flag === "--help") r.wantHelp = true;
    else if (flag === "--no-color") o.color = false;
    else if (flag === "--password-stdin") r.passwordStdin = r.optionFlags = true;
    else {
      const error = applyFlag(o, flag, spec, value);
      if (error) return { ok: false, error };
      r.optionFlags = true;
    }
  }
  return r;
}

/** One flag's value into `o`, checked where a wrong value is misuse; the error, or null. */
function applyFlag(o: Options, name: string, spec: (typeof FLAGS)[string], value: string | undefined): string | null {
  switch (name) {
    case "--timeout": {
      const s = Number(value);
      if (!Number.isFinite(s) || s <= 0 || s > 3600) return `--timeout takes seconds, more than 0 and at most 3600, not "${value}"`;
      o.timeoutMs = Math.round(s * 1000);
      return null;
    }
    case "--concurrency": {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 1 || n > 64) return `--concurrency takes a whole number from 1 to 64, not "${value}"`;
      o.concurrency = n;
      return null;
    }
    case "--port": {
      const n = Number(value);
      if (!Number.isInteger(n) || n < 0 || n > 65535) return `--port takes a port number, not "${value}"`;
      o.port = n;
      return null;
    }
    case "--dns":
      if (!(require("../net/dns-server") as typeof import("../net/dns-server")).parseServer(value!))
        return `--dns takes SERVER[:PORT] (an IP address; IPv6 as [ADDR]:PORT), not "${value}"`;
      o.dns.push(value!);
      return null;
    case "--mirror": {
      // dockerd refuses to start with such a registry-mirrors entry; as a flag it is misuse.
      const bad = (require("../registry/mirror-url") as typeof import("../registry/mirror-url")).mirrorUrlError(value!);
      if (bad) return `--mirror ${maskUserinfo(value!)}: ${bad}`;
      o.mirrors.push(value!);
      return null;
    }
    case "--client":
      if (!(CLIENT_CHOICES as readonly string[]).includes(value!)) return `--client takes ${CLIENT_CHOICES.join(", ")}, not "${value}"`;
      o.client = value as ClientChoice;
      return null;
    case "--docker-store":
      if (value !== "classic" && value !== "containerd") return `--docker-store takes classic or containerd, not "${value}"`;
      o.dockerStore = value;
      return null;
    case "--limit-rate":
      // curl's and wget's syntax; a cap that does not parse must not silently pull at full speed.
      o.limitRate = (require("../pull/rate-limit") as typeof import("../pull/rate-limit")).parseRate(value!);
      if (o.limitRate === null) return `--limit-rate takes bytes per second such as 10M or 500k, not "${value}"`;
      return null;
    case "--file":
      o.files = [...(o.files ?? []), value!];
      return null;
    case "--format":
      if (value !== "plain" && value !== "json" && value !== "csv") return `--format takes plain, json or csv, not "${value}"`;
      o.format = value;
      return null;
    case "--platform": {
      // containerd's Parse, as docker pull runs it before contacting anything: what it
      // refuses is misuse here too, and its words say why.
      const bad = platformError(value!);
      if (bad) return `--platform takes OS/ARCH[/VARIANT]: ${bad}`;
      o.platform = value!;
      return null;
    }
  }
  if (spec.kind === "bool") (o as unknown as Record<string, unknown>)[spec.key!] = true;
  else if (spec.kind === "list") (o as unknown as Record<string, string[]>)[spec.key!].push(value!);
  else (o as unknown as Record<string, unknown>)[spec.key!] = value;
  return null;
}

/** Each command's positional arguments into `o`; the error, or null. */
function takePositionals(o: Options, command: Command, positionals: string[]): string | null {
  switch (command) {
    case "check":
    case "pull":
      // check|pull -f FILE [IMAGE...]: many images, one batch report (and, for pull, one output).
      if (o.files?.length) {
        o.images = positionals.splice(0);
        o.image = o.images[0] ?? null;
        break;
      }
      if (positionals.length === 0) return `${command} needs an IMAGE`;
      o.image = positionals.shift()!;
      break;
    case "ref":
      if (positionals.length === 0) return `${command} needs an IMAGE`;
      o.image = positionals.shift()!;
      break;
    case "interactive":
      o.image = positionals.shift() ?? null;
      break;
    case "explain":
      o.code = positionals.shift() ?? null;
      break;
    case "egress":
      o.images = positionals.splice(0);
      o.image = o.images[0] ?? null;
      if (o.images.length === 0 && !o.files?.length) return "egress needs an IMAGE or -f FILE";
      break;
  }
  return null;
}

/** Flags that go only with some commands or with other flags; the error, or null. */
function crossFlagError(o: Options, command: Command, positionals: readonly string[], passwordStdin: boolean): string | null {
  if (o.files?.length && !["egress", "check", "pull"].includes(command) && !(command === "interactive" && !o.image))
    return "-f/--file is for check, pull, egress and the interactive doctor";
  if ((o.allTags || o.quiet || o.limitRate) && command !== "pull") return "--all-tags, --quiet and --limit-rate are for pull";
  if (o.allTags && o.files?.length) return "--all-tags pulls the tags of one repository: give an IMAGE, not -f";
  if (o.quiet && o.json) return "--quiet and --json both choose what stdout prints: give one";
  if (o.all && !o.files?.length) return "--all goes with -f FILE (kubectl get pods -o json output)";
  if (o.format && command !== "egress") return "--format is only for egress";
  if (positionals.length > 0) return `unexpected argument: ${positionals[0]}`;
  if (o.errorText !== null && command !== "explain")
    return "--error is for explain: pulldoctor explain --error TEXT (or - for standard input)";
  if (o.errorText !== null && o.code !== null) return "explain takes a CODE or --error TEXT, not both";
  if (o.errorText !== null && o.errorText.trim() === "") return "--error needs the error text (or - to read it from standard input)";
  if (o.output !== null && command !== "pull" && command !== "interactive") return "--output is only for pull";
  if (passwordStdin && !o.username) return "--password-stdin needs --username";
  // Without it the user name was silently ignored and the run went anonymous.
  if (o.username && !passwordStdin)
    return `--username needs --password-stdin (pipe the password or token in: echo "$TOKEN" | pulldoctor … --username ${o.username} --password-stdin)`;
  if (o.dockerStore !== null && o.client !== "docker" && o.client !== "auto" && o.client !== "all")
    return `--docker-store is for --client docker, not --client ${o.client}`;
  if (o.plainHttp && o.client !== "containerd" && o.client !== "auto" && o.client !== "all")
    return `--plain-http is ctr's (--client containerd), not --client ${o.client}`;
  if (o.pullSecrets.length > 0 && o.client !== "kubelet" && o.client !== "auto" && o.client !== "all")
    return `--pull-secret is for --client kubelet (kubelet reads pull secrets), not --client ${o.client}`;
  return null;
}

/** containerd's Parse error for a --platform value, or null when it parses. */
function platformError(spec: string): string | null {
  try {
    // The host only fills a missing OS or architecture; whether a specifier parses does not depend on it.
    (require("../registry/platform") as typeof import("../registry/platform")).parsePlatform(spec, { os: "linux", architecture: "amd64" });
    return null;
  } catch (e) {
    return (e as Error).message;
  }
}
