import path from "node:path";
import { finding } from "../model/finding";
import { addImage, type ReadContext } from "./check-image";
import { isObject, type Lines, str, type Value } from "./tree";
import type { DocumentFindings } from "./types";

type Obj = { [k: string]: Value };

/** Top-level keys of the compose specification other than `services`. */
const COMPOSE_KEYS = new Set(["version", "name", "volumes", "networks", "configs", "secrets", "include", "models"]);

/** A compose file: `services`, or only other compose keys (then it has no services). */
export function looksLikeCompose(doc: Obj): boolean {
  if ("services" in doc) return true;
  const keys = Object.keys(doc);
  return keys.length > 0 && keys.every((k) => COMPOSE_KEYS.has(k) || k.startsWith("x-"));
}

/**
 * Every image a compose file pulls: services.*.image, services behind `profiles` included,
 * with each service's `platform:` (else DOCKER_DEFAULT_PLATFORM, as compose falls back).
 * A service with `build:` and no image (or `pull_policy: build`) is built locally, not pulled
 * (docker/compose:pkg/compose/pull.go skips it; `config --images` names it <project>-<service>).
 */
export function readCompose(
  doc: Obj,
  ctx: ReadContext & { lines: Lines; env: Readonly<Record<string, string | undefined>>; cwd: string },
  out: DocumentFindings,
): void {
  const services = doc.services;
  if (!isObject(services)) {
    const place = { file: ctx.file, document: ctx.document, line: ctx.lines.of(doc, "services"), object: null };
    out.findings.push(finding("INPUT_NO_SERVICES", place, place));
    return;
  }
  const project = projectName(doc, ctx);
  for (const [name, svc] of Object.entries(services)) {
    const object = `service/${name}`;
    const line = ctx.lines.of(services, name);
    if (!isObject(svc)) continue;
    const container = str(svc.container_name) ?? name;
    const rawImage = str(svc.image);
    const image = rawImage === null ? null : interpolate(rawImage, ctx.env);
    const source = {
      file: ctx.file,
      document: ctx.document,
      object,
      container,
      line: rawImage === null ? line : ctx.lines.of(svc, "image"),
    };
    const builds = svc.build !== undefined && svc.build !== null;
    if (builds && (image === null || svc.pull_policy === "build")) {
      out.built.push({ source, image: image ?? `${project}-${name}` });
      continue;
    }
    if (image === null) {
      const place = { file: ctx.file, document: ctx.document, line, object };
      out.findings.push(finding("INPUT_NO_IMAGES", place, place));
      continue;
    }
    const platform = str(svc.platform) ?? ctx.env.DOCKER_DEFAULT_PLATFORM ?? null;
    addImage(out, image, source, { platform: platform ? interpolate(platform, ctx.env) : null });
  }
}

/** compose's project name: `name:`, else the directory of the file, lower-cased, other characters dropped. */
function projectName(doc: Obj, ctx: ReadContext & { cwd: string; env: Readonly<Record<string, string | undefined>> }): string {
  const given = str(doc.name) ?? ctx.env.COMPOSE_PROJECT_NAME;
  const dir = ctx.file === "-" ? ctx.cwd : path.dirname(path.resolve(ctx.cwd, ctx.file));
  return (given ?? path.basename(dir))
    .toLowerCase()
    .replace(/[^a-z0-9_-]/g, "")
    .replace(/^[_-]+/, "");
}

/**
 * compose's variable interpolation (compose-spec interpolation.md): $$ is a literal $;
 * ${VAR}, $VAR; ${VAR:-default} / ${VAR-default} when unset (or empty, with ':');
 * ${VAR:+alt} / ${VAR+alt} when set; ${VAR:?err} gives "" here (compose stops with err).
 * An unset variable becomes "" as compose does, after its warning.
 */
export function interpolate(s: string, env: Readonly<Record<string, string | undefined>>): string {
  return s.replace(
    /\$(\$|\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-+?])((?:[^{}]|\{[^{}]*\})*))?\}|([A-Za-z_][A-Za-z0-9_]*))/g,
    (_m, dollar, braced, op, arg, bare) => {
      if (dollar === "$") return "$";
      const name = braced ?? bare;
      const v = env[name];
      if (!op) return v ?? "";
      const colon = op.startsWith(":");
      const set = colon ? v !== undefined && v !== "" : v !== undefined;
      const kind = op.slice(-1);
      if (kind === "-") return set ? v! : interpolate(arg ?? "", env);
      if (kind === "+") return set ? interpolate(arg ?? "", env) : "";
      return set ? v! : "";
    },
  );
}
