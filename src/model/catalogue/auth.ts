import { clientName, loginWords, otherClient } from "../client-words";
import { type AuthBase, who } from "./auth-base";
import { authExchange } from "./auth-exchange";
import { giveCredentials } from "./auth-fixes";
import { authNotSent } from "./auth-not-sent";
import { type CatalogueSection, entry } from "./entry";

/** `docker login` as the user must type it for this registry (Docker Hub: no argument). */
export const loginCommand = (registry: string): string => (registry === "docker.io" ? "docker login" : `docker login ${registry}`);
/** Who answered the anonymous request, as the evidence shows it (never a token service that was not asked). */
const refusedBy = (p: { scheme: string; where?: string }): string =>
  p.where === "repository"
    ? "/v2/ asked for no credentials, but the repository answered"
    : p.where === "token service" || (!p.where && p.scheme === "bearer")
      ? "The registry's token service answered"
      : "The registry answered";

/** Findings of the `auth` stage. */
export const auth = {
  AUTH_UNAUTHORIZED: entry<AuthBase & { where: string; status: number; message: string }>({
    stage: "auth",
    severity: "error",
    title: "The registry rejects the credentials",
    explain:
      "The credentials Docker would send were refused: the token server (or, for Basic auth, the registry) answered 401 to them. The password or access token is wrong or expired, or the user name is not the one the registry expects (an e-mail instead of a Docker ID, a missing token prefix).",
    seen: [
      'docker: Error response from daemon: Get "https://registry-1.docker.io/v2/": unauthorized: incorrect username or password',
      'docker: Error response from daemon: Head "https://registry.example.com/v2/team/app/manifests/1.0": unauthorized: incorrect username or password',
      "docker login: login attempt to https://registry.example.com/v2/ failed with status: 401 Unauthorized",
      "podman: Error: initializing source docker://127.0.0.1:5001/team/app:1.0: unable to retrieve auth token: invalid username/password: unauthorized: incorrect username or password",
      "skopeo (Basic registry): reading manifest 1.0 in 127.0.0.1:5443/team/small: unauthorized: authentication required",
    ],
    causes: [
      "A wrong or expired password or personal access token (2FA accounts need a token, not the password)",
      "An e-mail address used as user name where the registry wants the account ID",
      "Stale credentials in config.json or a credential helper after a password change",
      "Credentials of another registry stored under this registry's key",
    ],
    howKnown:
      "The doctor sends exactly the credentials Docker would (same lookup key and helper) and reads the 401 from the token server or the registry, with its error body.",
    detail: (p) => `The ${p.where} answered ${p.status} to the credentials ${who(p)}${p.message ? `: ${p.message}` : ""}.`,
    fixes: (p) => [
      otherClient(p.fixesFor)
        ? `Store a valid password or access token for ${clientName(p.fixesFor)}: ${loginWords(p.registry, p.fixesFor)}`
        : `Log in again with a valid password or access token: \`docker logout${p.registry === "docker.io" ? "" : ` ${p.registry}`}\` then \`${loginCommand(p.registry)}\``,
      ...(p.registry === "docker.io"
        ? [
            "Use your Docker ID (not the e-mail address) and a personal access token from https://app.docker.com/settings/personal-access-tokens",
          ]
        : []),
      ...(p.credSource === "--username"
        ? [
            `These were this run's --username ${p.user ?? "USER"} / --password-stdin: check the user name and the password (or access token) piped in; nothing stored was used`,
          ]
        : p.credSource
          ? [`The credentials came from ${p.credSource}: update or remove that entry`]
          : []),
    ],
    genericFixes: [
      "docker logout REGISTRY && docker login REGISTRY with a valid password or access token",
      "Check which config.json entry or credential helper supplies the credentials",
    ],
  }),

  AUTH_DENIED: entry<AuthBase & { status: number | null; message: string; granted: string; isHub: boolean }>({
    stage: "auth",
    severity: "error",
    title: "No pull access to this repository",
    explain:
      "Credentials were sent and accepted, but that identity has no pull right on this repository: the token came back without the `pull` action, or the registry answered `insufficient_scope`/DENIED to them (an anonymous request refused so is AUTH_CREDENTIALS_REQUIRED). Docker Hub deliberately answers the same way for repositories that do not exist, so a typo in the name looks exactly like a private repository.",
    seen: [
      "docker: Error response from daemon: pull access denied for 127.0.0.1:5001/team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      "containerd/kubelet: failed to pull and unpack image: pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed",
      "podman: Error: initializing source docker://127.0.0.1:5001/team/app:1.0: reading manifest 1.0 in 127.0.0.1:5001/team/app: errors:\ndenied: requested access to the resource is denied\nunauthorized: authentication required",
    ],
    causes: [
      "The repository name is misspelled or in the wrong namespace (Docker Hub reports a missing repository as denied)",
      "The repository is private and the pull is anonymous or by an account without access",
      "The access token lacks the read/pull permission for this repository",
      "A token server that grants nothing for the OAuth POST form (containerd) while GET works",
    ],
    howKnown:
      "The doctor decodes the token's `access` claim (what the token server granted for repository:NAME:pull) and reads the registry's 401/403 with `error=\"insufficient_scope\"` or DENIED on a HEAD of the manifest.",
    detail: (p) =>
      `Pull of ${p.repository} ${who(p)} is not allowed: ${p.status ? `the registry answered ${p.status}${p.message ? ` (${p.message})` : ""}` : "the token grants no pull"}; granted: ${p.granted}.` +
      (p.isHub ? " Docker Hub answers so for repositories that do not exist too." : ""),
    fixes: (p) => [
      `Check the repository name and namespace: ${p.isHub ? `https://hub.docker.com/r/${p.repository.replace(/^library\//, "_/")}` : `\`${p.registry}/${p.repository}\``}`,
      ...(p.user
        ? [
            `Ask the owner of ${p.repository} to grant ${p.user} read (pull) access, or log in as an account that has it: \`${loginCommand(p.registry)}\``,
          ]
        : [`If the repository is private, log in first: \`${loginCommand(p.registry)}\``]),
    ],
    genericFixes: [
      "Check the spelling and namespace of the repository",
      "Log in as an account with read access (docker login REGISTRY)",
      "Ask the repository owner for pull access",
    ],
  }),

  AUTH_CREDENTIALS_REQUIRED: entry<
    AuthBase & {
      scheme: string;
      status: number;
      lookupKey: string;
      unreadable?: boolean;
      /** Who refused: the token service, the registry, or a repository whose /v2/ asked for nothing. */
      where?: "registry" | "token service" | "repository";
      /** The registry said insufficient_scope (or its anonymous token granted no pull). */
      scope?: boolean;
    }
  >({
    stage: "auth",
    severity: "error",
    title: "The registry requires a login and no credentials are configured",
    explain:
      "Anonymous access was refused (401 from the registry or its token server, 403, or `insufficient_scope`: an anonymous token without pull) and Docker finds no credentials for this registry: config.json has no entry under the key Docker looks up, no credential helper answers for it. Registries refuse an anonymous request for a repository that does not exist the same way, so the name may be wrong too; logging in tells the two apart.",
    seen: [
      'docker: Error response from daemon: Head "https://registry.example.com/v2/team/small/manifests/1.0": no basic auth credentials',
      "docker: Error response from daemon: pull access denied for registry.example.com/team/app, repository does not exist or may require 'docker login'",
      "containerd/kubelet: failed to authorize: failed to fetch anonymous token: unexpected status from GET request to https://auth.example.com/token?scope=repository%3Ateam%2Fapp%3Apull&service=registry: 401 Unauthorized",
      "podman: Error: initializing source docker://registry.example.com/team/app:1.0: reading manifest 1.0 in registry.example.com/team/app: unauthorized: authentication required",
    ],
    causes: [
      "Never logged in to this registry on this machine (or as the user running the pull: root vs you, CI runner)",
      "Credentials stored under another key (with a path, another port, http:// vs https://, or index.docker.io instead of the Hub key)",
      "The pull runs where config.json is not read (kubelet needs an imagePullSecret)",
    ],
    howKnown:
      "The registry (or its token server) refused a request that carried no credentials (no Authorization, or an anonymous token), and the config stage found no credentials under the lookup key Docker uses. AUTH_DENIED is kept for an identity that was sent and refused.",
    detail: (p) =>
      `${refusedBy(p)} ${p.status} to an anonymous request${p.scope ? " (no pull access without an identity)" : ""}; ${p.unreadable ? `the credentials for ${p.lookupKey} could not be read, so the request went out anonymously` : `no credentials are configured for ${p.lookupKey}`}. The repository may also not exist: registries refuse an anonymous request for a missing repository the same way.`,
    fixes: (p) => [
      ...giveCredentials(p),
      ...(p.fixesFor && p.fixesFor !== "docker" ? [] : [`\`${loginCommand(p.registry)}\``]),
      ...(p.where === "repository"
        ? [
            "Then mind the client: /v2/ asks for no credentials, so classic Docker and podman will still send none here (AUTH_NOT_SENT); Docker's containerd image store and containerd retry the 401 with them, or make /v2/ answer 401 with the same challenge",
          ]
        : []),
      ...(p.fixesFor && p.fixesFor !== "docker"
        ? []
        : [
            `Check that the credentials are stored under "${p.lookupKey}" in ~/.docker/config.json of the user who runs the pull (or in its credential helper)`,
          ]),
      ...(p.fixesFor === "kubernetes"
        ? []
        : [
            `Kubernetes: create a pull secret: \`kubectl create secret docker-registry regcred --docker-server=${p.registry === "docker.io" ? "https://index.docker.io/v1/" : p.registry} --docker-username=USER --docker-password=TOKEN\` and reference it in imagePullSecrets`,
          ]),
    ],
    genericFixes: ["docker login REGISTRY as the user who runs the pull", "Kubernetes: add an imagePullSecret"],
  }),

  AUTH_TOKEN_SERVER_UNREACHABLE: entry<
    AuthBase & { realm: string; realmHost: string; status: number | null; message: string; kind: string | null }
  >({
    stage: "auth",
    severity: "error",
    title: "The registry's token server cannot be used",
    explain:
      "The registry sends clients to a separate token service (the realm of its Bearer challenge, often on another host such as auth.docker.io). That host could not be resolved, reached, or completed TLS, or answered with an error instead of a token. Firewalls and NO_PROXY lists often allow the registry but forget its auth host.",
    seen: [
      'containerd/kubelet: failed to authorize: failed to fetch anonymous token: Get "https://auth.docker.io/token?scope=repository%3Alibrary%2Fredis%3Apull&service=registry.docker.io": dial tcp 54.x.x.x:443: i/o timeout',
      "docker: Error response from daemon: Get https://registry-1.docker.io/v2/library/redis/manifests/latest: Get https://auth.docker.io/token?scope=repository%3Alibrary%2Fredis%3Apull&service=registry.docker.io: net/http: TLS handshake timeout",
      'podman: Error: initializing source docker://registry.example.com/app:1.0: unable to retrieve auth token: Get "https://auth.example.com/token?…": dial tcp: lookup auth.example.com: no such host',
    ],
    causes: [
      "The realm host is not allow-listed in the firewall or proxy (only the registry host is)",
      "NO_PROXY covers the registry but not the auth host, or the reverse",
      "The realm host does not resolve from this network (internal name, split-horizon DNS)",
      "The token service itself is down or misconfigured (5xx, wrong realm URL ⇒ 404)",
    ],
    howKnown:
      "The doctor reads the realm from the registry's WWW-Authenticate and requests a token from it with its own DNS, proxy decision, TCP and TLS evidence for that host.",
    detail: (p) => `Token request to ${p.realm} failed: ${p.message}${p.status ? ` (HTTP ${p.status})` : ""}.`,
    fixes: (p) => [
      `Test the token service from this machine: \`curl -sv "${p.realm}"\``,
      ...(p.kind === "tls"
        ? [
            `Docker fetches tokens with the registry's TLS settings: put the CA of ${p.realmHost} in /etc/docker/certs.d/${p.host}/ca.crt (or the system trust store) and restart dockerd`,
          ]
        : p.kind === "dns"
          ? [
              `Make ${p.realmHost} resolvable from this host (\`getent hosts ${p.realmHost.replace(/:\d+$/, "")}\`): DNS, VPN split-horizon or /etc/hosts`,
            ]
          : p.status
            ? [
                `The token service itself fails (HTTP ${p.status}): check its logs, and that the realm URL in the registry's auth.token.realm is right`,
              ]
            : [`Allow ${p.realmHost} (not only ${p.host}) in the firewall / proxy allow-list`]),
      `Check that the proxy decision is the same for ${p.realmHost} and ${p.host} (HTTPS_PROXY / NO_PROXY, and the daemon's proxy in daemon.json or its systemd drop-in)`,
    ],
    genericFixes: [
      "curl the realm URL from the WWW-Authenticate header",
      "Allow-list the auth host next to the registry host",
      "Align NO_PROXY for both hosts",
    ],
  }),

  AUTH_TOKEN_INVALID: entry<AuthBase & { realm: string | null; problem: string }>({
    stage: "auth",
    severity: "error",
    title: "The token service returns an unusable token",
    explain:
      'The token service answered, but not with a token the registry accepts: the body is not JSON, has no `token`/`access_token`, or the registry refuses the token with `error="invalid_token"` (wrong issuer, audience or signing key, or a broken OAuth POST).',
    seen: [
      'docker: Error response from daemon: Get "https://registry.example.com/v2/": authorization server did not include a token in the response',
      "docker: Error response from daemon: unauthorized: authentication required",
      "containerd/kubelet: pull access denied, repository does not exist or may require authorization: server message: invalid_token: authorization failed",
      "podman: Error: initializing source docker://registry.example.com/app:1.0: unable to retrieve auth token: invalid character '<' looking for beginning of value",
    ],
    causes: [
      "A proxy or portal answering the token URL with an HTML page",
      "The token service and the registry disagree on issuer, service (audience) or signing certificate (after a certificate rotation)",
      "A token service whose OAuth POST answer differs from its GET answer",
    ],
    howKnown:
      "The doctor parses the token response as Docker does (token or access_token, expires_in, issued_at), decodes the JWT header and claims, and sends the token to the registry to read its verdict.",
    detail: (p) => `${p.problem}${p.realm ? ` (realm ${p.realm})` : ""}.`,
    fixes: (p) => [
      ...(p.realm ? [`Look at the raw answer: \`curl -s "${p.realm}?service=SERVICE&scope=repository:${p.repository}:pull"\``] : []),
      "If you run the registry: make its auth.token issuer, service and rootcertbundle match the token service's issuer, audience and signing certificate",
      "If a proxy intercepts the token URL, exempt the auth host from inspection",
    ],
    genericFixes: [
      "curl the token URL and check for JSON with a token field",
      "Align issuer, service and rootcertbundle between registry and token service",
    ],
  }),

  AUTH_CHALLENGE_INVALID: entry<AuthBase & { url: string; problem: string; raw: string[] }>({
    stage: "auth",
    severity: "error",
    title: "The registry's authentication challenge cannot be answered",
    explain:
      "The registry answered 401 but its WWW-Authenticate header gives Docker nothing to act on: no parseable challenge, only schemes Docker does not speak (Negotiate, NTLM), or a Bearer challenge without a usable realm URL. Docker parses one challenge per header line and stops at the first malformed value.",
    seen: [
      'docker: Error response from daemon: Head "https://registry.example.com/v2/app/manifests/1.0": no basic auth credentials',
      "docker: Error response from daemon: unauthorized: authentication required",
      "containerd/kubelet: failed to resolve reference: failed to authorize: no authorization challenge found",
      "podman: Error: initializing source docker://registry.example.com/app:1.0: reading manifest 1.0 in registry.example.com/app: unauthorized: authentication required",
    ],
    causes: [
      "A reverse proxy or SSO gateway in front of the registry that asks for Negotiate/NTLM or its own login",
      "A registry or proxy that emits a malformed header (unquoted URL, missing realm, several challenges on one line)",
    ],
    howKnown:
      "The doctor parses every WWW-Authenticate line exactly as Docker's vendored docker/distribution does and checks that a Bearer realm is an absolute http(s) URL.",
    detail: (p) =>
      `${p.url} answered 401 with ${p.raw.length ? p.raw.map((r) => `"${r}"`).join(", ") : "no WWW-Authenticate header"}: ${p.problem}.`,
    fixes: (p) => [
      `See the raw header: \`curl -si ${p.url} | grep -i www-authenticate\``,
      "If a gateway or SSO proxy sits in front of the registry, let /v2/ through to the registry so that it sends its own Bearer or Basic challenge",
      'A registry must send e.g. `WWW-Authenticate: Bearer realm="https://auth.example.com/token",service="registry.example.com"`',
    ],
    genericFixes: [
      "curl -si https://REGISTRY/v2/ and read WWW-Authenticate",
      "Make the proxy in front of the registry pass its challenge through",
    ],
  }),

  ...authExchange,
  ...authNotSent,
} satisfies CatalogueSection;
