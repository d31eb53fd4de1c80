import type { GoValue } from "./go-json";

/**
 * The typed half of Go's json.Unmarshal, for the few Docker structs we read: field names
 * match exactly or case-insensitively, unknown fields are ignored (or refused), null
 * changes nothing, and a type mismatch is recorded (first one wins) while decoding goes
 * on — so a config.json with one bad field still yields everything else, as in Docker.
 */
export type GoType =
  | { k: "string" }
  | { k: "map"; elem: GoType; name: string }
  | { k: "slice"; elem: GoType; name: string }
  | { k: "struct"; name: string; fields: Record<string, GoType> }
  | { k: "any" };

export const GO_STRING: GoType = { k: "string" };
export const goMap = (elem: GoType, name: string): GoType => ({ k: "map", elem, name });
export const goSlice = (elem: GoType, name: string): GoType => ({ k: "slice", elem, name });
export const goStruct = (name: string, fields: Record<string, GoType>): GoType => ({ k: "struct", name, fields });

export type Decoded = string | DecodedMap | Decoded[] | DecodedStruct | GoValue | undefined;
/** A Go map: insertion order kept (Go's own order is random; see credentials.ts). */
export type DecodedMap = Map<string, Decoded>;
export type DecodedStruct = { [field: string]: Decoded };

export interface UnmarshalOptions {
  /** json.Decoder.DisallowUnknownFields (DOCKER_AUTH_CONFIG). */
  disallowUnknown?: boolean;
}

export interface UnmarshalResult<T> {
  value: T;
  /** The first error, as Go words it; decoding continued past it. */
  error: string | null;
}

const KIND_NAME: Record<GoValue["t"], string> = {
  object: "object",
  array: "array",
  string: "string",
  number: "number",
  bool: "bool",
  null: "null",
};

function typeString(t: GoType): string {
  switch (t.k) {
    case "string":
      return "string";
    case "map":
    case "slice":
    case "struct":
      return t.name;
    case "any":
      return "interface {}";
  }
}

export function unmarshal<T = Decoded>(v: GoValue | null, type: GoType, opts: UnmarshalOptions = {}): UnmarshalResult<T> {
  let firstError: string | null = null;
  const save = (msg: string) => {
    if (firstError === null) firstError = msg;
  };
  const typeError = (got: GoValue, t: GoType, ctx: { struct: string; stack: string[] }) => {
    const value = KIND_NAME[got.t];
    if (ctx.struct !== "" || ctx.stack.length > 0)
      save(`json: cannot unmarshal ${value} into Go struct field ${ctx.struct}.${ctx.stack.join(".")} of type ${typeString(t)}`);
    else save(`json: cannot unmarshal ${value} into Go value of type ${typeString(t)}`);
  };

  const dec = (val: GoValue, t: GoType, ctx: { struct: string; stack: string[] }, into: Decoded): Decoded => {
    if (t.k === "any") return val;
    if (val.t === "null") return into; // Go: null leaves the value as it was
    switch (t.k) {
      case "string":
        if (val.t === "string") return val.v;
        typeError(val, t, ctx);
        return into;
      case "slice":
        if (val.t !== "array") {
          typeError(val, t, ctx);
          return into;
        }
        return val.items.map((x) => dec(x, t.elem, ctx, undefined));
      case "map": {
        if (val.t !== "object") {
          typeError(val, t, ctx);
          return into;
        }
        // Decoding into an existing map adds to it (a repeated key in the file merges).
        const m: DecodedMap = into instanceof Map ? into : new Map();
        for (const [k, x] of val.entries) {
          const d = dec(x, t.elem, ctx, undefined);
          // A fresh element per key: a repeated key replaces the whole entry.
          if (d === undefined && x.t === "null") m.set(k, t.elem.k === "struct" ? {} : undefined);
          else m.set(k, d);
        }
        return m;
      }
      case "struct": {
        if (val.t !== "object") {
          typeError(val, t, ctx);
          return into;
        }
        const out: DecodedStruct =
          into && typeof into === "object" && !(into instanceof Map) && !Array.isArray(into) ? (into as DecodedStruct) : {};
        const shortName = t.name.includes(".") ? t.name.slice(t.name.lastIndexOf(".") + 1) : t.name;
        const names = Object.keys(t.fields);
        for (const [k, x] of val.entries) {
          const field = names.find((n) => n === k) ?? names.find((n) => n.toLowerCase() === k.toLowerCase());
          if (field === undefined) {
            if (opts.disallowUnknown) save(`json: unknown field ${JSON.stringify(k)}`);
            continue;
          }
          out[field] = dec(x, t.fields[field]!, { struct: shortName, stack: [...ctx.stack, field] }, out[field]);
        }
        return out;
      }
    }
  };

  const value = v === null ? undefined : dec(v, type, { struct: "", stack: [] }, undefined);
  return { value: value as T, error: firstError };
}
