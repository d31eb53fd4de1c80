import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import { API_HEADER, type Fault, LAB_SERVICE, sendError } from "./faults";
import { hugeChallenge, isProtocolFault, type ProtocolFault, type ProtocolTarget, wrapResponse } from "./faults-protocol";
import type { BuiltImage, BuiltIndex } from "./image";
import { type Repo, serveRepository, storeImage } from "./repo-routes";
import { installScenarios, type Scenario } from "./scenarios";
import { LAB_CA_PEM, LAB_CERT_PEM, LAB_KEY_PEM } from "./tls-material";
import { TokenAuthority } from "./token";
import { startWire, type WireRequest, type WireResponse } from "./wire";

export type { Fault } from "./faults";
export type { ProtocolFault } from "./faults-protocol";
export type { Scenario } from "./scenarios";
/** A repository's faults: transfer faults (faults.ts) and protocol faults (faults-protocol.ts). */
export type LabFault = Fault | ProtocolFault;

/**
 * The fault-injection registry: the distribution API over plain HTTP on loopback
 * (`/v2/`, manifests by tag and digest with Accept negotiation, ranged blobs, tags/list,
 * `{"errors":[…]}` bodies, token auth) with per-repository faults. Shipped in the binary
 * for `pulldoctor demo`; the tests use it for faults no real registry produces on demand.
 */
export interface LabRegistry {
  /** http://127.0.0.1:PORT, or https:// when started with tls: true */
  url: string;
  port: number;
  /** 127.0.0.1:PORT, as written in an image reference. */
  host: string;
  addImage(repo: string, tag: string, image: BuiltImage | BuiltIndex, faults?: LabFault[]): void;
  /** Replace a repository's faults (e.g. clear them to "fix" the registry mid-test). */
  setFaults(repo: string, faults: LabFault[]): void;
  /** Demo scenarios (empty unless started with scenarios: true). */
  scenarios: Scenario[];
  /** The CA that signed the lab's certificate (tls: true), else null. */
  caPem: string | null;
  /**
   * Lays the CA out as Docker reads it (DIR/127.0.0.1:PORT/ca.crt) so `--certs-dir DIR`
   * trusts the lab; returns DIR.
   */
  writeCertsDir(dir: string): string;
  /** Requests served, newest last ("GET /v2/app/manifests/1.0 200"-style), for tests. */
  log: { method: string; path: string; authorization: boolean; range?: string }[];
  stop(): Promise<void>;
}

export interface LabOptions {
  port?: number;
  scenarios?: boolean;
  tls?: boolean;
  /** Protocol faults applied to every request of this lab (/v2/, token, manifests, blobs). */
  protocolFaults?: ProtocolFault[];
  /** The token realm named in challenges (default: this lab's /token), e.g. a flooding token server. */
  tokenRealm?: string;
}

/** Which protocol faults apply to a request, and what kind of request it is. */
function protocolFor(
  req: WireRequest,
  hostFaults: readonly ProtocolFault[],
  repos: Map<string, Repo>,
): { target: ProtocolTarget | "other"; faults: ProtocolFault[] } {
  if (req.path === "/token") {
    const named = req.query.getAll("scope").map((s) => s.split(":").slice(1, -1).join(":"));
    return { target: "token", faults: [...hostFaults, ...named.flatMap((n) => repos.get(n)?.protocol ?? [])] };
  }
  if (req.path === "/v2/" || req.path === "/v2") return { target: "v2", faults: [...hostFaults] };
  const m = /^\/v2\/(.+)\/manifests\/[^/]+$/.exec(req.path);
  if (m) return { target: "manifest", faults: [...hostFaults, ...(repos.get(m[1]!)?.protocol ?? [])] };
  return { target: "other", faults: [...hostFaults] };
}

export async function startLabRegistry(opts: LabOptions = {}): Promise<LabRegistry> {
  const repos = new Map<string, Repo>();
  const counters = new Map<Fault, number>();
  const log: LabRegistry["log"] = [];
  const repoOf = (name: string): Repo => {
    let r = repos.get(name);
    if (!r) {
      r = { tags: new Map(), manifests: new Map(), blobs: new Map(), faults: [], protocol: [] };
      repos.set(name, r);
    }
    return r;
  };
  const authFault = (name: string) =>
    repos.get(name)?.faults.find((f) => f.kind === "auth-required") as Extract<Fault, { kind: "auth-required" }> | undefined;
  const tokens = new TokenAuthority((name) => {
    const f = authFault(name);
    return f ? { username: f.username ?? "demo", password: f.password ?? "s3cret-demo" } : null;
  });
  let base = "";
  const tokenAuth = () => [...repos.values()].some((r) => r.faults.some((f) => f.kind === "auth-required"));
  const challenge = (scope?: string, error?: string) =>
    `Bearer realm="${opts.tokenRealm ?? `${base}/token`}",service="${LAB_SERVICE}"${scope ? `,scope="${scope}"` : ""}${error ? `,error="${error}"` : ""}`;

  const hostFaults = opts.protocolFaults ?? [];
  const handle = (req: WireRequest, raw: WireResponse) => {
    const protocol = protocolFor(req, hostFaults, repos);
    const res = wrapResponse(req, raw, protocol.faults, protocol.target as ProtocolTarget);
    log.push({
      method: req.method,
      path: req.path,
      authorization: req.headers.authorization !== undefined,
      ...(req.headers.range ? { range: req.headers.range } : {}),
    });
    if (req.path === "/token") {
      const forged = protocol.faults.find((f) => f.kind === "token-answer") as Extract<ProtocolFault, { kind: "token-answer" }> | undefined;
      if (forged) return res.send(200, { "Content-Type": "application/json" }, forged.body);
      return tokens.handle(req, res);
    }
    if (req.path === "/v2/" || req.path === "/v2") {
      const huge = hostFaults.find((f) => f.kind === "huge-challenge" && f.on === "v2") as
        | Extract<ProtocolFault, { kind: "huge-challenge" }>
        | undefined;
      if (huge)
        return sendError(res, 401, "UNAUTHORIZED", "authentication required", null, { "WWW-Authenticate": hugeChallenge(huge.bytes) });
      // A registry with token auth challenges every anonymous /v2/ (as Docker Hub does).
      if (tokenAuth() && !tokens.valid(req.headers.authorization)) {
        return sendError(res, 401, "UNAUTHORIZED", "authentication required", null, { "WWW-Authenticate": challenge() });
      }
      return res.send(200, { ...API_HEADER, "Content-Type": "application/json; charset=utf-8" }, "{}");
    }
    if (req.path === "/v2/_catalog") {
      // Repositories that need credentials stay out of an anonymous listing, as registries filter by access.
      const names = [...repos.entries()]
        .filter(([n, r]) => r.tags.size > 0 && !authFault(n))
        .map(([n]) => n)
        .sort();
      return res.send(200, { ...API_HEADER, "Content-Type": "application/json; charset=utf-8" }, JSON.stringify({ repositories: names }));
    }
    return serveRepository(req, res, { repos, tokens, challenge, authFault, counters, faults: protocol.faults });
  };

  const wire = await startWire("127.0.0.1", opts.port ?? 0, handle, opts.tls ? { key: LAB_KEY_PEM, cert: LAB_CERT_PEM } : undefined);
  base = `${opts.tls ? "https" : "http"}://127.0.0.1:${wire.port}`;
  const extraStops: (() => Promise<void>)[] = [];

  const lab: LabRegistry = {
    url: base,
    port: wire.port,
    host: `127.0.0.1:${wire.port}`,
    scenarios: [],
    log,
    caPem: opts.tls ? LAB_CA_PEM : null,
    writeCertsDir(dir) {
      if (!opts.tls) throw new Error("the lab registry was started without tls: there is no CA to trust");
      const d = path.join(dir, `127.0.0.1:${wire.port}`);
      mkdirSync(d, { recursive: true });
      writeFileSync(path.join(d, "ca.crt"), LAB_CA_PEM);
      return dir;
    },
    addImage(name, tag, image, faults) {
      storeImage(repoOf(name), tag, image, faults ?? []);
    },
    setFaults(name, faults) {
      const repo = repoOf(name);
      repo.faults = faults.filter((f): f is Fault => !isProtocolFault(f));
      repo.protocol = faults.filter(isProtocolFault);
    },
    async stop() {
      for (const s of extraStops) await s();
      await wire.close();
    },
  };
  if (opts.scenarios) {
    const installed = await installScenarios(lab, opts.port ? opts.port + 1 : 0);
    lab.scenarios = installed.scenarios;
    extraStops.push(installed.stop);
  }
  return lab;
}
