import { renameSync, writeFileSync } from "node:fs";
import type { Report } from "../model/report";

/** Write a report atomically (temp file + rename): a half-written report never exists. */
export function writeReportFile(file: string, report: Report): void {
  const tmp = `${file}.tmp-${process.pid}`;
  writeFileSync(tmp, JSON.stringify(report, null, 2) + "\n", { mode: 0o644 });
  renameSync(tmp, file);
}
