import { TextPrompt } from "@clack/core";
import { parseReference } from "../registry/reference";
import { rail } from "./glyphs";
import type { PromptStreams } from "./prompts";
import type { Style } from "./style";

/** What the typed text normalizes to, or why Docker would refuse it. */
export function normalizedHint(input: string): { ok: true; canonical: string } | { ok: false; error: string } {
  if (input.trim() === "") return { ok: false, error: "type an image, e.g. nginx or registry.example.com/team/app:1.0" };
  try {
    return { ok: true, canonical: parseReference(input.trim()).canonical };
  } catch (err) {
    return { ok: false, error: (err as Error).message };
  }
}

/**
 * Asks for the image, checking it as typed: under the input, the name Docker would pull
 * (docker.io/library/nginx:latest) or the reason Docker would refuse it.
 */
export async function askImage(st: Style, unicode: boolean, initial = "", streams?: PromptStreams): Promise<string | symbol> {
  const r = rail(unicode);
  const prompt = new TextPrompt({
    initialValue: initial,
    input: streams?.input,
    output: streams?.output,
    validate: (v: string) => {
      const h = normalizedHint(v ?? "");
      return h.ok ? undefined : h.error;
    },
    render() {
      const value: string = this.value ?? "";
      const shown = value ? (this as unknown as TextPrompt).valueWithCursor : st.dim("nginx:latest");
      const title = `${st.dim(r.bar)}\n${this.state === "submit" ? st.green(r.done) : this.state === "cancel" ? st.red(r.cancel) : st.cyan(r.active)}  Which image should be pulled?\n`;
      const h = normalizedHint(value);
      switch (this.state) {
        case "submit":
          return `${title}${st.dim(r.bar)}  ${st.dim(h.ok ? h.canonical : value)}`;
        case "cancel":
          return `${title}${st.dim(r.bar)}  ${st.dim(value)}`;
        case "error":
          return `${title}${st.yellow(r.bar)}  ${shown}\n${st.yellow(r.end)}  ${st.yellow(this.error)}\n`;
        default: {
          const hint =
            value === "" ? st.dim("as you would type it after docker pull") : h.ok ? `${st.green("→")} ${h.canonical}` : st.yellow(h.error);
          return `${title}${st.cyan(r.bar)}  ${shown}\n${st.cyan(r.bar)}  ${hint}\n${st.cyan(r.end)}\n`;
        }
      }
    },
  });
  const out = await prompt.prompt();
  return typeof out === "string" ? out.trim() : (out as symbol);
}
