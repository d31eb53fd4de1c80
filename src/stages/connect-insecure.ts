import type { Endpoint } from "../model/stage";
import { addressIsInsecure, isInsecureByConfig, isLoopback } from "../registry/insecure";

/** Whether Docker treats an endpoint as insecure (skips verification, falls back to plain HTTP), and why. */
export interface Insecurity {
  insecure: boolean;
  /** Why Docker considers it insecure, or null. */
  why: string | null;
  /** Only because of a loopback address (Docker's built-in default). */
  loopbackOnly: boolean;
}

export function insecurity(ep: Endpoint, addresses: string[], list: readonly string[], loopbackRule = true): Insecurity {
  const clean = (e: string) => e.replace(/^https?:\/\//i, "").replace(/\/+$/, "");
  const byName = list.find((e) => clean(e) === ep.host);
  if (byName) return { insecure: true, why: `"${byName}" is in insecure-registries`, loopbackOnly: false };
  // Docker's built-in 127.0.0.0/8 and ::1/128 entries (the plan marks IP-literal loopback
  // endpoints insecure too; the reason is still loopback, not configuration).
  const lo = loopbackRule ? [ep.hostname, ...addresses].find((a) => isLoopback(a)) : undefined;
  if (lo)
    return {
      insecure: true,
      why: `${lo} is a loopback address (Docker always treats 127.0.0.0/8 and ::1 as insecure)`,
      loopbackOnly: true,
    };
  const cidrs = list.filter((e) => e.includes("/"));
  if (isInsecureByConfig(ep.host, ep.hostname, list, loopbackRule) || addresses.some((a) => addressIsInsecure(a, list, loopbackRule)))
    return { insecure: true, why: `its address is in an insecure-registries CIDR (${cidrs.map(clean).join(", ")})`, loopbackOnly: false };
  if (ep.insecure)
    return { insecure: true, why: `${ep.host} is configured as insecure${ep.source ? ` in ${ep.source}` : ""}`, loopbackOnly: false };
  return { insecure: false, why: null, loopbackOnly: false };
}

/**
 * insecurity(), except that an http:// mirror URL is plain HTTP whatever the list says (Docker uses it as written).
 * `loopbackRule` false: a client without Docker's 127.0.0.0/8 default (containerd's localhost rule is in its hosts, plan.ts;
 * containers/image has none: only `insecure = true`).
 */
export function endpointInsecurity(ep: Endpoint, addresses: string[], list: readonly string[], loopbackRule = true): Insecurity {
  const byRule = insecurity(ep, addresses, list, loopbackRule);
  if (ep.url.startsWith("http://") && !byRule.insecure)
    return { insecure: true, why: `its URL is ${ep.url} (plain HTTP)`, loopbackOnly: false };
  return byRule;
}
