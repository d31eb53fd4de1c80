import { type CatalogueSection, entry } from "./entry";

interface V2Base {
  /** The /v2/ URL asked, "https://registry.example.com/v2/". */
  url: string;
  /** host[:port] of the endpoint. */
  host: string;
}

/** Findings of the `v2` stage. */
export const v2 = {
  V2_NOT_A_REGISTRY: entry<
    V2Base & { status: number; contentType: string | null; served: string; location: string | null; title: string | null }
  >({
    stage: "v2",
    severity: "error",
    title: "Something other than a registry answers at /v2/",
    explain:
      "A registry answers `GET /v2/` with 200 or 401 and a JSON body (normally with `Docker-Distribution-API-Version: registry/2.0`). Here the answer was a web page, a redirect or a 404: a captive portal, a login page, a web server or reverse proxy without the registry behind it, or the UI host of a product instead of its registry host. Docker does not check this at ping time and fails later while decoding the HTML as JSON.",
    seen: [
      "docker: Error response from daemon: error unmarshalling content: invalid character '<' looking for beginning of value",
      'containerd/kubelet: failed to pull and unpack image "registry.example.com/x/y:1": unexpected media type text/html for sha256:…: not found',
      "podman: Error: initializing image from source docker://registry.example.com/x/y:1: invalid character '<' looking for beginning of value",
      "podman: error parsing HTTP 404 response body: invalid character '<' looking for beginning of value",
      "ctr: pulling from host 127.0.0.1:5443 failed with status code [manifests 1.0]: 400 Bad Request",
    ],
    causes: [
      "A captive portal (hotel, guest Wi-Fi) or a corporate web filter intercepting HTTPS and serving its login page",
      "The wrong host: the web UI of Harbor/Artifactory/GitLab instead of its registry host or port",
      "A reverse proxy that does not forward /v2/ to the registry (missing location block, wrong path prefix)",
      'Plain HTTP sent to an HTTPS port (nginx answers 400 "The plain HTTP request was sent to HTTPS port")',
    ],
    howKnown:
      "The doctor sends `GET /v2/` (no redirects followed) and reads status, Content-Type, `Docker-Distribution-API-Version`, `Location` and the HTML <title>: a registry never answers with HTML, a redirect or a 404 there.",
    detail: (p) => `GET ${p.url} answered ${p.served}; a registry answers 200 or 401 with JSON there.`,
    fixes: (p) => [
      `Look at what answers: \`curl -si ${p.url} | head -20\` (a registry shows \`Docker-Distribution-Api-Version: registry/2.0\`)`,
      ...(p.location
        ? [
            `The answer redirects to ${p.location}: if it is a login or portal page, sign in to the network (captive portal) or ask for the registry host to be allow-listed, then retry`,
          ]
        : []),
      `If ${p.host} is a product's web UI, use its registry endpoint instead (for example Artifactory's repository host, GitLab's registry.gitlab host, Harbor's core host)`,
      `If a reverse proxy serves ${p.host}, forward /v2/ to the registry (nginx: \`location /v2/ { proxy_pass http://registry:5000; }\`)`,
    ],
    genericFixes: [
      "curl -si https://HOST/v2/ and check for `Docker-Distribution-Api-Version: registry/2.0`",
      "Sign in to a captive portal or have the registry host allow-listed by the web filter",
      "Use the registry's API host, not the product UI host; forward /v2/ in the reverse proxy",
    ],
  }),

  V2_SERVER_ERROR: entry<
    V2Base & { status: number; statusText: string; server: string | null; errors: string[]; retryAfter: string | null }
  >({
    stage: "v2",
    severity: "error",
    title: "The registry answers /v2/ with a server error",
    explain:
      "`GET /v2/` returned a 5xx status: the registry (or a load balancer or proxy in front of it) is up but failing. Docker then reports the error of the first request that needs the registry, usually the manifest request.",
    seen: [
      "docker: Error response from daemon: received unexpected HTTP status: 503 Service Unavailable",
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": received unexpected HTTP status: 500 Internal Server Error',
      'containerd/kubelet: failed to resolve reference "registry.example.com/app:1.0": unexpected status from HEAD request to https://registry.example.com/v2/app/manifests/1.0: 503 Service Unavailable',
      "podman: Error: initializing source docker://registry.example.com/app:1.0: pinging container registry registry.example.com: received unexpected HTTP status: 503 Service Unavailable",
    ],
    causes: [
      "The registry's storage backend (S3, disk, database) fails or is full",
      "A load balancer or reverse proxy has no healthy registry behind it (502/503/504)",
      "The registry is starting, being upgraded or overloaded",
    ],
    howKnown:
      'The doctor sends `GET /v2/` and records the 5xx status, the `Server` and `Retry-After` headers and the registry\'s error body ({"errors":[…]}).',
    detail: (p) =>
      `GET ${p.url} answered ${p.status} ${p.statusText}`.trim() +
      `${p.server ? ` (Server: ${p.server})` : ""}${p.errors.length ? `: ${p.errors.join("; ")}` : ""}${p.retryAfter ? `; Retry-After: ${p.retryAfter}` : ""}.`,
    fixes: (p) => [
      `Retry in a moment${p.retryAfter ? ` (the server asks for ${p.retryAfter})` : ""}: \`curl -si ${p.url}\``,
      `If you run ${p.host}: read the registry's log and its storage backend's health (\`docker logs REGISTRY_CONTAINER\`, disk space, S3 credentials)`,
      `If ${p.host} is behind a load balancer or reverse proxy${p.server ? ` (${p.server})` : ""}, check that it has a healthy registry upstream`,
      "Configure a registry mirror, so that pulls survive an outage of the upstream registry",
    ],
    genericFixes: [
      "Retry later; check the registry's status page",
      "If you run the registry: check its logs, storage and the proxy in front of it",
    ],
  }),

  V2_NO_RESPONSE: entry<V2Base & { kind: string; phase: string; message: string; timeoutMs: number }>({
    stage: "v2",
    severity: "error",
    title: "The connection opens but /v2/ gets no usable answer",
    explain:
      "The connection (and TLS handshake) to the registry worked, but the `GET /v2/` request failed: no response headers in time, the connection was closed or reset after the request was sent, or what came back is not readable HTTP (a response head over pulldoctor's 1 MiB limit, a control character in a header). Docker gives its ping 15 s and then prints `Client.Timeout exceeded while awaiting headers`.",
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": net/http: request canceled while waiting for connection (Client.Timeout exceeded while awaiting headers)',
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": context deadline exceeded',
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": EOF',
      'containerd/kubelet: failed to do request: Head "https://registry.example.com/v2/app/manifests/1.0": read tcp 10.0.0.5:51234->203.0.113.10:443: read: connection reset by peer',
    ],
    causes: [
      "A middlebox (firewall, DPI, proxy) that lets the handshake through but drops or resets the HTTP request",
      "An MTU / path-MTU black hole: small packets pass, larger ones (the response) are lost",
      "The server accepts connections but is hung or overloaded",
      "A server or middlebox that answers so slowly (a byte at a time) that the whole answer misses the deadline",
      "An answer that is not readable HTTP: headers over 1 MiB, or control characters in a header",
    ],
    howKnown:
      "TCP connect and TLS succeeded (connect stage); the HTTP exchange itself then timed out or was cut, measured per phase (waiting for headers, reading the body). The whole exchange has one deadline (--timeout), so a server that drips bytes cannot hold it open.",
    detail: (p) =>
      p.kind === "protocol"
        ? `GET ${p.url}: the answer was not HTTP the doctor can read: ${p.message}.`
        : `GET ${p.url}: ${p.message} (${p.kind} while ${p.phase === "body" ? "reading the body" : "waiting for the response"}, limit ${p.timeoutMs} ms).`,
    fixes: (p) => [
      `Time the exchange: \`curl -sv --max-time 20 ${p.url} -o /dev/null\`; compare from another network`,
      // daemon.json "mtu" only sets the containers' bridge: the daemon pulls over the host's own
      // interfaces, so a path-MTU black hole is fixed on the host (or the VPN/tunnel) itself.
      `Check the MTU on the path: \`ping -M do -s 1472 ${p.host.replace(/:\d+$/, "")}\` (lower until it passes); if large packets vanish, lower the MTU of the host's interface or VPN (\`ip link set dev IFACE mtu 1400\`) or turn on \`sysctl -w net.ipv4.tcp_mtu_probing=1\``,
      "If a proxy or firewall inspects HTTPS, have the registry host exempted",
    ],
    genericFixes: [
      "Time the request with curl -v",
      "Check MTU/path-MTU and middleboxes that inspect HTTPS",
      "Retry when the server is healthy",
    ],
  }),
} satisfies CatalogueSection;
