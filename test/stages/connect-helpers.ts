import type { Facts, LocalConfig, ProxyRoute, ResolvedAddress } from "../../src/model/facts";
import type { Endpoint } from "../../src/model/stage";
import { connectStage } from "../../src/stages/connect";
import { testContext } from "../helpers/context";

/** Run the connect stage for registry HOST:PORT with the given resolved addresses (default 0.0.0.0). */
export interface RunOpts {
  hostname?: string;
  port: number;
  addresses?: string[];
  scheme?: "https" | "http";
  insecure?: boolean;
  daemonInsecure?: string[];
  certsDir?: string;
  route?: ProxyRoute;
  timeoutMs?: number;
  /** The local clock (default: the real one). */
  now?: Date;
}

export async function runConnect(o: RunOpts) {
  const hostname = o.hostname ?? "registry.test";
  const host = `${hostname.includes(":") ? `[${hostname}]` : hostname}:${o.port}`;
  const endpoint: Endpoint = {
    url: `${o.scheme ?? "https"}://${host}`,
    host,
    hostname,
    port: o.port,
    role: "upstream",
    insecure: o.insecure ?? false,
    pathPrefix: "",
  };
  const local: LocalConfig = {
    dockerConfig: { path: "/nonexistent/config.json", found: false, kind: "none" },
    daemon: {
      path: "/etc/docker/daemon.json",
      found: false,
      mirrors: [],
      insecureRegistries: o.daemonInsecure ?? [],
      proxies: null,
      liveProxies: null,
      liveSource: null,
    },
    certsDir: o.certsDir ?? "/nonexistent/certs.d",
  };
  const addresses: ResolvedAddress[] = (o.addresses ?? ["0.0.0.0"]).map((a) => ({ address: a, family: a.includes(":") ? 6 : 4 }));
  const facts: Facts = {
    ref: {
      input: `${host}/team/app:1.0`,
      registry: host,
      repository: "team/app",
      tag: "1.0",
      digest: null,
      canonical: `${host}/team/app:1.0`,
      familiar: `${host}/team/app:1.0`,
    },
    local,
    route: o.route ?? { url: null, auth: null, reason: "no proxy variable is set" },
    resolution: { hostname, addresses, via: "/etc/hosts" },
  };
  const ctx = testContext({
    endpoint,
    facts,
    options: { timeoutMs: o.timeoutMs ?? 2000, certsDir: local.certsDir },
    ...(o.now ? { deps: { now: () => o.now! } } : {}),
  });
  const out = await connectStage.run(ctx);
  const json = JSON.stringify(out);
  return {
    ...out,
    trace: ctx.trace.events,
    codes: out.findings.map((f) => f.code),
    json,
    f: (code: string) => out.findings.find((x) => x.code === code)!,
  };
}
