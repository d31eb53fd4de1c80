/** Go's net.JoinHostPort: an IPv6 literal in brackets ("[::1]:443"). */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}
