import { isIP } from "../net/ip";
import { bareHost, serverNameFor, tlsOptions } from "../net/origin";
import type { BlobSource } from "./source";
import type { OpenOptions } from "./transport";

/** How one blob GET is addressed and secured (fetch-blob.ts decides whether it may carry credentials). */

export function nodeTls(init: BunFetchRequestInit): OpenOptions["tls"] {
  const t = init.tls;
  if (!t) return null;
  return {
    servername: t.serverName,
    ...(Array.isArray(t.ca) ? { ca: t.ca as string[] } : {}),
    ...(typeof t.cert === "string" ? { cert: t.cert } : {}),
    ...(typeof t.key === "string" ? { key: t.key } : {}),
    rejectUnauthorized: t.rejectUnauthorized !== false,
  };
}

/**
 * Connect to the address the dns stage chose (not a fresh lookup, which could differ:
 * /etc/hosts vs DNS, --dns servers), keeping the name for Host and TLS SNI. Through a
 * proxy the proxy resolves the name, as Go's transport does.
 */
export function requestUrl(u: URL, src: BlobSource, sameHost: boolean, headers: Record<string, string>): string {
  const addr = src.resolution?.addresses[0];
  if (!sameHost || src.route?.url || !addr || isIP(bareHost(u.hostname)) || src.resolution?.hostname !== u.hostname) return u.toString();
  const direct = new URL(u.toString());
  direct.hostname = addr.family === 6 ? `[${addr.address}]` : addr.address;
  headers.Host = u.host;
  return direct.toString();
}

export function requestInit(u: URL, src: BlobSource): BunFetchRequestInit {
  const init: BunFetchRequestInit = { method: "GET", redirect: "manual", decompress: false };
  if (src.route?.url) {
    const p = new URL(src.route.url);
    if (src.route.auth) {
      p.username = encodeURIComponent(src.route.auth.username);
      p.password = encodeURIComponent(src.route.auth.password.reveal());
    }
    init.proxy = p.toString();
  } else {
    init.proxy = false as unknown as undefined;
  }
  if (u.protocol === "https:") {
    // The registry's TLS settings, also for a redirect target (src/net/origin.ts says why).
    const serverName = serverNameFor(u.hostname);
    init.tls = { ...(serverName ? { serverName } : {}), ...tlsOptions(src.tls) };
  }
  return init;
}
