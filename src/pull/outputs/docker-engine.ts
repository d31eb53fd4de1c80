import http from "node:http";
import type { Deps } from "../../model/deps";

export type EngineAddress =
  | { kind: "unix"; socketPath: string; display: string; source: string }
  | { kind: "tcp"; host: string; port: number; display: string; source: string };

/**
 * Where the Docker CLI would talk to the Engine: DOCKER_HOST (unix:// or tcp://), else
 * the default socket. ssh:// and TLS tcp need the docker CLI's own transports, which
 * this binary does not carry; they are reported as such, not guessed at.
 */
export function engineAddress(deps: Deps): EngineAddress | { error: string; source: string } {
  const dh = deps.env.DOCKER_HOST?.trim();
  if (!dh)
    return { kind: "unix", socketPath: deps.paths.dockerSocket, display: `unix://${deps.paths.dockerSocket}`, source: "default socket" };
  const source = `DOCKER_HOST=${dh}`;
  if (dh.startsWith("unix://")) return { kind: "unix", socketPath: dh.slice(7), display: dh, source };
  if (dh.startsWith("tcp://")) {
    if (deps.env.DOCKER_TLS_VERIFY)
      return { error: `${source} with DOCKER_TLS_VERIFY: TLS to the Engine is not supported by pulldoctor`, source };
    const u = new URL(dh.replace(/^tcp:/, "http:"));
    return { kind: "tcp", host: u.hostname, port: Number(u.port || 2375), display: dh, source };
  }
  return { error: `${source}: only unix:// and tcp:// Engine addresses are supported`, source };
}

export type EnginePing =
  | { ok: true; apiVersion: string | null; serverVersion: string | null; durationMs: number }
  | { ok: false; error: string; code: string | null; durationMs: number };

function base(addr: EngineAddress): http.RequestOptions {
  return addr.kind === "unix" ? { socketPath: addr.socketPath } : { host: addr.host, port: addr.port };
}

/** GET /_ping, as `docker` does before anything else (`Cannot connect to the Docker daemon` when it fails). */
export function pingEngine(addr: EngineAddress, timeoutMs: number, signal?: AbortSignal): Promise<EnginePing> {
  const t0 = performance.now();
  const ms = () => Math.round(performance.now() - t0);
  return new Promise((resolve) => {
    const req = http.request(
      { ...base(addr), method: "GET", path: "/_ping", headers: { Host: "docker" }, timeout: timeoutMs, signal },
      (res) => {
        res.resume();
        res.on("end", () => {
          if (res.statusCode === 200)
            resolve({ ok: true, apiVersion: str(res.headers["api-version"]), serverVersion: str(res.headers.server), durationMs: ms() });
          else resolve({ ok: false, error: `GET /_ping answered ${res.statusCode}`, code: null, durationMs: ms() });
        });
      },
    );
    req.on("timeout", () => req.destroy(Object.assign(new Error(`no answer within ${timeoutMs} ms`), { code: "ETIMEDOUT" })));
    req.on("error", (e: NodeJS.ErrnoException) => resolve({ ok: false, error: e.message, code: e.code ?? null, durationMs: ms() }));
    req.end();
  });
}

function str(v: string | string[] | undefined): string | null {
  return v === undefined ? null : Array.isArray(v) ? v.join(", ") : v;
}

export interface LoadResult {
  loaded: string[];
  messages: string[];
  error: string | null;
  status: number;
  bytes: number;
  durationMs: number;
}

/**
 * Stream a docker-save archive into `POST /images/load` (what `docker load` does),
 * chunk by chunk with backpressure, and read the Engine's JSON message stream.
 */
export async function loadIntoEngine(
  addr: EngineAddress,
  chunks: AsyncIterable<Uint8Array>,
  timeoutMs: number,
  signal?: AbortSignal,
): Promise<LoadResult> {
  const t0 = performance.now();
  let bytes = 0;
  const req = http.request({
    ...base(addr),
    method: "POST",
    path: "/images/load?quiet=1",
    headers: { Host: "docker", "Content-Type": "application/x-tar", "Transfer-Encoding": "chunked" },
    signal,
  });
  const response = new Promise<{ status: number; body: string }>((resolve, reject) => {
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (d: string) => (body += d.length + body.length < 1 << 20 ? d : ""));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
      res.on("error", reject);
    });
    req.on("error", reject);
  });
  response.catch(() => {});
  let idle: ReturnType<typeof setTimeout> | null = null;
  const arm = () => {
    if (idle) clearTimeout(idle);
    idle = setTimeout(() => req.destroy(new Error(`the Engine stopped reading for ${timeoutMs} ms`)), timeoutMs);
  };
  try {
    arm();
    for await (const chunk of chunks) {
      bytes += chunk.length;
      if (!req.write(chunk))
        await new Promise<void>((r, j) => {
          req.once("drain", r);
          req.once("error", j);
        });
      arm();
    }
    req.end();
    const { status, body } = await response;
    return { ...parseLoadStream(body, status), status, bytes, durationMs: Math.round(performance.now() - t0) };
  } catch (e) {
    req.destroy();
    throw e;
  } finally {
    if (idle) clearTimeout(idle);
  }
}

/** The Engine's reply: JSON lines of {stream} / {errorDetail, error}, or a plain {message} on HTTP errors. */
export function parseLoadStream(body: string, status: number): { loaded: string[]; messages: string[]; error: string | null } {
  const loaded: string[] = [];
  const messages: string[] = [];
  let error: string | null = null;
  for (const line of body.split(/\r?\n/)) {
    if (!line.trim()) continue;
    let m: { stream?: string; error?: string; errorDetail?: { message?: string }; message?: string };
    try {
      m = JSON.parse(line);
    } catch {
      messages.push(line.trim());
      continue;
    }
    if (m.stream) {
      const s = m.stream.trim();
      messages.push(s);
      const hit = /^Loaded image(?: ID)?: (.+)$/.exec(s);
      if (hit) loaded.push(hit[1]);
    }
    if (m.error || m.errorDetail) error = m.errorDetail?.message ?? m.error ?? "error";
    if (m.message && status >= 400) error = m.message;
  }
  if (status >= 400 && !error) error = `HTTP ${status}`;
  return { loaded, messages, error };
}
