import { recognisePastedError } from "../../clients/pasted-error";
import type { Options } from "../../model/options";
import { glyphs, unicodeSupported } from "../../ui/glyphs";
import type { Io } from "../../ui/io";
import { pastedErrorText } from "../../ui/pasted-error";
import { makeStyle } from "../../ui/style";

/** A pasted `kubectl describe pod` is a few KiB; more than this is not an error message. */
const MAX_TEXT = 1 << 20;

/**
 * `pulldoctor explain --error TEXT|-`: which client printed a pull error, the codes it means and
 * the check that confirms it (SPEC "Pasted errors"). Offline. Exit 0 recognised, 1 not a pull error.
 */
export async function explainErrorCommand(options: Options, io: Io): Promise<number> {
  let text = options.errorText ?? "";
  if (text === "-") {
    text = await readStdin();
    if (text.trim() === "") {
      io.stderr("pulldoctor: explain --error -: standard input was empty (paste the error, then Ctrl-D)\n");
      return 2;
    }
  }
  const result = recognisePastedError(text.slice(0, MAX_TEXT));
  if (options.json) io.stdout(`${JSON.stringify({ schemaVersion: 1, kind: "pasted-error", ...result }, null, 2)}\n`);
  else io.stdout(pastedErrorText(result, makeStyle(io.color), glyphs(unicodeSupported(process.env))));
  return result.recognised ? 0 : 1;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of process.stdin) {
    chunks.push(Buffer.from(c));
    size += c.length;
    if (size > MAX_TEXT) break;
  }
  return Buffer.concat(chunks).toString("utf8");
}
