import type { Readable, Writable } from "node:stream";
import { ConfirmPrompt, PasswordPrompt, SelectPrompt, TextPrompt } from "@clack/core";
import { rail } from "./glyphs";
import { type Style, stripAnsi } from "./style";

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

export interface TextInput {
  initialValue?: string;
  placeholder?: string;
  validate?: (v: string) => string | undefined;
}

/** A line of text as typed, checked by `validate` as it is submitted, or clack's cancel symbol. */
export async function typeText(look: PromptLook, message: string, o: TextInput = {}): Promise<string | symbol> {
  const { st } = look;
  const prompt = new TextPrompt({
    initialValue: o.initialValue,
    validate: (v: string) => o.validate?.(v ?? ""),
    input: look.streams?.input,
    output: look.streams?.output,
    render() {
      const value: string = this.value ?? "";
      const head = title(look, this.state, message);
      const typed = (this as unknown as TextPrompt).valueWithCursor;
      const shown = value === "" && o.placeholder ? st.dim(o.placeholder) : typed;
      return body(look, this.state, head, shown, value, this.error);
    },
  });
  return (await prompt.prompt()) as string | symbol;
}

/** A password or token: shown masked while typed and after, never echoed. */
export async function typeSecret(look: PromptLook, message: string, validate: (v: string) => string | undefined): Promise<string | symbol> {
  const mask = look.unicode ? "•" : "*";
  const prompt = new PasswordPrompt({
    mask,
    validate: (v: string) => validate(v ?? ""),
    input: look.streams?.input,
    output: look.streams?.output,
    render() {
      const self = this as unknown as PasswordPrompt;
      const head = title(look, this.state, message);
      return body(look, this.state, head, self.valueWithCursor, self.masked, this.error);
    },
  });
  return (await prompt.prompt()) as string | symbol;
}

function body(look: PromptLook, state: string, head: string, shown: string, value: string, error: string): string {
  const { st } = look;
  const r = rail(look.unicode);
  switch (state) {
    case "submit":
    case "cancel":
      return `${head}${st.dim(r.bar)}  ${st.dim(value)}`;
    case "error":
      return `${head}${st.yellow(r.bar)}  ${shown}\n${st.yellow(r.end)}  ${st.yellow(error)}\n`;
    default:
      return `${head}${st.cyan(r.bar)}  ${shown}\n${st.cyan(r.end)}\n`;
  }
}

/** Yes or no (arrows, or y/n), or clack's cancel symbol. */
export async function confirmYes(look: PromptLook, message: string, initialValue = true): Promise<boolean | symbol> {
  const { st } = look;
  const r = rail(look.unicode);
  const on = look.unicode ? "●" : ">";
  const off = look.unicode ? "○" : " ";
  const prompt = new ConfirmPrompt({
    active: "Yes",
    inactive: "No",
    initialValue,
    input: look.streams?.input,
    output: look.streams?.output,
    render() {
      const head = title(look, this.state, message);
      const yes = Boolean(this.value);
      if (this.state === "submit" || this.state === "cancel") return `${head}${st.dim(r.bar)}  ${st.dim(yes ? "Yes" : "No")}`;
      const opt = (label: string, active: boolean) => (active ? `${st.green(on)} ${label}` : `${st.dim(off)} ${st.dim(label)}`);
      return `${head}${st.cyan(r.bar)}  ${opt("Yes", yes)} ${st.dim("/")} ${opt("No", !yes)}\n${st.cyan(r.end)}\n`;
    },
  });
  return (await prompt.prompt()) as boolean | symbol;
}

/** A titled box of lines on the rail, as clack's note draws it, written to the prompts' output. */
export function showNote(look: PromptLook, heading: string, text: string): void {
  const { st } = look;
  const r = rail(look.unicode);
  const h = look.unicode ? "─" : "-";
  const lines = ["", ...text.split("\n"), ""];
  const width = Math.max(heading.length + 1, ...lines.map((l) => stripAnsi(l).length)) + 2;
  const out = [
    st.dim(r.bar),
    `${st.green(r.done)}  ${heading} ${st.dim(h.repeat(Math.max(width - heading.length - 1, 1)) + (look.unicode ? "╮" : "+"))}`,
    ...lines.map((l) => `${st.dim(r.bar)}  ${st.dim(l)}${" ".repeat(width - stripAnsi(l).length)}${st.dim(r.bar)}`),
    st.dim((look.unicode ? "├" : "+") + h.repeat(width + 2) + (look.unicode ? "╯" : "+")),
  ];
  write(look, `${out.join("\n")}\n`);
}

const write = (look: PromptLook, s: string) => (look.streams?.output ?? process.stdout).write(s);

/** The rail's first line, as clack's intro draws it. */
export function intro(look: PromptLook, heading: string): void {
  write(look, `${look.st.dim(rail(look.unicode).start)}  ${heading}\n`);
}

/** The rail's last line, as clack's outro draws it. */
export function outro(look: PromptLook, message: string): void {
  const r = rail(look.unicode);
  write(look, `${look.st.dim(r.bar)}\n${look.st.dim(r.end)}  ${message}\n\n`);
}

/** The rail's last line after a cancel, as clack's cancel draws it. */
export function cancelled(look: PromptLook, message: string): void {
  write(look, `${look.st.dim(rail(look.unicode).end)}  ${look.st.red(message)}\n\n`);
}
