import type { Readable, Writable } from "node:stream";
import { SelectPrompt, TextPrompt } from "@clack/core";
import { rail } from "./image-prompt";
import type { Style } from "./style";

/**
 * Prompts drawn on clack's core state machines, like clack's own select and text, but taking
 * clack's input and output streams (@clack/prompts 0.11 does not pass them through): a test
 * emits keypresses on `input` and reads what `output` received, as clack's own tests do.
 */
export interface PromptStreams {
  input?: Readable;
  output?: Writable;
}

export interface PromptLook {
  st: Style;
  unicode: boolean;
  streams?: PromptStreams;
}

export interface Choice<T> {
  value: T;
  label: string;
  hint?: string;
}

function title(look: PromptLook, state: string, message: string): string {
  const { st } = look;
  const r = rail(look.unicode);
  const mark = state === "submit" ? st.green(r.done) : state === "cancel" ? st.red(r.cancel) : st.cyan(r.active);
  return `${st.dim(r.bar)}\n${mark}  ${message}\n`;
}

/** One of `options`, or clack's cancel symbol (Ctrl-C, Escape). */
export async function selectOne<T>(look: PromptLook, message: string, options: Choice<T>[], initialValue?: T): Promise<T | symbol> {
  const { st } = look;
  const r = rail(look.unicode);
  const on = look.unicode ? "●" : ">";
  const off = look.unicode ? "○" : " ";
  const prompt = new SelectPrompt<Choice<T>>({
    options,
    initialValue,
    input: look.streams?.input,
    output: look.streams?.output,
    render() {
      const self = this as unknown as SelectPrompt<Choice<T>>;
      const head = title(look, this.state, message);
      const chosen = self.options[self.cursor]!;
      if (this.state === "submit") return `${head}${st.dim(r.bar)}  ${st.dim(chosen.label)}`;
      if (this.state === "cancel") return `${head}${st.dim(r.bar)}  ${st.dim(chosen.label)}\n${st.dim(r.bar)}`;
      const lines = self.options.map((o, i) =>
        i === self.cursor
          ? `${st.cyan(r.bar)}  ${st.green(on)} ${o.label}${o.hint ? ` ${st.dim(`(${o.hint})`)}` : ""}`
          : `${st.cyan(r.bar)}  ${st.dim(off)} ${st.dim(o.label)}`,
      );
      return `${head}${lines.join("\n")}\n${st.cyan(r.end)}\n`;
    },
  });
  return (await prompt.prompt()) as T | symbol;
}

/** A line of text (trimmed), checked by `validate` as it is submitted, or clack's cancel symbol. */
export async function typeText(look: PromptLook, message: string, validate: (v: string) => string | undefined): Promise<string | symbol> {
  const { st } = look;
  const r = rail(look.unicode);
  const prompt = new TextPrompt({
    validate: (v: string) => validate(v ?? ""),
    input: look.streams?.input,
    output: look.streams?.output,
    render() {
      const value: string = this.value ?? "";
      const head = title(look, this.state, message);
      const shown = (this as unknown as TextPrompt).valueWithCursor;
      switch (this.state) {
        case "submit":
        case "cancel":
          return `${head}${st.dim(r.bar)}  ${st.dim(value)}`;
        case "error":
          return `${head}${st.yellow(r.bar)}  ${shown}\n${st.yellow(r.end)}  ${st.yellow(this.error)}\n`;
        default:
          return `${head}${st.cyan(r.bar)}  ${shown}\n${st.cyan(r.end)}\n`;
      }
    },
  });
  const out = await prompt.prompt();
  return typeof out === "string" ? out.trim() : (out as symbol);
}
