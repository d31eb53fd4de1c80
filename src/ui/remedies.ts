import { isCancel } from "@clack/core";
import type { RunResult } from "../doctor/run";
import type { Json } from "../model/evidence";
import type { Finding } from "../model/finding";
import type { Options } from "../model/options";
import { Secret } from "../model/secret";
import type { StageId } from "../model/stage";
import { bareHost } from "../net/origin";
import { tlsProbe } from "../net/tls";
import { lowercaseSuggestion } from "../stages/reference-outcome";
import { confirmYes, type PromptLook, type PromptStreams, selectOne, showNote, typeSecret, typeText } from "./prompts";
import { CA_FILE_MODE, writeFileAtomic } from "./report-file";
import type { Style } from "./style";

/**
 * The fixes that can be tried right now, from inside the doctor. Each answers with a
 * re-run: new options and the stage to re-run from (earlier stages' results are reused),
 * or nothing to re-run.
 */
export type Remedy = { kind: "rerun"; options: Options; from: StageId | null; what: string } | { kind: "none" } | { kind: "cancel" };

export interface RemedyUi {
  st: Style;
  /** Unicode rail symbols, else their ASCII fallbacks. */
  unicode: boolean;
  /** Where the prompts read keys and draw (default: the terminal); tests pass their own. */
  streams?: PromptStreams;
  say(s: string): void;
}

const look = (ui: RemedyUi): PromptLook => ({ st: ui.st, unicode: ui.unicode, streams: ui.streams });

const CREDENTIAL_CODES = new Set(["AUTH_CREDENTIALS_REQUIRED", "AUTH_UNAUTHORIZED", "AUTH_DENIED"]);
const TLS_CODES = new Set([
  "TLS_UNKNOWN_CA",
  "TLS_EXPIRED",
  "TLS_HOSTNAME_MISMATCH",
  "TLS_HANDSHAKE_FAILED",
  "PROXY_TLS_INTERCEPTION",
  "TLS_INSECURE_IN_USE",
]);

/** Whether a finding has a remedy the doctor can offer on the spot. */
export function hasRemedy(f: Finding): boolean {
  return (
    CREDENTIAL_CODES.has(f.code) ||
    TLS_CODES.has(f.code) ||
    ["REF_UPPERCASE", "MANIFEST_UNKNOWN", "PLATFORM_UNAVAILABLE", "RATE_LIMITED"].includes(f.code)
  );
}

/** First value under `key` anywhere in the evidence (stages nest their exchanges). */
export function findDeep(v: Json | undefined, key: string): Json | undefined {
  if (v === null || typeof v !== "object") return undefined;
  if (Array.isArray(v)) {
    for (const x of v) {
      const r = findDeep(x, key);
      if (r !== undefined) return r;
    }
    return undefined;
  }
  if (key in v && v[key] !== undefined) return v[key];
  for (const x of Object.values(v)) {
    const r = findDeep(x, key);
    if (r !== undefined) return r;
  }
  return undefined;
}

const strings = (v: Json | undefined): string[] => (Array.isArray(v) ? v.filter((x): x is string => typeof x === "string") : []);

/** "nginx:1.27" for Docker Hub, "host:port/repo:tag" otherwise: the name a user types. */
export function imageWithTag(run: RunResult, tag: string): string | null {
  const ref = run.localFacts.ref;
  if (!ref) return null;
  const name = ref.registry === "docker.io" ? ref.repository.replace(/^library\//, "") : `${ref.registry}/${ref.repository}`;
  return `${name}:${tag}`;
}

export async function offerRemedy(f: Finding, run: RunResult, options: Options, ui: RemedyUi): Promise<Remedy> {
  if (f.code === "REF_UPPERCASE") return await lowercase(options, ui);
  if (CREDENTIAL_CODES.has(f.code)) return await askCredentials(run, options, ui);
  if (f.code === "MANIFEST_UNKNOWN") return await chooseTag(f, run, options, ui);
  if (f.code === "PLATFORM_UNAVAILABLE") return await choosePlatform(f, options, ui);
  if (f.code === "RATE_LIMITED") return await rateLimited(f, run, options, ui);
  if (TLS_CODES.has(f.code)) return await saveChain(f, run, options, ui);
  return { kind: "none" };
}

async function lowercase(options: Options, ui: RemedyUi): Promise<Remedy> {
  if (!options.image) return { kind: "none" };
  const lowered = lowercaseSuggestion(options.image);
  if (lowered === options.image) return { kind: "none" };
  const go = await confirmYes(look(ui), `Repository names are lower case. Check ${lowered} instead?`);
  if (isCancel(go)) return { kind: "cancel" };
  return go ? { kind: "rerun", options: { ...options, image: lowered }, from: null, what: lowered } : { kind: "none" };
}

async function askCredentials(run: RunResult, options: Options, ui: RemedyUi): Promise<Remedy> {
  const registry = run.localFacts.ref?.registry ?? "the registry";
  const go = await confirmYes(look(ui), `Enter a username and password for ${registry}? (used for this run only, never stored)`);
  if (isCancel(go)) return { kind: "cancel" };
  if (!go) return { kind: "none" };
  const username = await typeText(look(ui), "Username", {
    initialValue: options.username ?? "",
    validate: (v) => (v.trim() ? undefined : "a username is needed"),
  });
  if (isCancel(username)) return { kind: "cancel" };
  const pw = await typeSecret(look(ui), "Password or access token", (v) => (v ? undefined : "a password is needed"));
  if (isCancel(pw)) return { kind: "cancel" };
  ui.say(ui.st.dim(`Re-checking with ${username.trim()}'s credentials from the config stage on (kept in memory only).`));
  // The config stage resolves credentials (--username wins over config.json), so re-run from there.
  return {
    kind: "rerun",
    options: { ...options, username: username.trim(), password: new Secret(pw) },
    from: "config",
    what: `as ${username.trim()}`,
  };
}

/** The closest tags first, then the other tags the finding names (the newest first), then "type another tag". */
async function chooseTag(f: Finding, run: RunResult, options: Options, ui: RemedyUi): Promise<Remedy> {
  const closest = strings(f.evidence.closestTags);
  const others = strings(f.evidence.tags).filter((t) => !closest.includes(t));
  const OTHER = "\u0000other";
  const SKIP = "\u0000skip";
  const picked = await selectOne<string>(
    look(ui),
    closest.length
      ? "The tag does not exist. Use one of the closest existing tags?"
      : others.length
        ? "The tag does not exist. Use one of the repository's tags?"
        : "The tag does not exist. Try another tag?",
    [
      ...closest.map((t) => ({ value: t, label: t, hint: "closest" })),
      ...others.map((t) => ({ value: t, label: t })),
      { value: OTHER, label: "Type another tag" },
      { value: SKIP, label: "No, leave it" },
    ],
  );
  if (isCancel(picked)) return { kind: "cancel" };
  if (picked === SKIP) return { kind: "none" };
  let tag = picked;
  if (picked === OTHER) {
    const typed = await typeText(look(ui), "Tag", {
      validate: (v) =>
        /^[\w][\w.-]{0,127}$/.test(v.trim()) ? undefined : "a tag is up to 128 of A-Z a-z 0-9 _ . - and does not start with . or -",
    });
    if (isCancel(typed)) return { kind: "cancel" };
    tag = typed.trim();
  }
  const image = imageWithTag(run, tag);
  if (!image) return { kind: "none" };
  // A new reference changes every fact from the reference stage on: a full re-run.
  return { kind: "rerun", options: { ...options, image }, from: null, what: image };
}

async function choosePlatform(f: Finding, options: Options, ui: RemedyUi): Promise<Remedy> {
  const platforms = strings(f.evidence.platforms);
  if (platforms.length === 0) return { kind: "none" };
  const picked = await selectOne<string>(
    look(ui),
    "No image for this platform. Check one of the platforms the index offers? (it will only run here under emulation)",
    [...platforms.map((p) => ({ value: p, label: p })), { value: "", label: "No, leave it" }],
  );
  if (isCancel(picked)) return { kind: "cancel" };
  if (!picked) return { kind: "none" };
  return { kind: "rerun", options: { ...options, platform: picked }, from: "manifest", what: `--platform ${picked}` };
}

async function rateLimited(f: Finding, run: RunResult, options: Options, ui: RemedyUi): Promise<Remedy> {
  const rl = (f.evidence.rateLimit ?? {}) as Record<string, Json>;
  const retry = typeof rl.retryAfterSeconds === "number" ? rl.retryAfterSeconds : null;
  const window =
    typeof rl.remainingWindowSeconds === "number"
      ? rl.remainingWindowSeconds
      : typeof rl.limitWindowSeconds === "number"
        ? rl.limitWindowSeconds
        : null;
  const at = (s: number) => new Date(Date.now() + s * 1000).toLocaleTimeString();
  if (retry !== null) ui.say(`The registry asks to retry after ${retry} s (about ${at(retry)}).`);
  else if (window !== null)
    ui.say(`The limit window is ${Math.round(window / 60)} min: pulls are allowed again by ${at(window)} at the latest.`);
  const hub = run.localFacts.ref?.registry === "docker.io";
  const configured = run.localFacts.local?.daemon.mirrors ?? [];
  if (!hub) return await askCredentials(run, options, ui);
  const mirror = await typeText(look(ui), "Try through a registry mirror (pull-through cache)? URL, or empty to skip", {
    initialValue: configured[0] ?? "",
    placeholder: "https://mirror.example.com",
    validate: (v) => (v.trim() === "" || /^https?:\/\/[^/\s]+/.test(v.trim()) ? undefined : "a URL like https://mirror.example.com"),
  });
  if (isCancel(mirror)) return { kind: "cancel" };
  if (!mirror.trim()) return { kind: "none" };
  // Mirrors change the endpoint plan: every endpoint stage runs again, local stages are reused.
  return {
    kind: "rerun",
    options: { ...options, mirrors: [...options.mirrors, mirror.trim()] },
    from: "dns",
    what: `through ${mirror.trim()}`,
  };
}

/** The PEM chain the endpoint presents: from the evidence, else from one more handshake (no verification). */
async function presentedPems(f: Finding, run: RunResult, options: Options): Promise<string[]> {
  const fromEvidence = strings(findDeep(f.evidence, "chainPem"));
  if (fromEvidence.length > 0 || !f.endpoint) return fromEvidence;
  const u = new URL(f.endpoint);
  const address = run.endpoints.find((e) => e.endpoint.url === f.endpoint)?.facts.resolution?.addresses[0]?.address;
  const probe = await tlsProbe({
    servername: bareHost(u.hostname),
    address,
    port: Number(u.port || 443),
    ca: [],
    timeoutMs: options.timeoutMs,
    now: new Date(),
  });
  return probe.chainPem;
}

async function saveChain(f: Finding, run: RunResult, options: Options, ui: RemedyUi): Promise<Remedy> {
  const chain = findDeep(f.evidence, "chain");
  if (Array.isArray(chain) && chain.length > 0) {
    const lines = chain.map((c, i) => {
      const o = (c ?? {}) as Record<string, Json>;
      return `${i}: ${o.subject ?? "?"}\n   issued by ${o.issuer ?? "?"}${o.notAfter ? `, valid until ${o.notAfter}` : ""}`;
    });
    showNote(look(ui), "Certificate chain the server presented", lines.join("\n"));
  }
  const pems = await presentedPems(f, run, options);
  if (pems.length === 0) {
    ui.say("The server presented no certificate to save.");
    return { kind: "none" };
  }
  const hostPort = f.endpoint ? new URL(f.endpoint).host : "registry";
  const host = hostPort.replace(/[:[\]]/g, "_");
  const go = await confirmYes(look(ui), "Save the presented CA certificate to a file, to inspect it (nothing is trusted automatically)?");
  if (isCancel(go)) return { kind: "cancel" };
  if (!go) return { kind: "none" };
  const file = await typeText(look(ui), "File", { initialValue: `${host}-ca.crt` });
  if (isCancel(file)) return { kind: "cancel" };
  // The last certificate of the chain is the one closest to the root: the CA to inspect.
  // A certificate is public: 0644 as certs.d expects; written atomically, never through a symlink at FILE.
  try {
    writeFileAtomic(file, `${pems[pems.length - 1]!.trimEnd()}\n`, CA_FILE_MODE);
  } catch (e) {
    ui.say(`Could not save ${file}: ${(e as Error).message}`);
    return { kind: "none" };
  }
  ui.say(`Saved. Inspect it: ${ui.st.cyan(`openssl x509 -in ${file} -noout -subject -issuer -dates -fingerprint -sha256`)}`);
  ui.say(
    `Only if it is your organisation's CA, trust it as Docker does: ${ui.st.cyan(`sudo mkdir -p /etc/docker/certs.d/${hostPort} && sudo cp ${file} /etc/docker/certs.d/${hostPort}/ca.crt`)}`,
  );
  return { kind: "none" };
}
