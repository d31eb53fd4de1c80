import type { ServerAddress } from "./dns-wire";
import { joinHostPort } from "./host-port";
import { isIP } from "./ip";

/** Parse "10.0.0.2", "10.0.0.2:5353", "[fd00::1]:53", "fd00::1" (port 53 by default). null when invalid. */
export function parseServer(spec: string): ServerAddress | null {
  const s = spec.trim();
  let host: string;
  let port = 53;
  const br = /^\[([^\]]+)\](?::(\d+))?$/.exec(s);
  if (br) {
    host = br[1];
    if (br[2] !== undefined) port = Number(br[2]);
  } else if (isIP(s.split("%")[0]) === 6) {
    host = s;
  } else {
    const m = /^([^:]+)(?::(\d+))?$/.exec(s);
    if (!m) return null;
    host = m[1];
    if (m[2] !== undefined) port = Number(m[2]);
  }
  const fam = isIP(host.split("%")[0]);
  if (fam === 0 || !Number.isInteger(port) || port < 1 || port > 65535) return null;
  const family = fam === 6 ? 6 : 4;
  return { host, port, family, display: joinHostPort(host, port) };
}
