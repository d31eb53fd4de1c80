import { PassThrough, Writable } from "node:stream";
import type { RunResult } from "../../src/doctor/run";
import type { Finding } from "../../src/model/finding";
import type { Options } from "../../src/model/options";
import { offerRemedy } from "../../src/ui/remedies";
import { makeStyle, stripAnsi } from "../../src/ui/style";

/**
 * The input and output streams a prompt takes, as clack's own tests drive them: keys are
 * emitted as keypress events on `input`, and `screen()` is everything drawn on `output`
 * (escape codes removed).
 */
export function promptStreams() {
  const input = new PassThrough();
  const chunks: string[] = [];
  const output = new Writable({
    write(chunk, _enc, done) {
      chunks.push(String(chunk));
      done();
    },
  });
  const press = (name: string) => input.emit("keypress", "", { name });
  const type = (text: string) => {
    for (const ch of text) input.emit("keypress", ch, { name: ch });
  };
  /** Type `text` (if any), then Enter. */
  const enter = (text = "") => {
    type(text);
    press("return");
  };
  /** Backspace `n` times (clears a pre-filled value). */
  const erase = (n: number) => {
    for (let i = 0; i < n; i++) press("backspace");
  };
  return { input, output, press, type, enter, erase, screen: () => stripAnsi(chunks.join("")) };
}

/** Resolves once `screen()` shows `text` (the prompt has drawn it), or fails naming what was drawn. */
export async function waitForScreen(screen: () => string, text: string, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!screen().includes(text)) {
    if (Date.now() > until) throw new Error(`the prompt never drew ${JSON.stringify(text)}; it drew:\n${screen()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

/** Offer `f`'s remedy with its prompts on fresh streams: drive it with press/type, read screen(), await answer. */
export function askRemedy(f: Finding, run: RunResult, options: Options) {
  const io = promptStreams();
  const said: string[] = [];
  const answer = offerRemedy(f, run, options, {
    st: makeStyle(false),
    unicode: true,
    streams: { input: io.input, output: io.output },
    say: (s) => void said.push(s),
  });
  return { ...io, said, answer };
}
