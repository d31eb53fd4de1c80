import type { Platform } from "../model/facts";

/**
 * containerd/platforms' normalization (database.go: normalizeOS, normalizeArch; Normalize),
 * on its own so that parsing (platform.ts) and matching (platform-compare.ts) both use it
 * without importing each other.
 */

export function normalizeOS(os: string, hostOs = "linux"): string {
  if (os === "") return hostOs;
  const l = os.toLowerCase();
  return l === "macos" ? "darwin" : l;
}

export function normalizeArch(arch: string, variant: string): [string, string] {
  let a = arch.toLowerCase();
  let v = variant.toLowerCase();
  switch (a) {
    case "i386":
      a = "386";
      v = "";
      break;
    case "x86_64":
    case "x86-64":
    case "amd64":
      a = "amd64";
      if (v === "v1") v = "";
      break;
    case "aarch64":
    case "arm64":
      a = "arm64";
      // "9" → "v9", "v9.0" → "v9", and the default v8 ("8", "v8", "v8.0") is left unset.
      if (/^\d/.test(v)) v = `v${v}`;
      v = v.replace(/^(v\d+)\.0$/, "$1");
      if (v === "v8") v = "";
      break;
    case "armhf":
      a = "arm";
      v = "v7";
      break;
    case "armel":
      a = "arm";
      v = "v6";
      break;
    case "arm":
      if (v === "" || v === "7") v = "v7";
      else if (v === "5" || v === "6" || v === "8") v = `v${v}`;
      break;
  }
  return [a, v];
}

/** containerd's Normalize: aarch64→arm64, arm64/v8→arm64, armhf→arm/v7, x86_64→amd64, arm→arm/v7, sorted features. */
export function normalizePlatform(p: Platform, hostOs = "linux"): Platform {
  const [a, v] = normalizeArch(p.architecture ?? "", p.variant ?? "");
  const out: Platform = { os: normalizeOS(p.os ?? "", hostOs), architecture: a };
  if (v) out.variant = v;
  if (p["os.version"]) out["os.version"] = p["os.version"];
  const f = p["os.features"];
  if (f && f.length > 0) out["os.features"] = [...new Set([...f].sort())];
  return out;
}
