import { accessSync, constants, lstatSync, statSync } from "node:fs";
import path from "node:path";
import type { Report } from "../model/report";
import { writeFileAtomic } from "../pull/outputs/safe-file";
import type { Io } from "./io";

export { writeFileAtomic };

/**
 * A report names hosts, repositories, users and proxies, and is attached to tickets: it is
 * readable by its owner only (0600, as docker/cli writes config.json), whatever the umask.
 */
export const REPORT_MODE = 0o600;
/** A saved CA certificate is public and goes to certs.d, where dockerd (root) and users read it. */
export const CA_FILE_MODE = 0o644;

/** Write a report atomically, owner-only, replacing (never following) a symlink at FILE (see writeFileAtomic). */
export function writeReportFile(file: string, report: Report | unknown): void {
  writeFileAtomic(file, `${JSON.stringify(report, null, 2)}\n`, REPORT_MODE);
}

/**
 * --report FILE, checked before the run: a disk that fills or a directory removed meanwhile is
 * said on stderr, not a crash. Whether the report was written.
 */
export function writeReportOrSay(io: Io, file: string, report: Report | unknown): boolean {
  try {
    writeReportFile(file, report);
    return true;
  } catch (e) {
    io.stderr(`pulldoctor: could not write the report to ${file}: ${e instanceof Error ? e.message : String(e)}\n`);
    return false;
  }
}

/**
 * Why --report FILE cannot be written, or null. Asked before any network step: a missing
 * directory used to surface only after the whole diagnosis, as an internal error (exit 70).
 */
export function reportFileProblem(file: string): string | null {
  const dir = path.dirname(path.resolve(file));
  let st: ReturnType<typeof statSync>;
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
    // lstat: a symlink at FILE is replaced (never written through), whatever it points to.
    if (lstatSync(file).isDirectory()) return `${file} is a directory; give a file name, e.g. ${path.join(file, "pulldoctor-report.json")}`;
  } catch {
    // absent: it will be created
  }
  return null;
}
