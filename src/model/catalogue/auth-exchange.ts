import { clientName, otherClient } from "../client-words";
import { type AuthBase, who } from "./auth-base";
import { type CatalogueSection, entry } from "./entry";

/** Findings of the `auth` stage about the exchange itself: the clocks, credentials over plain HTTP, no answer. */
export const authExchange = {
  AUTH_CLOCK_SKEW: entry<AuthBase & { problem: string; localTime: string; registryDate: string | null; tokenServerDate: string | null }>({
    stage: "auth",
    severity: "error",
    title: "Clocks disagree: the token is not valid yet or already expired",
    explain:
      "Registry tokens carry iat/nbf/exp times, checked by the registry against its own clock with 60 s leeway. When the token service's clock, the registry's clock (or this machine's, for tokens it caches) differ by more than that, a freshly issued token is refused with `invalid_token` and the pull fails as unauthorized.",
    seen: [
      "docker: Error response from daemon: unauthorized: authentication required",
      'registry log: "error authorizing context: invalid token" (token not yet valid / expired)',
      "containerd/kubelet: pull access denied, repository does not exist or may require authorization: server message: invalid_token: authorization failed",
    ],
    causes: [
      "No NTP on the token server, the registry or this machine (VMs after suspend)",
      "A token lifetime shorter than a slow download, with the token reused after expiry",
    ],
    howKnown:
      "The doctor decodes the token's iat/nbf/exp and compares them with the registry's and the token server's `Date` headers and the local clock.",
    detail: (p) =>
      `${p.problem}. Local clock ${p.localTime}; registry Date ${p.registryDate ?? "(none)"}; token server Date ${p.tokenServerDate ?? "(none)"}.`,
    fixes: () => [
      "Check the clocks: `date -u` here and `curl -sI URL | grep -i ^date` for the registry and the token server",
      "Enable time synchronisation where the clock is off: `timedatectl set-ntp true` (chrony/systemd-timesyncd)",
    ],
    genericFixes: ["Synchronise clocks with NTP on the registry, the token server and the client"],
  }),

  AUTH_BASIC_OVER_HTTP: entry<AuthBase & { url: string; sent: boolean; what: string }>({
    stage: "auth",
    severity: "warning",
    title: "Credentials would travel over plain HTTP",
    explain:
      "Basic credentials are only base64-encoded: over plain HTTP anyone on the path can read the password. Docker sends them to a registry configured as insecure (or on loopback) without a word. pulldoctor sends them over HTTP only for a registry Docker treats as insecure (configured, or on loopback).",
    seen: [
      "docker: (no message: Docker sends the credentials over HTTP silently)",
      "podman: (with --tls-verify=false: the credentials are sent over HTTP silently)",
    ],
    causes: [
      "A registry served over plain HTTP that Docker treats as insecure (listed in insecure-registries, or on a loopback address)",
      "A token realm URL with http://",
    ],
    howKnown: "The chosen challenge needs Basic credentials (to the registry or to the token realm) and that URL's scheme is http.",
    detail: (p) =>
      `Credentials ${p.user ? who(p) : `from ${p.credSource ?? "the configuration"}`} go to ${p.what} ${p.url} over plain HTTP; ${p.sent ? (otherClient(p.fixesFor) ? `sent, as ${clientName(p.fixesFor)} does for a registry its config reaches over plain HTTP` : "sent, as Docker does for a registry it treats as insecure") : "not sent by pulldoctor"}.`,
    fixes: (p) => [
      `Put TLS in front of ${p.host} (a certificate from your CA, or Let's Encrypt) so it no longer needs to be an insecure registry`,
      "Change the password after it has travelled in clear",
    ],
    genericFixes: ["Serve the registry and its token realm over HTTPS"],
  }),

  AUTH_NO_RESPONSE: entry<AuthBase & { url: string; kind: string; phase: string; message: string; timeoutMs: number }>({
    stage: "auth",
    severity: "error",
    title: "The registry stops answering on repository requests",
    explain:
      "The `/v2/` probe worked, but the authorized request for the manifest failed at the transport level: no answer in time, the connection was cut, or the answer is not readable HTTP (a head over 1 MiB, a control character in a header).",
    seen: [
      'docker: Error response from daemon: Head "https://registry.example.com/v2/app/manifests/1.0": net/http: request canceled (Client.Timeout exceeded while awaiting headers)',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": EOF',
    ],
    causes: [
      "A proxy or WAF that treats repository paths differently from /v2/",
      "An overloaded or hung registry backend",
      "An answer that is not readable HTTP (headers over 1 MiB, or control characters in a header)",
    ],
    howKnown: "The HEAD of the manifest (with the Authorization Docker would send) got a timeout or reset, while /v2/ had answered.",
    detail: (p) =>
      p.kind === "protocol"
        ? `HEAD ${p.url}: the answer was not HTTP the doctor can read: ${p.message}.`
        : `HEAD ${p.url}: ${p.message} (${p.kind}, ${p.phase}; limit ${p.timeoutMs} ms).`,
    fixes: (p) => [
      `Time it: \`curl -sv -I --max-time 20 ${p.url}\``,
      "Check the registry's logs and any proxy/WAF rules for /v2/<name>/manifests paths",
    ],
    genericFixes: ["curl -I the manifest URL with -v", "Check registry logs and proxy rules"],
  }),
} satisfies CatalogueSection;
