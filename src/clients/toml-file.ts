import { parse, TomlError } from "smol-toml";
import type { FileProblem } from "./profile";

/**
 * One TOML file's text as a table, or where it fails to parse: the parser's line and column
 * and the first line of its message (containerd and containers/image print go-toml's first
 * line too). Shared by config.toml, hosts.toml and registries.conf.
 */
export function parseTomlFile(file: string, text: string): { doc: Record<string, unknown> } | { problem: FileProblem } {
  try {
    return { doc: parse(text) as Record<string, unknown> };
  } catch (e) {
    const t = e instanceof TomlError ? e : null;
    const message = (e instanceof Error ? e.message : String(e)).split("\n")[0]!.replace(/^Invalid TOML document: /, "");
    return { problem: { path: file, line: t?.line ?? null, column: t?.column ?? null, message } };
  }
}
