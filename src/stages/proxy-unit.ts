import path from "node:path";
import { readDropIns } from "../host/daemon-config";
import type { ProxyOwner } from "../model/catalogue/proxy";
import type { Evidence } from "../model/evidence";
import type { ClientWire } from "../model/facts";
import { type Finding, finding } from "../model/finding";
import { maskProxyValue } from "../model/redact";
import type { Endpoint, StageContext } from "../model/stage";
import { type ProxyForUrl, proxyConfigFromEnv, proxyForUrl } from "../net/proxy-env";

/**
 * containerd and CRI-O pull with their own service's environment: the unit file's `Environment=`
 * lines, then those of `<unit>.service.d/*.conf` (systemd never passes the shell's), read by
 * http.ProxyFromEnvironment in the daemon (containerd/containerd:core/remotes/docker/registry.go
 * #DefaultHTTPTransport). The proxy decision for such a client is made from that environment;
 * the shell's is only compared with it.
 */
export type UnitProxy = NonNullable<ClientWire["unitProxy"]>;

export interface UnitProxyEnv {
  unit: UnitProxy;
  /** The unit's proxy variables only (HTTP_PROXY, https_proxy, NO_PROXY, …), as Go reads them. */
  env: Record<string, string>;
  /** The file that set each of those variables. */
  origin: Record<string, string>;
  /** Where the settings come from, for evidence and findings. */
  source: string;
  known: boolean;
}

export function unitProxyEnv(unit: UnitProxy): UnitProxyEnv {
  const d = readDropIns(unit.dirs, unit.files);
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(d.env)) if (/^(https?|no)_proxy$/i.test(k) || k === "REQUEST_METHOD") env[k] = v;
  const known = d.setBy.length > 0;
  const source = known
    ? d.setBy.map((f) => `systemd ${f.endsWith(".service") ? "unit" : "drop-in"} ${f}`).join(", ")
    : `no proxy variables in the ${unit.unit}.service unit or drop-ins (${unit.dirs.join(", ")})`;
  return { unit, env, origin: d.origin, source, known };
}

/** The unit environment of the judged client, when it pulls with one (null: the shell's or dockerd's). */
export function judgedUnitEnv(ctx: StageContext): UnitProxyEnv | null {
  const unit = ctx.facts.client?.wire.unitProxy;
  return unit ? unitProxyEnv(unit) : null;
}

/** The unit as the owner of the proxy that applies (its file named when one set the variable). */
export function unitOwner(u: UnitProxyEnv, variable: string | null): ProxyOwner {
  const file = variable ? u.origin[variable] : undefined;
  return file ? { unit: u.unit.unit, file } : { unit: u.unit.unit };
}

/**
 * The shell's decision for the same URL, against the unit's that the doctor followed: when they
 * differ, PROXY_DAEMON_MISMATCH says the shell (curl, skopeo, this doctor's own environment) goes
 * another way than the pull. It is never an error for the pull.
 */
export function compareShellWithUnit(
  ctx: StageContext,
  ep: Endpoint,
  u: UnitProxyEnv,
  chosen: ProxyForUrl,
  target: string,
  evidence: Evidence,
): Finding | null {
  const shell = proxyForUrl(ep.url, ctx.deps.env);
  evidence.daemon = { source: u.source, known: u.known, proxy: chosen.url, reason: chosen.reason, dockerUses: chosen.url ?? "direct" };
  const key = (r: ProxyForUrl) => (r.auth ? `${r.auth.username}:${r.auth.password.reveal()}` : "");
  const authDiffers = chosen.url !== null && chosen.url === shell.url && key(chosen) !== key(shell);
  if (chosen.url === shell.url && !authDiffers) return null;
  const cfg = proxyConfigFromEnv(ctx.deps.env);
  const mask = (v: string) => (v ? maskProxyValue(v, "PASSWORD") : null);
  const values = { http: mask(cfg.httpProxy), https: mask(cfg.httpsProxy), no: mask(cfg.noProxy) };
  const dropInPath = path.join(u.unit.dirs[0] ?? `/etc/systemd/system/${u.unit.unit}.service.d`, "http-proxy.conf");
  return finding(
    "PROXY_DAEMON_MISMATCH",
    {
      host: target,
      shellProxy: shell.url,
      shellReason: shell.reason,
      daemonProxy: chosen.url,
      daemonReason: chosen.reason,
      daemonSource: u.source,
      values,
      dropInPath,
      daemonJsonPath: ctx.options.daemonConfig,
      authDiffers,
      puller: { name: ctx.facts.client!.wire.label, unit: u.unit.unit },
    },
    { shell: shell.url, daemon: chosen.url, daemonSource: u.source, authDiffers, followed: `${u.unit.unit}.service` },
  );
}
