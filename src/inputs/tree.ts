import { isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments, visit } from "yaml";
import { parseJsonWithLines } from "./json-lines";

/** Plain data read from a document: what JSON.parse would give, with line numbers on the side. */
export type Value = string | number | boolean | null | Value[] | { [k: string]: Value };

/**
 * The line (1-based) of each object or array and of its keys/indexes, kept beside the plain
 * data so the readers stay plain walks. Only keys a reader may point at are kept, so a 10,000-pod
 * List keeps no line for every label.
 */
export class Lines {
  /** Keep only the lines of POINTED_KEYS (large JSON); YAML files keep every key's line. */
  restrictKeys = false;
  private readonly at = new WeakMap<object, number>();
  private readonly keys = new WeakMap<object, Map<string | number, number>>();
  setObject(o: object, line: number): void {
    this.at.set(o, line);
  }
  setKey(o: object, key: string | number, line: number): void {
    if (this.restrictKeys && typeof key === "string" && !POINTED_KEYS.has(key)) return;
    let m = this.keys.get(o);
    if (!m) {
      m = new Map();
      this.keys.set(o, m);
    }
    m.set(key, line);
  }
  /** The line of `o[key]` when known, else of `o`, else 1. */
  of(o: unknown, key?: string | number): number {
    if (o === null || typeof o !== "object") return 1;
    if (key !== undefined) {
      const l = this.keys.get(o)?.get(key);
      if (l !== undefined) return l;
    }
    return this.at.get(o) ?? 1;
  }
}

/** Keys whose line a finding or a source may name. */
const POINTED_KEYS = new Set(["image", "reference", "name", "services", "spec", "template", "jobTemplate", "kind", "items", "containers"]);

export interface ParsedDocument {
  /** 1-based position in the file. */
  index: number;
  /** Line where the document starts. */
  line: number;
  value: Value | undefined;
  /** Why it is not data: the parser's message and the line where it stopped. */
  error?: { message: string; line: number };
}

/** At most this many nodes are expanded per document: a YAML alias bomb stops here, not at the memory limit. */
const MAX_NODES = 2_000_000;

/**
 * Parse a file's text as JSON (one value) or YAML (any number of documents), recording lines.
 * JSON is read by a small parser of its own: the YAML parser keeps a node per token, which for
 * `kubectl get pods -o json` of 10,000 pods is hundreds of megabytes.
 */
export function parseDocuments(text: string, lines: Lines): ParsedDocument[] {
  const first = text.match(/^\s*(.)/)?.[1];
  if (first === "{" || first === "[") {
    lines.restrictKeys = true;
    const j = parseJsonWithLines(text, lines);
    lines.restrictKeys = false;
    if (j.ok) return [{ index: 1, line: 1, value: j.value }];
    // Not valid JSON: it may still be YAML flow style; the YAML parser's verdict decides.
  }
  const counter = new LineCounter();
  const out: ParsedDocument[] = [];
  const docs = parseAllDocuments(text, { lineCounter: counter, merge: true, uniqueKeys: false });
  const list = Array.isArray(docs) ? docs : [];
  list.forEach((doc, i) => {
    const line = counter.linePos(doc.range[0]).line;
    if (doc.errors.length > 0) {
      const e = doc.errors[0]!;
      const pos = e.linePos?.[0]?.line ?? line;
      out.push({ index: i + 1, line, value: undefined, error: { message: e.message.split("\n")[0]!, line: pos } });
      return;
    }
    // Each anchor is read once and its aliases share the result (as JSON-like data may): an
    // alias bomb costs its size in the file, and yaml's Alias.resolve (a walk of the whole
    // document per alias) is never called.
    const anchors = new Map<string, Node>();
    visit(doc, {
      Node(_, n) {
        if (n.anchor) anchors.set(n.anchor, n);
      },
    });
    const budget = { left: MAX_NODES, anchors, done: new Map<Node, Value>(), counter, lines };
    const value = toValue(doc.contents, budget);
    if (budget.left < 0) {
      out.push({ index: i + 1, line, value: undefined, error: { message: "too many aliases expanded (a YAML alias bomb?)", line } });
      return;
    }
    out.push({ index: i + 1, line: doc.contents ? counter.linePos(doc.contents.range![0]).line : line, value });
  });
  return out;
}

interface Walk {
  left: number;
  anchors: Map<string, Node>;
  done: Map<Node, Value>;
  counter: LineCounter;
  lines: Lines;
}

function toValue(node: unknown, w: Walk): Value {
  if (--w.left < 0) return null;
  if (node === null || node === undefined) return null;
  if (isAlias(node)) {
    const target = w.anchors.get(node.source);
    if (!target) return null;
    const seen = w.done.get(target);
    if (seen !== undefined) return seen;
    return toValue(target, w);
  }
  // An alias inside its own anchor (a cycle) reads as null rather than recursing forever.
  if ((node as Node).anchor) w.done.set(node as Node, null);
  const v = convert(node as Node, w);
  if ((node as Node).anchor) w.done.set(node as Node, v);
  return v;
}

/**
 * An own property, as the yaml package and JSON.parse make it: `o["__proto__"] = …` would set the
 * object's prototype instead, so a hostile file's `__proto__: {image: …}` would lend every key it
 * names to the mapping without being one of its keys (json-lines.ts does the same).
 */
function setOwn(o: { [k: string]: Value }, key: string, value: Value): void {
  Object.defineProperty(o, key, { value, enumerable: true, writable: true, configurable: true });
}

function convert(node: Node, w: Walk): Value {
  const { lines } = w;
  const lineOf = (n: Node | null | undefined) => (n?.range ? w.counter.linePos(n.range[0]).line : 1);
  if (isMap(node)) {
    const o: { [k: string]: Value } = {};
    lines.setObject(o, lineOf(node as Node));
    const merged: { [k: string]: Value }[] = [];
    for (const pair of node.items) {
      const k = isScalar(pair.key) ? pair.key.value : pair.key;
      // With merge keys on, the yaml package gives `<<` as a symbol.
      const key = typeof k === "symbol" ? "<<" : k === null || k === undefined ? "" : typeof k === "object" ? JSON.stringify(k) : String(k);
      const value = toValue(pair.value, w);
      // A compose `<<: *defaults` merge: keys written here win, as YAML 1.1 merge keys do.
      if (key === "<<") {
        for (const m of Array.isArray(value) ? value : [value]) if (isObject(m)) merged.push(m);
        continue;
      }
      setOwn(o, key, value);
      lines.setKey(o, key, lineOf(pair.key as Node));
    }
    for (const m of merged) for (const [k, v] of Object.entries(m)) if (!Object.hasOwn(o, k)) setOwn(o, k, v);
    return o;
  }
  if (isSeq(node)) {
    const a: Value[] = [];
    lines.setObject(a, lineOf(node as Node));
    node.items.forEach((item, i) => {
      a.push(toValue(item, w));
      lines.setKey(a, i, lineOf(item as Node));
    });
    return a;
  }
  if (isScalar(node)) {
    const v = node.value;
    if (v === null || typeof v === "string" || typeof v === "number" || typeof v === "boolean") return v;
    return String(v);
  }
  return null;
}

export function isObject(v: unknown): v is { [k: string]: Value } {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

export function str(v: unknown): string | null {
  return typeof v === "string" ? v : typeof v === "number" ? String(v) : null;
}

export function list(v: unknown): Value[] {
  return Array.isArray(v) ? v : [];
}
