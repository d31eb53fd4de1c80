import type { Platform } from "../model/facts";
import { type MatchComparer, only } from "./platform-compare";
import { normalizeArch, normalizeOS } from "./platform-normalize";

export { anyOf, type MatchComparer, newMatcher, only, onlyOS, onlyStrict, ordered, platformVector, windowsHost } from "./platform-compare";
export { normalizePlatform } from "./platform-normalize";

/**
 * containerd/platforms behaviour (the module docker pull and containerd vendor): parse a
 * specifier, normalize, format, and pick a manifest-list entry the way `docker pull`
 * does (filter with Only(want).Match, stable sort by Less, take the first). The
 * conformance vectors in test/vectors/platforms.json pin every rule here.
 */

const SPECIFIER_RE = /^[A-Za-z0-9_.-]+$/;
const OS_RE = /^([A-Za-z0-9_-]+)(?:\(([A-Za-z0-9_.%-]*)((?:\+[A-Za-z0-9_.%-]+)*)\))?$/;
// Go's regexp.String() of the patterns above, as quoted (%q) in containerd's errors.
const SPECIFIER_RE_Q = '"^[A-Za-z0-9_.-]+$"';
const OS_RE_Q = '"^([A-Za-z0-9_-]+)(?:\\\\(([A-Za-z0-9_.%-]*)((?:\\\\+[A-Za-z0-9_.%-]+)*)\\\\))?$"';

const KNOWN_OS = new Set(
  "aix android darwin dragonfly freebsd hurd illumos ios js linux nacl netbsd openbsd plan9 solaris windows zos".split(" "),
);
const KNOWN_ARCH = new Set(
  "386 amd64 amd64p32 arm armbe arm64 arm64be ppc64 ppc64le loong64 mips mipsle mips64 mips64le mips64p32 mips64p32le ppc riscv riscv64 s390 s390x sparc sparc64 wasm".split(
    " ",
  ),
);

/** Go's %q for the strings that appear in parse errors (ASCII input; enough for these texts). */
function q(s: string): string {
  return JSON.stringify(s);
}

function invalid(msg: string): Error {
  return new Error(`${msg}: invalid argument`);
}

function decodeOption(v: string, spec: string, what: string): string {
  if (!v.includes("%")) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    throw invalid(`${q(spec)} has an invalid ${what} ${q(v)}`);
  }
}

/**
 * containerd's Parse: `os[(version+feature…)]`, `arch`, `os/arch`, `os/arch/variant`.
 * A single component takes the missing OS or architecture from `host`. Throws an Error
 * whose message is containerd's exact text (what `docker pull --platform` prints).
 */
export function parsePlatform(spec: string, host: Platform): Platform {
  if (spec.includes("*")) throw invalid(`${q(spec)}: wildcards not yet supported`);
  // Go: strings.SplitN(specifier, "/", 4)
  const all = spec.split("/");
  const parts = all.length > 4 ? [...all.slice(0, 3), all.slice(3).join("/")] : all;
  const p: Platform = { os: "", architecture: "" };
  const m = OS_RE.exec(parts[0]!);
  if (!m) throw invalid(`${q(parts[0]!)} is an invalid OS component of ${q(spec)}: OSAndVersion specifier component must match ${OS_RE_Q}`);
  p.os = normalizeOS(m[1]!, host.os);
  const version = decodeOption(m[2] ?? "", spec, "OS version");
  if (version) p["os.version"] = version;
  if (m[3])
    p["os.features"] = m[3]
      .slice(1)
      .split("+")
      .map((f) => decodeOption(f, spec, "OS feature"));
  for (const part of parts.slice(1)) {
    if (!SPECIFIER_RE.test(part))
      throw invalid(`${q(part)} is an invalid component of ${q(spec)}: platform specifier component must match ${SPECIFIER_RE_Q}`);
  }
  const set = (arch: string, variant: string) => {
    p.architecture = arch;
    if (variant) p.variant = variant;
    else delete p.variant;
  };
  switch (parts.length) {
    case 1: {
      if (KNOWN_OS.has(p.os)) {
        // The host's architecture; an arm host keeps its CPU variant unless it is the default v7.
        set(host.architecture, host.architecture === "arm" && host.variant && host.variant !== "v7" ? host.variant : "");
        return p;
      }
      let [a, v] = normalizeArch(parts[0]!, "");
      if (a === "arm" && v === "v7") v = "";
      if (KNOWN_ARCH.has(a)) {
        const out: Platform = { os: host.os, architecture: a };
        if (v) out.variant = v;
        return out;
      }
      throw invalid(`${q(spec)}: unknown operating system or architecture`);
    }
    case 2: {
      let [a, v] = normalizeArch(parts[1]!, "");
      if (a === "arm" && v === "v7") v = "";
      set(a, v);
      return p;
    }
    case 3: {
      let [a, v] = normalizeArch(parts[1]!, parts[2]!);
      if (a === "arm64" && v === "") v = "v8";
      set(a, v);
      return p;
    }
  }
  throw invalid(`${q(spec)}: cannot parse platform specifier`);
}

function joinPath(...parts: string[]): string {
  return parts.filter((x) => x !== "").join("/");
}

/** containerd's Format: os/arch[/variant], "unknown" without an OS. */
export function formatPlatform(p: Platform): string {
  if (!p.os) return "unknown";
  return joinPath(p.os, p.architecture ?? "", p.variant ?? "");
}

/**
 * An OS version or feature as FormatAll writes it: `%`, `+`, `(`, `)` and `/` escaped as containerd
 * escapes them, and so is any other byte the specifier's pattern does not take (a decoded
 * `%00` is a NUL), so that what is written parses back to the same platform.
 */
const encodeOption = (v: string) =>
  v.replace(/[^A-Za-z0-9_.-]/gu, (c) =>
    [...new TextEncoder().encode(c)].map((b) => `%${b.toString(16).toUpperCase().padStart(2, "0")}`).join(""),
  );

/** containerd's FormatAll: also the OS version and features, `windows(10.0.17763+win32k)/amd64`. */
export function formatPlatformAll(p: Platform): string {
  if (!p.os) return "unknown";
  let opts = encodeOption(p["os.version"] ?? "");
  for (const f of [...(p["os.features"] ?? [])].sort()) if (f !== "") opts += `+${encodeOption(f)}`;
  return joinPath(opts ? `${p.os}(${opts})` : p.os, p.architecture ?? "", p.variant ?? "");
}

/**
 * Indexes of the entries `mc` accepts, best first: a stable sort by Less as moby's
 * filterManifests and containerd's images.Manifest do. Entries without a platform are
 * kept, sorted last (moby's filterManifests only drops entries whose platform does not
 * match), so a list of nothing but platform-less entries still yields one.
 */
export function rankPlatforms(mc: MatchComparer, entries: readonly (Platform | null)[]): number[] {
  return sortAll(mc, entries).filter((i) => entries[i] === null || mc.match(entries[i]!));
}

/** Every entry, stably sorted by Less (null entries last). */
export function sortAll(mc: MatchComparer, entries: readonly (Platform | null)[]): number[] {
  const idx = entries.map((_, i) => i);
  return idx.sort((i, j) => {
    const a = entries[i]!;
    const b = entries[j]!;
    if (a === null || b === null) return a === b ? 0 : a === null ? 1 : -1;
    return mc.less(a, b) ? -1 : mc.less(b, a) ? 1 : 0;
  });
}

/** The index entry `docker pull --platform` picks (Only + Less), or null ("no matching manifest for …"). */
export function selectPlatform(want: Platform, entries: (Platform | null)[]): number | null {
  return rankPlatforms(only(want), entries)[0] ?? null;
}
