import { readLocalFile } from "../host/local-file";
import { Secret } from "../model/secret";
import type { FileProblem } from "./profile";
import { lineOf } from "./profile";

/** yaml when a file is read: every check builds the client profiles, few read a YAML file (docs/performance.md, "Start-up, diagnosis and small blobs"). */
const yaml = () => require("yaml") as typeof import("yaml");

/**
 * Kubernetes pull secrets as kubelet reads them
 * (kubernetes/kubernetes:pkg/credentialprovider/secrets/secrets.go#MakeDockerKeyring,
 * pkg/credentialprovider/config.go#DockerConfigEntry.UnmarshalJSON): a Secret of type
 * kubernetes.io/dockerconfigjson (`.dockerconfigjson`) or kubernetes.io/dockercfg (`.dockercfg`),
 * or a bare config.json. Only username, password, email and auth are read per entry; identitytoken,
 * registrytoken, credsStore and credHelpers are ignored. Nothing is written.
 */

export interface SecretEntry {
  /** The auths key as written. */
  key: string;
  file: string;
  username: string;
  hasPassword: boolean;
  /** Kept secret: what kubelet hands the runtime for this key. */
  password: Secret | null;
}

export interface ParsedSecret {
  file: string;
  /** "Secret kubernetes.io/dockerconfigjson", ".dockerconfigjson", "kubelet config.json". */
  kind: string;
  entries: SecretEntry[];
  /** Fields kubelet ignores, e.g. "auths[ghcr.io].identitytoken", "credsStore". */
  unsupported: string[];
  /** Not YAML/JSON, wrong type, bad base64, empty auths; `fatal` = kubelet fails the pull on it. */
  problems: (FileProblem & { fatal: boolean })[];
}

export function readPullSecret(file: string, kind?: string): ParsedSecret {
  const r = readLocalFile(file);
  if (!r.ok) {
    const message = "error" in r ? `${r.error.code ?? ""} ${r.error.message}`.trim() : r.refused;
    return {
      file,
      kind: kind ?? "pull secret",
      entries: [],
      unsupported: [],
      problems: [{ path: file, line: null, column: null, message, fatal: true }],
    };
  }
  return parsePullSecret(file, new TextDecoder().decode(r.bytes), kind);
}

/** Pure: a Secret (YAML or JSON) or a bare .dockerconfigjson/config.json to its entries and problems. */
export function parsePullSecret(file: string, text: string, kindHint?: string): ParsedSecret {
  const out: ParsedSecret = { file, kind: kindHint ?? "pull secret", entries: [], unsupported: [], problems: [] };
  const fail = (message: string, line: number | null, column: number | null = null, fatal = true) => {
    out.problems.push({ path: file, line, column, message, fatal });
    return out;
  };
  const doc = yaml().parseDocument(text, { uniqueKeys: false });
  if (doc.errors.length > 0) {
    const e = doc.errors[0]!;
    return fail(`not YAML or JSON: ${e.message.split("\n")[0]}`, e.linePos?.[0].line ?? null, e.linePos?.[0].col ?? null);
  }
  const v = doc.toJS() as unknown;
  if (typeof v !== "object" || v === null || Array.isArray(v)) return fail("not a Secret, nor a .dockerconfigjson: expected an object", 1);
  const o = v as Record<string, unknown>;
  let json: string;
  let field: string;
  if (o.kind === "Secret" || o.apiVersion !== undefined) {
    if (o.kind !== "Secret") return fail(`kind is ${JSON.stringify(o.kind)}, not Secret`, lineOf(text, "kind"));
    const type = o.type;
    if (type !== "kubernetes.io/dockerconfigjson" && type !== "kubernetes.io/dockercfg")
      return fail(
        `type is ${JSON.stringify(type ?? "Opaque")}; kubelet reads only kubernetes.io/dockerconfigjson or kubernetes.io/dockercfg as a pull secret`,
        lineOf(text, "type") ?? lineOf(text, "kind"),
      );
    field = type === "kubernetes.io/dockercfg" ? ".dockercfg" : ".dockerconfigjson";
    out.kind = `Secret ${type}`;
    const data = (o.data ?? {}) as Record<string, unknown>;
    const stringData = (o.stringData ?? {}) as Record<string, unknown>;
    if (typeof stringData[field] === "string") json = stringData[field] as string;
    else if (typeof data[field] === "string") {
      const b64 = (data[field] as string).replace(/\s+/g, "");
      if (!/^[A-Za-z0-9+/]*={0,2}$/.test(b64) || b64.length % 4 === 1)
        return fail(
          `data.${field} is not valid base64 (the API server refuses such a Secret; kubelet cannot read it)`,
          lineOf(text, field),
        );
      json = Buffer.from(b64, "base64").toString("utf8");
    } else return fail(`a ${type} Secret needs data.${field}`, lineOf(text, "data") ?? lineOf(text, "type"));
  } else {
    field = "auths" in o ? ".dockerconfigjson" : ".dockercfg";
    json = text;
    if (kindHint === undefined) out.kind = field;
  }
  let cfg: Record<string, unknown>;
  try {
    cfg = JSON.parse(json) as Record<string, unknown>;
  } catch (e) {
    if (field === ".dockerconfigjson" && json === text) cfg = o;
    else return fail(`${field} is not JSON: ${e instanceof Error ? e.message : String(e)}`, lineOf(text, field));
  }
  if (typeof cfg !== "object" || cfg === null || Array.isArray(cfg)) return fail(`${field} is not a JSON object`, lineOf(text, field));
  for (const k of ["credsStore", "credHelpers"]) if (k in cfg) out.unsupported.push(k);
  const auths = field === ".dockercfg" ? cfg : cfg.auths;
  if (typeof auths !== "object" || auths === null || Array.isArray(auths))
    return fail(`${field} has no "auths" object`, lineOf(text, field) ?? 1, null, false);
  const keys = Object.entries(auths as Record<string, unknown>);
  if (keys.length === 0)
    return fail(
      `${field} has an empty "auths": this secret gives kubelet no credentials`,
      lineOf(text, field) ?? lineOf(text, "auths"),
      null,
      false,
    );
  for (const [key, raw] of keys) {
    const e = (raw ?? {}) as Record<string, unknown>;
    for (const k of ["identitytoken", "registrytoken"])
      if (typeof e[k] === "string" && e[k] !== "") out.unsupported.push(`auths[${key}].${k}`);
    let username = typeof e.username === "string" ? e.username : "";
    let password = typeof e.password === "string" ? e.password : "";
    if (typeof e.auth === "string" && e.auth !== "") {
      // DockerConfigEntry.UnmarshalJSON: auth wins; padded or not; it must decode to user:password.
      const b64 = e.auth;
      const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(b64) && b64.length % 4 !== 1 ? Buffer.from(b64, "base64").toString("utf8") : null;
      if (decoded === null || !decoded.includes(":"))
        return fail(
          `auths[${key}].auth is not base64 of user:password: kubelet fails this secret`,
          lineOf(json === text ? text : text, key),
        );
      username = decoded.slice(0, decoded.indexOf(":"));
      password = decoded.slice(username.length + 1);
    }
    out.entries.push({ key, file, username, hasPassword: password !== "", password: password ? new Secret(password) : null });
  }
  return out;
}
