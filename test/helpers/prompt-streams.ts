import { PassThrough, Writable } from "node:stream";
import { stripAnsi } from "../../src/ui/style";

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
  return { input, output, press, type, screen: () => stripAnsi(chunks.join("")) };
}

/** Resolves once `screen()` shows `text` (the prompt has drawn it), or fails naming what was drawn. */
export async function waitForScreen(screen: () => string, text: string, timeoutMs = 2000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!screen().includes(text)) {
    if (Date.now() > until) throw new Error(`the prompt never drew ${JSON.stringify(text)}; it drew:\n${screen()}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}
