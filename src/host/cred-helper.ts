import { accessSync, constants, statSync } from "node:fs";
import path from "node:path";
import { execBounded } from "./bounded-exec";
import { decodeFirstValue } from "./go-json";
import { GO_STRING, goStruct, unmarshal } from "./go-unmarshal";

/**
 * The credential helper protocol as docker/cli runs it (docker-credential-helpers
 * client): `docker-credential-NAME get`, the server URL on stdin, JSON
 * {ServerURL, Username, Secret} on stdout. Only stdout is read; errors are worded like
 * the client's "error getting credentials - err: %v, out: `%s`".
 */

export const HELPER_PREFIX = "docker-credential-";
/** credentials.errCredentialsNotFoundMessage: not an error, just "no credentials". */
export const NOT_FOUND_MESSAGE = "credentials not found in native keychain";
const MISSING_URL_MESSAGE = "no credentials server URL";
const MISSING_USERNAME_MESSAGE = "no credentials username";

/** Go's exec.LookPath over an injected PATH: regular files with an execute bit. */
export function lookPath(file: string, env: Readonly<Record<string, string | undefined>>): string | null {
  if (file.includes("/")) return isExecutable(file) ? file : null;
  for (const dir of (env.PATH ?? "").split(":")) {
    const p = path.join(dir === "" ? "." : dir, file);
    if (isExecutable(p)) return p;
  }
  return null;
}

function isExecutable(p: string): boolean {
  try {
    if (statSync(p).isDirectory()) return false;
    accessSync(p, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** One helper run, for evidence (stdout is kept only when it is not a credential). */
export interface HelperRun {
  helper: string;
  action: "get" | "list";
  /** What was written on stdin (a server URL, never a secret). */
  stdin: string;
  path: string | null;
  exitCode: number | null;
  signal: string | null;
  timedOut: boolean;
  durationMs: number;
  /** Trimmed stdout on failure (helpers print their error there); null on success. */
  failureOutput: string | null;
}

export type HelperAnswer =
  | { kind: "found"; username: string; secret: string; run: HelperRun }
  | { kind: "not-found"; run: HelperRun }
  | { kind: "missing"; error: string; run: HelperRun }
  | { kind: "failed"; error: string; run: HelperRun };

export interface HelperOptions {
  env: Readonly<Record<string, string | undefined>>;
  timeoutMs: number;
  signal?: AbortSignal;
}

const CREDENTIALS = goStruct("credentials.Credentials", { ServerURL: GO_STRING, Username: GO_STRING, Secret: GO_STRING });

/** `docker-credential-NAME get` for one server URL. */
export async function helperGet(name: string, serverUrl: string, opts: HelperOptions): Promise<HelperAnswer> {
  const r = await runHelper(name, "get", serverUrl, opts);
  if (r.kind !== "ok") return r;
  const parsed = decodeFirstValue(r.stdout);
  const error = parsed.error?.message ?? (parsed.value === null ? "EOF" : null);
  if (error) return { kind: "failed", error, run: { ...r.run, failureOutput: safeOutput(r.stdout) } };
  const creds = unmarshal<{ Username?: string; Secret?: string } | undefined>(parsed.value, CREDENTIALS);
  if (creds.error) return { kind: "failed", error: creds.error, run: r.run };
  return { kind: "found", username: creds.value?.Username ?? "", secret: creds.value?.Secret ?? "", run: r.run };
}

/** `docker-credential-NAME list`: server URL → username (used by GetAllCredentials). */
export async function helperList(
  name: string,
  opts: HelperOptions,
): Promise<{ ok: true; entries: Map<string, string>; run: HelperRun } | { ok: false; error: string; run: HelperRun }> {
  const r = await runHelper(name, "list", "unused", opts);
  if (r.kind === "not-found") return { ok: true, entries: new Map(), run: r.run };
  if (r.kind !== "ok") return { ok: false, error: r.error, run: r.run };
  const parsed = decodeFirstValue(r.stdout);
  if (parsed.error || parsed.value?.t !== "object") return { ok: false, error: parsed.error?.message ?? "EOF", run: r.run };
  return { ok: true, entries: new Map(parsed.value.entries.map(([k, v]) => [k, v.t === "string" ? v.v : ""])), run: r.run };
}

type RawRun =
  | { kind: "ok"; stdout: string; run: HelperRun }
  | { kind: "missing" | "failed"; error: string; run: HelperRun }
  | { kind: "not-found"; run: HelperRun };

async function runHelper(name: string, action: "get" | "list", stdin: string, opts: HelperOptions): Promise<RawRun> {
  const program = HELPER_PREFIX + name;
  const exe = lookPath(program, opts.env);
  const run: HelperRun = {
    helper: program,
    action,
    stdin,
    path: exe,
    exitCode: null,
    signal: null,
    timedOut: false,
    durationMs: 0,
    failureOutput: null,
  };
  const verb = action === "get" ? "getting" : "listing";
  if (exe === null) {
    return {
      kind: "missing",
      error: `error ${verb} credentials - err: exec: ${JSON.stringify(program)}: executable file not found in $PATH, out: \`\``,
      run,
    };
  }
  const res = await execBounded(exe, [action], { env: opts.env, stdin, timeoutMs: opts.timeoutMs, signal: opts.signal });
  run.durationMs = res.durationMs;
  run.exitCode = res.code;
  run.signal = res.signal;
  run.timedOut = res.timedOut;
  if (res.spawnError !== null)
    return { kind: "failed", error: `error ${verb} credentials - err: fork/exec ${exe}: ${res.spawnError}, out: \`\``, run };
  // A helper that answered but left a child holding stdout made Docker wait too: timed out.
  if (res.code === 0 && !res.timedOut) return { kind: "ok", stdout: res.stdout, run };
  const out = res.stdout.trim();
  run.failureOutput = safeOutput(out);
  if (out === NOT_FOUND_MESSAGE) return { kind: "not-found", run };
  let err = res.timedOut
    ? `timed out after ${opts.timeoutMs} ms (pulldoctor's limit; Docker would wait)`
    : res.signal
      ? `signal: ${signalName(res.signal)}`
      : `exit status ${res.code}`;
  if (out === MISSING_URL_MESSAGE || out === MISSING_USERNAME_MESSAGE) err = out;
  return { kind: "failed", error: `error ${verb} credentials - err: ${err}, out: \`${safeOutput(out)}\``, run };
}

export function signalName(s: string): string {
  return (
    (
      { SIGKILL: "killed", SIGTERM: "terminated", SIGSEGV: "segmentation fault", SIGABRT: "aborted", SIGINT: "interrupt" } as Record<
        string,
        string
      >
    )[s] ?? s
  );
}

/** Helper stdout quoted in evidence: printable, bounded, and never a JSON credential. */
export function safeOutput(s: string): string {
  const t = s.trim();
  if (/"Secret"\s*:/i.test(t)) return "<credential JSON withheld>";
  const clean = t.replace(/[^\x20-\x7e\t\n]/g, "?");
  return clean.length > 500 ? `${clean.slice(0, 500)}… (${clean.length} chars)` : clean;
}
