import { lstatSync } from "node:fs";
import path from "node:path";
import type { ProxySettings } from "../model/facts";
import { readLocalFile } from "./local-file";

/**
 * The running Docker Engine's view (GET /info on its unix socket): the proxy it really
 * uses (HttpProxy/HttpsProxy/NoProxy, credentials already masked by dockerd) and its
 * registry configuration (mirrors, insecure registries). Only unix sockets are asked:
 * a tcp:// DOCKER_HOST is noted, not contacted.
 */

export interface EngineInfo {
  /** "unix:///var/run/docker.sock" */
  source: string;
  ok: boolean;
  /** Why it was not asked or did not answer (ENOENT, ECONNREFUSED, EACCES, timeout, HTTP status…). */
  error: string | null;
  durationMs: number;
  serverVersion: string | null;
  operatingSystem: string | null;
  proxies: ProxySettings | null;
  mirrors: string[];
  /** IndexConfigs with Secure=false, and InsecureRegistryCIDRs, Docker's defaults left out. */
  insecureRegistries: string[];
  /**
   * The image store: "containerd" when DriverStatus has driver-type io.containerd.snapshotter.v1
   * (moby/moby:daemon/containerd/service.go#ImageService.GetLayerFolders reports it so), else "classic".
   */
  imageStore?: "classic" | "containerd";
}

const DEFAULT_INSECURE_CIDRS = new Set(["127.0.0.0/8", "::1/128"]);

/**
 * Which Engine `docker pull` talks to, as the docker CLI picks it: DOCKER_HOST, else the
 * context named by DOCKER_CONTEXT or config.json `currentContext` (its endpoint in
 * <config dir>/contexts/meta/<sha256 of the name>/meta.json), else the default socket.
 */
export function engineSocket(
  env: Readonly<Record<string, string | undefined>>,
  defaultSocket: string,
  context: { configDir?: string; currentContext?: string } = {},
): { socketPath: string | null; source: string; note: string | null; context: string | null } {
  const fromHost = (host: string, ctx: string | null) =>
    host.startsWith("unix://")
      ? { socketPath: host.slice("unix://".length), source: host, note: null, context: ctx }
      : { socketPath: null, source: host, note: `the Engine at ${host} is not a unix socket; its /info was not queried`, context: ctx };
  if (env.DOCKER_HOST) return fromHost(env.DOCKER_HOST, null);
  const name = env.DOCKER_CONTEXT || context.currentContext || "";
  if (name !== "" && name !== "default" && context.configDir) {
    const meta = path.join(context.configDir, "contexts", "meta", new Bun.CryptoHasher("sha256").update(name).digest("hex"), "meta.json");
    try {
      // Not readFileSync: a FIFO or device planted at meta.json would block or never end.
      const r = readLocalFile(meta);
      if (!r.ok) throw new Error("unreadable");
      const m = JSON.parse(new TextDecoder().decode(r.bytes)) as { Endpoints?: { docker?: { Host?: string } } };
      const host = m.Endpoints?.docker?.Host;
      if (host) return fromHost(host, name);
    } catch {
      return {
        socketPath: null,
        source: `context ${name}`,
        note: `docker context "${name}" has no readable ${meta}; docker itself would fail`,
        context: name,
      };
    }
  }
  return { socketPath: defaultSocket, source: `unix://${defaultSocket}`, note: null, context: null };
}

export async function fetchEngineInfo(
  socketPath: string,
  source: string,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<EngineInfo> {
  const started = performance.now();
  const base: EngineInfo = {
    source,
    ok: false,
    error: null,
    durationMs: 0,
    serverVersion: null,
    operatingSystem: null,
    proxies: null,
    mirrors: [],
    insecureRegistries: [],
  };
  // No socket file, no Engine: the same ENOENT the request would end in, without Bun's HTTP
  // client, which took 17–36 ms to report it (docs/performance.md, "Diagnosis: connections,
  // start-up and the catalogue").
  if (missing(socketPath)) return { ...base, error: `ENOENT ${socketPath}`, durationMs: Math.round(performance.now() - started) };
  return askEngine(socketPath, base, started, opts);
}

/** GET /info on the socket (its own function: a host without an Engine never compiles it). */
async function askEngine(
  socketPath: string,
  base: EngineInfo,
  started: number,
  opts: { timeoutMs: number; signal?: AbortSignal },
): Promise<EngineInfo> {
  // node:http only when there is an Engine to ask: a check on a host without one never loads it.
  const http = (await import("node:http")).default;
  const res = await new Promise<{ status: number; body: string } | { error: string }>((resolve) => {
    const req = http.request(
      { socketPath, path: "/info", method: "GET", headers: { Host: "docker" }, timeout: opts.timeoutMs, signal: opts.signal },
      (r) => {
        const chunks: Buffer[] = [];
        r.on("data", (c: Buffer) => chunks.push(c));
        r.on("end", () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks).toString("utf8") }));
        r.on("error", (e) => resolve({ error: e.message }));
      },
    );
    req.on("timeout", () => {
      req.destroy();
      resolve({ error: `no answer within ${opts.timeoutMs} ms` });
    });
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ error: e.code ? `${e.code} ${socketPath}` : e.message }));
    req.end();
  });
  base.durationMs = Math.round(performance.now() - started);
  if ("error" in res) return { ...base, error: res.error };
  if (res.status !== 200) return { ...base, error: `HTTP ${res.status} from GET /info` };
  let info: Record<string, unknown>;
  try {
    info = JSON.parse(res.body) as Record<string, unknown>;
  } catch {
    return { ...base, error: "GET /info did not answer JSON" };
  }
  return { ...base, ok: true, ...readInfo(info) };
}

function missing(file: string): boolean {
  try {
    lstatSync(file);
    return false;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === "ENOENT";
  }
}

/** The fields pulldoctor needs from an /info document (pure). */
export function readInfo(
  info: Record<string, unknown>,
): Pick<EngineInfo, "serverVersion" | "operatingSystem" | "proxies" | "mirrors" | "insecureRegistries" | "imageStore"> {
  const str = (v: unknown) => (typeof v === "string" && v !== "" ? v : undefined);
  // The API's JSON names are HttpProxy/HttpsProxy (Go fields HTTPProxy/HTTPSProxy), as the
  // real dockerd answers; the Go spelling is accepted too.
  const http = str(info.HttpProxy) ?? str(info.HTTPProxy);
  const https = str(info.HttpsProxy) ?? str(info.HTTPSProxy);
  const no = str(info.NoProxy);
  const reg = (info.RegistryConfig ?? {}) as {
    Mirrors?: unknown;
    IndexConfigs?: Record<string, { Name?: string; Secure?: boolean }>;
    InsecureRegistryCIDRs?: unknown;
  };
  const mirrors = Array.isArray(reg.Mirrors) ? reg.Mirrors.filter((m): m is string => typeof m === "string") : [];
  const insecure: string[] = [];
  for (const [name, ic] of Object.entries(reg.IndexConfigs ?? {})) if (ic && ic.Secure === false) insecure.push(ic.Name ?? name);
  if (Array.isArray(reg.InsecureRegistryCIDRs))
    for (const c of reg.InsecureRegistryCIDRs) if (typeof c === "string" && !DEFAULT_INSECURE_CIDRS.has(c)) insecure.push(c);
  const status = Array.isArray(info.DriverStatus) ? (info.DriverStatus as unknown[]) : [];
  const snapshotter = status.some((kv) => Array.isArray(kv) && kv[0] === "driver-type" && kv[1] === "io.containerd.snapshotter.v1");
  return {
    ...(typeof info.Driver === "string" ? { imageStore: snapshotter ? ("containerd" as const) : ("classic" as const) } : {}),
    serverVersion: str(info.ServerVersion) ?? null,
    operatingSystem: str(info.OperatingSystem) ?? null,
    proxies: http || https || no ? { ...(http ? { http } : {}), ...(https ? { https } : {}), ...(no ? { no } : {}) } : null,
    mirrors,
    insecureRegistries: insecure,
  };
}
