import type { ImageRef } from "../model/facts";

/**
 * How ctr reads an image name: no normalisation at all. containerd/containerd:pkg/reference/reference.go#Parse
 * parses "dummy://" + name as a URL (the host is everything before the first '/', a ':' in it must
 * be followed by a numeric port), the object (tag and/or digest) starts at the first ':' or '@' of
 * the path; core/remotes/docker/resolver.go#Resolve then refuses an empty object ("object required").
 * Measured with ctr: `alpine`, `demo/healthy` and `docker.io/library/alpine` all fail with "object
 * required"; `alpine:3.19` fails on the port; `demo/healthy:1` is sent to the host "demo".
 */
export type CtrReading = { ok: true; ref: ImageRef } | { ok: false; message: string };

export function ctrReading(input: string): CtrReading {
  const fail = (why: string): CtrReading => ({ ok: false, message: `failed to resolve reference ${JSON.stringify(input)}: ${why}` });
  if (input.includes("://")) return fail("invalid reference");
  const slash = input.indexOf("/");
  const authority = slash >= 0 ? input.slice(0, slash) : input;
  const rest = slash >= 0 ? input.slice(slash) : "";
  // Go's url.Parse: userinfo ends at the last '@' of the authority; the port is after the host's last ':'.
  const host = authority.slice(authority.lastIndexOf("@") + 1);
  const colon = host.lastIndexOf(":");
  const port = colon >= 0 && !host.endsWith("]") ? host.slice(colon) : "";
  if (port !== "" && !/^:\d*$/.test(port))
    return fail(`parse ${JSON.stringify(`dummy://${input}`)}: invalid port ${JSON.stringify(port)} after host`);
  if (host === "") return fail("hostname required");
  const split = rest.search(/[:@]/);
  const repoPath = split >= 0 ? rest.slice(0, split) : rest;
  let object = split >= 0 ? rest.slice(split) : "";
  if (object.startsWith(":")) object = object.slice(1);
  if (object === "") return fail("object required");
  const at = object.indexOf("@");
  const tag = at >= 0 ? object.slice(0, at) || null : object;
  const digest = at >= 0 ? object.slice(at + 1) : null;
  const repository = repoPath.replace(/^\/+/, "");
  const name = `${host}/${repository}${tag ? `:${tag}` : ""}${digest ? `@${digest}` : ""}`;
  return { ok: true, ref: { input, registry: host, repository, tag, digest, canonical: name, familiar: name } };
}
