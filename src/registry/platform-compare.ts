import type { Platform } from "../model/facts";
import { normalizePlatform } from "./platform-normalize";

/**
 * containerd/platforms matchers and comparers (compare.go, platform_windows_compat.go):
 * which platforms a wanted one accepts, and which it prefers. platform.ts picks with them.
 */

// ---- Windows os.version compatibility (platform_windows_compat.go) ----

interface WinVersion {
  major: number;
  minor: number;
  build: number;
}
/** Stable-ABI LTSC builds, ascending: ltsc2022 (20348), ltsc2025 (26100). */
const COMPAT_LTSC = [20348, 26100];

function winVersion(s: string): WinVersion {
  const zero = { major: 0, minor: 0, build: 0 };
  if ((s.match(/\./g) ?? []).length < 2) return zero;
  const [maj, min, rest] = [s.split(".")[0]!, s.split(".")[1]!, s.split(".")[2]!];
  const num = (x: string, max: number) => (/^\d+$/.test(x) && Number(x) <= max ? Number(x) : null);
  const major = num(maj, 255);
  const minor = num(min, 255);
  const build = num(rest, 65535);
  if (major === null || minor === null || build === null) return zero;
  return { major, minor, build };
}

function winCompatible(host: WinVersion, ctr: WinVersion): boolean {
  if (host.major !== ctr.major || host.minor !== ctr.minor) return false;
  if (host.build < COMPAT_LTSC[0]!) return host.build === ctr.build;
  // ltsc2025 itself still runs ltsc2022 images; hosts newer than it run from ltsc2025 on.
  const floor = host.build > COMPAT_LTSC[1]! ? COMPAT_LTSC[1]! : COMPAT_LTSC[0]!;
  return ctr.build >= floor && ctr.build <= host.build;
}

function osVersionMatch(os: string, want: string | undefined, have: string | undefined): boolean {
  if (os !== "windows") return true;
  const w = winVersion(want ?? "");
  if ((w.major === 0 && w.minor === 0 && w.build === 0) || !have) return true;
  return winCompatible(w, winVersion(have));
}

/** Every feature of `have` is in `want` (both sorted). */
function featuresSubset(have: readonly string[], want: readonly string[]): boolean {
  return have.every((f) => want.includes(f));
}

// ---- matchers and comparers (compare.go) ----

export interface MatchComparer {
  match(p: Platform): boolean;
  less(a: Platform, b: Platform): boolean;
}

/** containerd's NewMatcher: equal normalized os/arch/variant, os.version rules on Windows, features a subset. */
export function newMatcher(want: Platform): (p: Platform) => boolean {
  const w = normalizePlatform(want);
  return (p) => {
    const n = normalizePlatform(p);
    return (
      w.os === n.os &&
      w.architecture === n.architecture &&
      (w.variant ?? "") === (n.variant ?? "") &&
      osVersionMatch(w.os, w["os.version"], p["os.version"]) &&
      featuresSubset(n["os.features"] ?? [], w["os.features"] ?? [])
    );
  };
}

const nFeatures = (p: Platform) => (p["os.features"] ?? []).length;
const withoutFeatures = (p: Platform): Platform => {
  const { "os.features": _f, ...rest } = p;
  return rest;
};

/** containerd's Ordered: matches any, ranks by the first matcher that matches; more features first on a tie. */
export function ordered(...wants: Platform[]): MatchComparer {
  const ms = wants.map(newMatcher);
  const less = (a: Platform, b: Platform): boolean => {
    for (const m of ms) {
      const am = m(a);
      const bm = m(b);
      if (am && !bm) return true;
      if (am || bm) return am && bm && nFeatures(a) !== nFeatures(b) ? nFeatures(a) > nFeatures(b) : false;
    }
    if (nFeatures(a) > 0 || nFeatures(b) > 0) return less(withoutFeatures(a), withoutFeatures(b));
    return false;
  };
  return { match: (p) => ms.some((m) => m(p)), less };
}

/** containerd's Any: matches any, no preference among matches beyond feature count. */
export function anyOf(...wants: Platform[]): MatchComparer {
  const ms = wants.map(newMatcher);
  const less = (a: Platform, b: Platform): boolean => {
    let am = false;
    let bm = false;
    for (const m of ms) {
      if (!am && m(a)) am = true;
      if (!bm && m(b)) bm = true;
      if (am && bm) {
        if (nFeatures(a) !== nFeatures(b)) return nFeatures(a) > nFeatures(b);
        break;
      }
    }
    if (!am && !bm && (nFeatures(a) > 0 || nFeatures(b) > 0)) return less(withoutFeatures(a), withoutFeatures(b));
    return am && !bm;
  };
  return { match: (p) => ms.some((m) => m(p)), less };
}

/** strconv.Atoi of the variant without its "v"; null where Go's fails (and past 2^53, where a count-down could not step). */
function vn(variant: string | undefined): number | null {
  const s = (variant ?? "").replace(/^v/, "");
  const n = /^[+-]?\d+$/.test(s) ? parseInt(s, 10) : null;
  return n !== null && Number.isSafeInteger(n) ? n : null;
}

/**
 * How many lower variant levels platformVector lists below a wanted one. containerd lists
 * every level down to amd64/v1 or arm/v5, so `--platform linux/amd64/v99999999` made it
 * (and the doctor) build 10^8 matchers: a hang. Real levels stop at amd64/v4 and arm/v8; a
 * wanted variant more than 64 levels up keeps only the 64 nearest (and, for amd64, 386).
 */
export const MAX_VARIANT_STEPS = 64;

/** The platforms Only() accepts, best first (compare.go platformVector). */
export function platformVector(p: Platform): Platform[] {
  const vec: Platform[] = [p];
  const like = (architecture: string, variant: string): Platform => {
    const out: Platform = { ...p, architecture };
    if (variant) out.variant = variant;
    else delete out.variant;
    return out;
  };
  switch (p.architecture) {
    case "amd64": {
      const v = vn(p.variant);
      if (v !== null && v > 1) for (let i = v - 1; i >= Math.max(1, v - MAX_VARIANT_STEPS); i--) vec.push(like("amd64", `v${i}`));
      vec.push(like("386", ""));
      break;
    }
    case "arm": {
      const v = vn(p.variant);
      if (v !== null && v > 5) for (let i = v - 1; i >= Math.max(5, v - MAX_VARIANT_STEPS); i--) vec.push(like("arm", `v${i}`));
      break;
    }
    case "arm64": {
      let variant = p.variant || "v8";
      const dot = variant.indexOf(".");
      const majorS = dot < 0 ? variant : variant.slice(0, dot);
      let major = vn(majorS);
      if (major !== null && major >= 8) {
        let minor = 0;
        if (variant.length === 4 && dot >= 0) {
          const m = variant.slice(dot + 1);
          if (/^[+-]?\d+$/.test(m)) minor = parseInt(m, 10);
        }
        const push = (maj: number, min: number) => vec.push(like("arm64", min === 0 ? `v${maj}` : `v${maj}.${min}`));
        if (major === 9) {
          for (let i = minor - 1; i >= 0; i--) push(9, i);
          // v9.0 diverged from v8.5: v9.x is compatible with v8.(x+5), and v8 ends at v8.9
          minor = Math.min(minor + 5, 9);
          major = 8;
          vec.push(like("arm64", `v8.${minor}`));
        }
        for (let i = minor - 1; i >= 0; i--) push(major, i);
      }
      // Any arm64 v8.x/v9.x also runs 32-bit arm up to v8.
      if (variant.startsWith("v8") || variant.startsWith("v9")) variant = "v8";
      vec.push(...platformVector(like("arm", variant)));
      break;
    }
  }
  return vec;
}

/** containerd's Only: what `docker pull` and containerd use (lower variants, amd64 also 386, arm64 also arm). */
export function only(want: Platform): MatchComparer {
  return ordered(...platformVector(normalizePlatform(want)));
}

/** containerd's OnlyStrict: the same normalized platform only. */
export function onlyStrict(want: Platform): MatchComparer {
  return ordered(normalizePlatform(want));
}

/** containerd's OnlyOS: same OS (version, features), any architecture; the exact platform first. */
export function onlyOS(want: Platform): MatchComparer {
  const w = normalizePlatform(want);
  const exact = ordered(w);
  const matchOS = (p: Platform) => {
    const n = normalizePlatform(p);
    return (
      w.os === n.os &&
      osVersionMatch(w.os, w["os.version"], p["os.version"]) &&
      featuresSubset(n["os.features"] ?? [], w["os.features"] ?? [])
    );
  };
  return {
    match: matchOS,
    less: (a, b) => {
      const am = matchOS(a);
      if (am && !matchOS(b)) return true;
      if (!am) return false;
      return exact.less(a, b);
    },
  };
}

/** The comparer containerd uses on a Windows host: prefers the highest os.version among matches. */
export function windowsHost(want: Platform): MatchComparer {
  const m = newMatcher(want);
  return {
    match: m,
    less: (a, b) => {
      const am = m(a);
      const bm = m(b);
      if (am && bm) return (a["os.version"] ?? "") > (b["os.version"] ?? "");
      return am && !bm;
    },
  };
}
