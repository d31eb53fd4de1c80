import { type CatalogueSection, entry } from "./entry";

/** Where each well-known helper comes from (docker-credential-<name>). */
function installHint(name: string, helper: string): string {
  const known: Record<string, string> = {
    desktop: `${helper} ships with Docker Desktop: start or reinstall Docker Desktop (on WSL, enable its WSL integration)`,
    "desktop.exe": `${helper} ships with Docker Desktop for Windows: enable the WSL integration or reinstall Docker Desktop`,
    "ecr-login": `Install amazon-ecr-credential-helper (apt-get install amazon-ecr-credential-helper)`,
    gcloud: `Install the Google Cloud CLI and run: gcloud auth configure-docker`,
    gcr: `Install docker-credential-gcr (or the Google Cloud CLI: gcloud auth configure-docker)`,
    "acr-env": `Install docker-credential-acr-env (github.com/chrismellard/docker-credential-acr-env)`,
  };
  return (
    known[name] ??
    `Install ${helper} (pass, secretservice, osxkeychain, wincred: https://github.com/docker/docker-credential-helpers/releases; apt-get install golang-docker-credential-helpers) and put it on PATH`
  );
}

/** Findings of the `config` stage. */
export const config = {
  CONFIG_UNREADABLE: entry<{
    path: string;
    message: string;
    kind: string;
    line: number | null;
    column: number | null;
    dockerWarning: string;
    consequence: string;
  }>({
    stage: "config",
    severity: "warning",
    title: "The Docker client config cannot be read",
    explain:
      "config.json is not valid JSON, has a field of the wrong type, holds an `auth` value that is not base64 `user:password`, " +
      "or cannot be opened (or DOCKER_AUTH_CONFIG is set but not usable). Docker prints a warning and goes on with whatever it " +
      "decoded before the error — for a syntax error nothing — so the pull often runs anonymously and private images fail later " +
      "with `unauthorized` or `pull access denied`.",
    seen: [
      "docker: WARNING: Error parsing config file (/root/.docker/config.json): unexpected EOF",
      "docker: WARNING: Error parsing config file (/root/.docker/config.json): invalid character '}' looking for beginning of object key string",
      "docker: WARNING: Error parsing config file (/root/.docker/config.json): json: cannot unmarshal bool into Go struct field ConfigFile.features of type string",
      "docker: WARNING: Error parsing config file (/root/.docker/config.json): illegal base64 data at input byte 3",
      'docker: Failed to create credential store from DOCKER_AUTH_CONFIG:  json: unknown field "username"',
      "then: Error response from daemon: pull access denied for registry.example.com/team/app, repository does not exist or may require 'docker login'",
    ],
    causes: [
      "a hand edit left a trailing comma, a missing quote or brace",
      "the file was truncated (disk full, interrupted write) or is empty of JSON but not of text",
      'a value of the wrong type ("features": {"buildkit": true} instead of "true")',
      "an `auth` value that is not standard padded base64 of user:password",
      "a byte-order mark or a comment at the start of the file",
      "DOCKER_AUTH_CONFIG with fields other than `auth`, or with two JSON objects",
    ],
    howKnown:
      "The file is decoded exactly as docker/cli decodes it (Go's encoding/json and base64 errors, same wording); the position of the error is reported.",
    detail: (p) => `${p.path}${p.line !== null ? `:${p.line}:${p.column}` : ""}: ${p.message}. ${p.consequence}`,
    fixes: (p) =>
      p.kind === "env"
        ? [
            'Check it: printf %s "$DOCKER_AUTH_CONFIG" | python3 -m json.tool',
            'Only this shape is accepted: {"auths": {"HOST[:PORT]": {"auth": "<base64 of user:password>"}}} (Docker Hub: "https://index.docker.io/v1/")',
            "Or unset DOCKER_AUTH_CONFIG and use docker login",
          ]
        : [
            `Show the error position: python3 -m json.tool ${p.path}`,
            `Fix the file by hand${p.line !== null ? ` around line ${p.line}` : ""}; do not run "docker login" first: it may rewrite a file it could not parse and lose its other settings`,
            `Keep a copy before editing: cp ${p.path} ${p.path}.bak`,
          ],
    genericFixes: ["python3 -m json.tool ~/.docker/config.json", "Fix the JSON by hand (keep a copy first), then run docker login again"],
  }),

  CREDS_HELPER_MISSING: entry<{
    helper: string;
    name: string;
    via: string;
    lookupKey: string;
    registry: string;
    configPath: string;
    error: string;
  }>({
    stage: "config",
    severity: "error",
    title: "The configured credential helper is not installed",
    explain:
      "config.json names a credential helper (`credsStore` for every registry, or `credHelpers` for this one) but no executable " +
      "docker-credential-<name> is on PATH. Docker CLI 29 and later stop the pull with this error before anything is sent; " +
      "CLI 28 and older ignored it and pulled with config.json's own entry for the registry (usually none: anonymous).",
    seen: [
      'docker: error getting credentials - err: exec: "docker-credential-desktop": executable file not found in $PATH, out: ``',
      'docker compose: error getting credentials - err: exec: "docker-credential-desktop.exe": executable file not found in $PATH, out: ``',
      'docker build: error listing credentials - err: exec: "docker-credential-osxkeychain": executable file not found in $PATH, out: ``',
    ],
    causes: [
      "`credsStore: desktop` (or osxkeychain/wincred) left behind after uninstalling Docker Desktop, or copied from another machine",
      "the helper is installed but not on the PATH of this shell, CI job, sudo or WSL session",
      "a `credHelpers` entry for a cloud registry (ecr-login, gcloud, acr-env) whose tool is not installed",
    ],
    howKnown:
      "config.json is read and the helper is looked up on PATH exactly as Go's exec.LookPath does; nothing is executed when it is missing.",
    detail: (p) =>
      `${p.via === "credHelpers" ? `credHelpers["${p.lookupKey}"]` : "credsStore"} = "${p.name}" in ${p.configPath}, but ${p.helper} is not on PATH. Docker 29+ stops with: ${p.error} (Docker 28 and older go on without the helper's credentials).`,
    fixes: (p) => [
      `${installHint(p.name, p.helper)}, then check: echo '${p.lookupKey}' | ${p.helper} get`,
      p.via === "credHelpers"
        ? `Or remove the "${p.lookupKey}" entry from "credHelpers" in ${p.configPath}, then docker login ${p.registry === "docker.io" ? "" : p.registry}`.trimEnd()
        : `Or remove "credsStore": "${p.name}" from ${p.configPath}, then docker login ${p.registry === "docker.io" ? "" : p.registry}`.trimEnd(),
      `Check what this shell sees: command -v ${p.helper}; echo "$PATH"`,
    ],
    genericFixes: [
      "Install the docker-credential-<name> helper and put it on PATH",
      "Or remove `credsStore`/the `credHelpers` entry from config.json and log in again",
    ],
  }),

  CREDS_HELPER_FAILED: entry<{
    helper: string;
    via: string;
    lookupKey: string;
    registry: string;
    configPath: string;
    exitCode: number | null;
    output: string;
    error: string;
  }>({
    stage: "config",
    severity: "error",
    title: "The credential helper failed",
    explain:
      "The credential helper ran but failed (non-zero exit other than 'not found', a timeout, or output that is not the JSON " +
      "the protocol requires). Docker CLI 29 and later stop the pull with the helper's message; nothing is sent to the registry. " +
      "CLI 28 and older ignored the failure and pulled without the helper's credentials.",
    seen: [
      "docker: error getting credentials - err: exit status 1, out: `User interaction is not allowed.`",
      "docker: error getting credentials - err: exit status 1, out: `keychain is locked for the current non-interactive session`",
      "docker: error getting credentials - err: exit status 1, out: `pass store is uninitialized`",
      'nerdctl: cannot get auth config for authConfigHostname="https://index.docker.io/v1/" ... error getting credentials - err: exit status 22, out: `Error processing request.`',
    ],
    causes: [
      "a locked keychain (macOS over SSH, CI agents without a login session)",
      "`pass` not initialised (`pass init <gpg-id>`) or its GPG key unavailable",
      "secretservice without a D-Bus session (headless servers, containers)",
      "a cloud helper whose own login expired (aws, gcloud, az)",
      "no store configured, but docker-credential-secretservice (or -pass) is installed: Docker uses it by default on Linux",
    ],
    howKnown:
      "The helper is run with the real protocol (`get`, the server URL on stdin) and its exit status and stdout are recorded; the secret itself is never kept.",
    detail: (p) =>
      `${p.via === "detected" ? `(no credsStore in config.json: Docker picked ${p.helper}, found on PATH) ` : ""}${p.helper} get <<< '${p.lookupKey}' → ${p.exitCode === null ? "no exit status" : `exit ${p.exitCode}`}${p.output ? `, said: ${JSON.stringify(p.output)}` : ""}. Docker 29+ stops with: ${p.error} (Docker 28 and older go on without the helper's credentials).`,
    fixes: (p) => [
      `Run it yourself to see the full error: echo '${p.lookupKey}' | ${p.helper} get`,
      ...(p.helper.endsWith("-pass") ? ["pass init <your-gpg-key-id>   (then docker login again)"] : []),
      ...(p.helper.endsWith("-osxkeychain") || p.helper.endsWith("-desktop")
        ? ["security unlock-keychain ~/Library/Keychains/login.keychain-db"]
        : []),
      ...(p.helper.endsWith("-secretservice") ? ['Start a D-Bus session (dbus-run-session -- sh) or switch to "credsStore": "pass"'] : []),
      p.via === "detected"
        ? `config.json names no store, so Docker picked ${p.helper} because it is on PATH: fix it as above, or uninstall it (apt-get remove golang-docker-credential-helpers), or set "credsStore" in ${p.configPath} to a store that works`
        : `Or stop using the helper for this registry: remove it from ${p.configPath} (${p.via}) and run docker login ${p.registry === "docker.io" ? "" : p.registry}`.trimEnd(),
    ],
    genericFixes: [
      "echo <registry> | docker-credential-<name> get",
      "Unlock the keychain / initialise pass / start a D-Bus session",
      "Or remove the helper from config.json and log in again",
    ],
  }),

  CREDS_PLAINTEXT: entry<{ configPath: string; key: string; registry: string; others: number }>({
    stage: "config",
    severity: "warning",
    title: "Registry credentials stored in plain text in config.json",
    explain:
      "The credentials used for this registry sit in config.json `auths` as base64 `user:password` (or as a token), which is an encoding, not " +
      "encryption: anyone who can read the file (backups, support bundles, CI caches) has the password. Docker works with it, " +
      "but a credential helper keeps it in the system keychain instead.",
    seen: [
      "docker login: WARNING! Your password will be stored unencrypted in /root/.docker/config.json.",
      "docker login: Configure a credential helper to remove this warning.",
    ],
    causes: [
      "docker login on a machine without a credential helper configured",
      "a config.json generated by CI or copied from a Kubernetes pull secret",
    ],
    howKnown:
      "The `auths` entry that matched this registry has an `auth`, `password`, `identitytoken` or `registrytoken` value in the file and no helper is configured for it.",
    detail: (p) =>
      `auths["${p.key}"] in ${p.configPath} holds the password or token for ${p.registry}${p.others > 0 ? ` (and ${p.others} other entr${p.others > 1 ? "ies" : "y"} do too)` : ""}.`,
    fixes: (p) => [
      'Install a credential helper (docker-credential-pass, -secretservice, -osxkeychain, -wincred) and set "credsStore" in ' +
        p.configPath,
      `Then docker logout ${p.registry === "docker.io" ? "" : p.registry} && docker login ${p.registry === "docker.io" ? "" : p.registry} to move the secret there`.replace(
        / {2,}/g,
        " ",
      ),
      `Restrict the file meanwhile: chmod 600 ${p.configPath}`,
      "Prefer a short-lived access token over the account password",
    ],
    genericFixes: ['Configure "credsStore" with a docker-credential helper and log in again', "chmod 600 ~/.docker/config.json"],
  }),

  CREDS_NONE: entry<{ registry: string; lookupKey: string; configPath: string; found: boolean; image?: string }>({
    stage: "config",
    severity: "info",
    title: "No credentials for this registry: the pull is anonymous",
    explain:
      "Nothing in config.json, its credential helpers or DOCKER_AUTH_CONFIG matches this registry, so Docker pulls anonymously. " +
      "That is fine for public images; a private repository then fails with `unauthorized` / `pull access denied`.",
    seen: [
      "docker: Error response from daemon: pull access denied for team/app, repository does not exist or may require 'docker login': denied: requested access to the resource is denied",
      'docker: Error response from daemon: Head "https://registry.example.com/v2/team/app/manifests/1.0": no basic auth credentials',
    ],
    causes: [
      "never logged in to this registry on this machine/user",
      "logged in under another key (https://host/v1/ vs host:port, or another user's HOME, sudo)",
      "DOCKER_CONFIG points elsewhere",
    ],
    howKnown: "The lookup Docker makes (key `https://index.docker.io/v1/` for Docker Hub, else host[:port]) finds nothing in any store.",
    detail: (p) =>
      `no entry for ${p.lookupKey} in ${p.found ? p.configPath : `${p.configPath} (file absent)`}, its helpers or DOCKER_AUTH_CONFIG.`,
    fixes: (p) => [
      `If the image is private: docker login ${p.registry === "docker.io" ? "" : p.registry}`.trimEnd(),
      `Or for this run only: pulldoctor check ${p.image ?? "IMAGE"} --username USER --password-stdin (the password on stdin)`,
      "If you logged in as another user (sudo), pass that config: --docker-config /home/USER/.docker",
    ],
    genericFixes: ["docker login REGISTRY", "pulldoctor check IMAGE --username USER --password-stdin"],
  }),

  DAEMON_CONFIG_UNREADABLE: entry<{ path: string; message: string; kind: string; line: number | null; column: number | null }>({
    stage: "config",
    severity: "error",
    title: "daemon.json is invalid: the Docker daemon will not start with it",
    explain:
      "dockerd reads daemon.json at start (and on reload) and refuses to run when it is not a single JSON object with the right " +
      "types. A running daemon keeps its old settings until the next restart, which then fails; every docker command then reports " +
      "that it cannot connect to the daemon.",
    seen: [
      "dockerd: unable to configure the Docker daemon with file /etc/docker/daemon.json: invalid character '}' looking for beginning of object key string",
      "dockerd: unable to configure the Docker daemon with file /etc/docker/daemon.json: unexpected end of JSON input",
      "docker: Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?",
    ],
    causes: [
      "a trailing comma or missing quote after a hand edit",
      "an HTML page saved as daemon.json",
      'a string where a list is expected ("registry-mirrors": "https://…")',
    ],
    howKnown: "The file is parsed as dockerd parses it (trimmed, then one JSON object; Go's error text).",
    detail: (p) => `${p.path}${p.line !== null ? `:${p.line}:${p.column}` : ""}: ${p.message}`,
    fixes: (p) => [
      `Show the error position: python3 -m json.tool ${p.path}`,
      `Validate before restarting: dockerd --validate --config-file ${p.path}`,
      "After fixing it: sudo systemctl restart docker && docker info",
    ],
    genericFixes: [
      "python3 -m json.tool /etc/docker/daemon.json",
      "dockerd --validate --config-file /etc/docker/daemon.json",
      "sudo systemctl restart docker",
    ],
  }),
} satisfies CatalogueSection;
