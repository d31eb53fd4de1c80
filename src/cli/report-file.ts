import { accessSync, constants, renameSync, statSync, writeFileSync } from "node:fs";
import path from "node:path";
import type { Report } from "../model/report";

/** Write a report atomically (temp file + rename): a half-written report never exists. */
export function writeReportFile(file: string, report: Report): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(report, null, 2) + "\n", { mode: 0o644 });
  renameSync(tmp, file);
}

/**
 * Why --report FILE cannot be written, or null. Asked before any network step: a missing
 * directory used to surface only after the whole diagnosis, as an internal error (exit 70).
 */
export function reportFileProblem(file: string): string | null {
  const dir = path.dirname(path.resolve(file));
  let st;
  try {
    st = statSync(dir);
  } catch {
    return `the directory ${dir} does not exist`;
  }
  if (!st.isDirectory()) return `${dir} is not a directory`;
  try {
    accessSync(dir, constants.W_OK);
  } catch {
    return `the directory ${dir} is not writable by this user`;
  }
  try {
    if (statSync(file).isDirectory()) return `${file} is a directory; give a file name, e.g. ${path.join(file, "pulldoctor-report.json")}`;
  } catch {
    // absent: it will be created
  }
  return null;
}
