import { entry } from "./entry";

const at = (file: string, line: number | null) => (line !== null ? `${file}:${line}` : file);

/** Findings of the `config` stage about the judged client's own files (src/clients/). */
export const configClients = {
  HOSTS_TOML_INVALID: entry<{ file: string; line: number | null; message: string; host: string; client: string }>({
    stage: "config",
    severity: "warning",
    title: "containerd cannot decode this hosts.toml and silently drops its mirrors",
    explain:
      "containerd reads <root>/<host>/hosts.toml on every pull. When the file does not decode (a TOML syntax error, an unknown " +
      "capability, a value of the wrong type) containerd logs `failed to decode` at error level and falls back to the directory's " +
      "certificate files only: every mirror, `server` and TLS setting of the file is ignored and the pull goes straight to the registry.",
    seen: [
      'containerd log: level=error msg="failed to decode /etc/containerd/certs.d/docker.io/hosts.toml" error="toml: …"',
      "ctr/crictl/kubelet: nothing about the file; pulls go to the upstream registry (or fail in an air-gapped network with its dial error)",
      "docker (containerd store): the same, for /etc/docker/certs.d/<host>/hosts.toml",
    ],
    causes: [
      "a TOML syntax error (a missing quote, `=` without a value, a duplicated table)",
      'an unknown capability: only "pull", "resolve", "push" (and "referrers" on containerd 2.x)',
      'skip_verify = "true" (a string) instead of true',
      "ca or client given as a table instead of a path or a list of paths",
    ],
    howKnown:
      "The file is decoded with containerd's rules (containerd/containerd:core/remotes/docker/config/hosts.go#parseHostsFile); the first error is reported with its line.",
    detail: (p) => `${at(p.file, p.line)}: ${p.message}. ${p.client} ignores every mirror and setting of this file for ${p.host}.`,
    fixes: (p) => [
      `Fix ${at(p.file, p.line)}; check it with: python3 -c 'import tomllib,sys; tomllib.load(open(sys.argv[1],"rb"))' ${p.file}`,
      `Capabilities are a list of strings: capabilities = ["pull", "resolve"]; skip_verify is true or false`,
      `Then re-run: pulldoctor check IMAGE --hosts-dir ${p.file.replace(/\/[^/]+\/hosts\.toml$/, "")}`,
    ],
    genericFixes: [
      'Validate the hosts.toml as TOML and keep to containerd\'s fields (server, [host."URL"], capabilities, ca, client, skip_verify, header, override_path)',
    ],
  }),

  HOSTS_DIR_IGNORED: entry<{ configFile: string; configPath: string; source: string; found: string[] }>({
    stage: "config",
    severity: "warning",
    title: "containerd 2.1+ CRI (transfer mode) reads config_path as one directory: this colon list matches nothing",
    explain:
      "containerd 2.1 and later pull for the CRI through the transfer service unless a setting forces the local mode. The transfer " +
      "path hands the whole `config_path` string to HostDirFromRoot as a single directory, so the default colon list " +
      "`/etc/containerd/certs.d:/etc/docker/certs.d` (or any list) finds no hosts.toml and every mirror is ignored, with no log line.",
    seen: [
      'kubelet/crictl: pulls go to the upstream registry despite hosts.toml mirrors; in an air-gapped network: failed to do request: Head "https://registry-1.docker.io/v2/…": dial tcp …',
    ],
    causes: ["config_path left at containerd 2.x's default colon list", "config_path set to several roots separated by ':'"],
    howKnown:
      "config.toml is version 3 (containerd 2.x), nothing in the CRI images section forces local pull mode (internal/cri/config/config.go#CheckLocalImagePullConfigs), config_path holds a ':' and one of its roots has a directory for this host (containerd/containerd#12415, #12808).",
    detail: (p) =>
      `config_path = "${p.configPath}" (${p.source}) is read as one directory in transfer mode; the hosts.toml in ${p.found.join(", ")} is never seen.`,
    fixes: (p) => [
      `Set a single root in ${p.configFile}: [plugins."io.containerd.cri.v1.images".registry] config_path = "${p.found[0]?.replace(/\/[^/]+$/, "") ?? "/etc/containerd/certs.d"}"`,
      `Or force local pull mode: [plugins."io.containerd.cri.v1.images"] use_local_image_pull = true; then systemctl restart containerd`,
    ],
    genericFixes: ['Give config_path one directory, e.g. config_path = "/etc/containerd/certs.d", and restart containerd'],
  }),

  PULL_SECRET_NO_MATCH: entry<{ repo: string; keys: { key: string; file: string; why: string }[] }>({
    stage: "config",
    severity: "warning",
    title: "No pull secret key matches this image under kubelet's rules: the pull is anonymous",
    explain:
      "kubelet picks credentials by matching each auths key against the image: the same number of host labels, each label a glob, " +
      "an equal port, and the key's path a string prefix of the image's path. Docker Hub images fall back to the index.docker.io key. " +
      "When nothing matches, kubelet asks the runtime for an anonymous pull, which private repositories refuse.",
    seen: [
      'kubelet: Failed to pull image "registry.example.com/team/app:1.0": … pull access denied, repository does not exist or may require authorization …',
      "kubelet: … 401 Unauthorized",
    ],
    causes: [
      "the key names another host, or the image has a port the key lacks (registry.example.com vs registry.example.com:5000)",
      "a key registry-1.docker.io for Docker Hub (kubelet matches docker.io or index.docker.io only)",
      "*.example.com used for example.com or a.b.example.com (one glob per label)",
      "a key with a path that is not a prefix of the image's path",
    ],
    howKnown:
      "Each key is matched as kubelet's keyring does (kubernetes/kubernetes:pkg/credentialprovider/keyring.go#URLsMatch, #isDefaultRegistryMatch).",
    detail: (p) => `${p.repo}: ${p.keys.map((k) => `${k.key} (${k.file}): ${k.why}`).join("; ")}.`,
    fixes: (p) => {
      const host = p.repo.split("/")[0]!;
      const key = host === "docker.io" ? "https://index.docker.io/v1/" : host;
      return [
        `kubectl create secret docker-registry regcred --docker-server=${key} --docker-username=USER --docker-password=PASSWORD`,
        "Reference it in the pod: spec.imagePullSecrets: [{name: regcred}]",
      ];
    },
    genericFixes: ["kubectl create secret docker-registry regcred --docker-server=HOST[:PORT] …, then imagePullSecrets: [{name: regcred}]"],
  }),

  CREDS_PROVIDER_FAILED: entry<{ plugin: string; path: string; image: string; config: string; error: string }>({
    stage: "config",
    severity: "warning",
    title: "A kubelet credential provider plugin failed: its credentials are missing from this pull",
    explain:
      "kubelet runs each exec credential provider whose matchImages match the image: the plugin gets a CredentialProviderRequest " +
      "on stdin and must print a CredentialProviderResponse with the same apiVersion and a valid cacheKeyType. A plugin that is " +
      "missing, exits non-zero, hangs or prints anything else gives no credentials; kubelet logs the error and pulls with what " +
      "else matches (the pull secrets, the node's config.json), else anonymously.",
    seen: [
      "kubelet log: Failed getting credential from external registry credential provider: error execing credential provider plugin ecr-credential-provider for image 123.dkr.ecr.eu-west-1.amazonaws.com/app: exit status 1",
      'kubelet: Failed to pull image "123.dkr.ecr.eu-west-1.amazonaws.com/app:1.0": … 401 Unauthorized (no credentials were sent)',
    ],
    causes: [
      "the binary is not in --image-credential-provider-bin-dir, or not executable",
      "the plugin's own cloud login failed (no instance role, an expired token, no network to the cloud's token service)",
      "the provider's apiVersion in the config differs from the one the plugin answers with",
    ],
    howKnown:
      "The plugin is run as kubelet runs it, bounded by --timeout (kubernetes/kubernetes:pkg/credentialprovider/plugin/plugin.go#execPlugin.ExecPlugin).",
    detail: (p) => `${p.plugin} (${p.path}, from ${p.config}) for ${p.image}: ${p.error}.`,
    fixes: (p) => [
      `Run it as kubelet does: echo '{"kind":"CredentialProviderRequest","apiVersion":"credentialprovider.kubelet.k8s.io/v1","image":"${p.image}"}' | ${p.path}`,
      `Check the provider's entry in ${p.config} (name = the binary, apiVersion = what the plugin answers)`,
      "Or give the pod a pull secret: kubectl create secret docker-registry regcred …, then imagePullSecrets: [{name: regcred}]",
    ],
    genericFixes: ["Run the plugin by hand with a CredentialProviderRequest on stdin; fix its config entry or its cloud login"],
  }),

  PULL_SECRET_UNSUPPORTED: entry<{ file: string; fields: string[] }>({
    stage: "config",
    severity: "warning",
    title: "kubelet ignores identitytoken, credsStore and credHelpers in a pull secret",
    explain:
      "kubelet reads only username, password and auth from each auths entry of a pull secret or of /var/lib/kubelet/config.json. " +
      "An identity token, a credential store or credential helpers that work for `docker login` give kubelet nothing.",
    seen: ["kubelet: Failed to pull image …: … 401 Unauthorized (the secret looked right to docker)"],
    causes: [
      "a config.json copied from a workstation that uses a credential helper",
      "an OAuth identity token (Azure ACR, some SSO logins)",
    ],
    howKnown:
      "Fields outside username/password/auth are listed (kubernetes/kubernetes:pkg/credentialprovider/config.go#DockerConfigEntry).",
    detail: (p) => `${p.file}: ${p.fields.join(", ")} ${p.fields.length === 1 ? "is" : "are"} ignored by kubelet.`,
    fixes: () => [
      "kubectl create secret docker-registry regcred --docker-server=HOST --docker-username=USER --docker-password=PASSWORD (a password or access token, not a helper)",
      "For cloud registries, configure a kubelet credential provider plugin instead",
    ],
    genericFixes: ["Put username and password (or auth) into the secret; use a kubelet credential provider for helpers"],
  }),

  PULL_SECRET_INVALID: entry<{ file: string; line: number | null; message: string }>({
    stage: "config",
    severity: "error",
    title: "A pull secret cannot be read the way kubelet reads it",
    explain:
      "A pull secret must be a Secret of type kubernetes.io/dockerconfigjson (or dockercfg) whose data is base64 of a config.json " +
      "with credentials, or such a config.json itself. A secret that is not YAML/JSON, has another type, holds bad base64 or an " +
      "`auth` that is not user:password makes kubelet fail the lookup; an empty auths gives no credentials at all.",
    seen: ['kubelet: Failed to pull image "…": … (ErrImagePull)', 'kubectl: error: error validating "secret.yaml": …'],
    causes: ["type: Opaque instead of kubernetes.io/dockerconfigjson", "the JSON pasted unencoded into data", "an empty auths: {}"],
    howKnown: "The secret is decoded as kubelet decodes it (pkg/credentialprovider/secrets/secrets.go#MakeDockerKeyring).",
    detail: (p) => `${at(p.file, p.line)}: ${p.message}.`,
    fixes: () => [
      "Recreate it: kubectl create secret docker-registry regcred --docker-server=HOST --docker-username=USER --docker-password=PASSWORD --dry-run=client -o yaml",
      "Or from a working config.json: kubectl create secret generic regcred --from-file=.dockerconfigjson=config.json --type=kubernetes.io/dockerconfigjson",
    ],
    genericFixes: ["kubectl create secret docker-registry regcred …"],
  }),

  SHORT_NAME_UNRESOLVED: entry<{ name: string; reason: string; file: string }>({
    stage: "config",
    severity: "error",
    title: "podman/CRI-O cannot resolve this short name",
    explain:
      "containers/image does not assume docker.io for a name without a registry. It uses an alias, else the " +
      "`unqualified-search-registries` of registries.conf. With none it fails; in `enforcing` mode with several search registries " +
      "it asks on a terminal and fails without one (scripts, CI, CRI-O).",
    seen: [
      'podman: Error: short-name "app" did not resolve to an alias and no unqualified-search registries are defined in "/etc/containers/registries.conf"',
      "podman: Error: short-name resolution enforced but cannot prompt without a TTY",
    ],
    causes: ["no unqualified-search-registries", 'short-name-mode = "enforcing" with several search registries and no terminal'],
    howKnown: "registries.conf and registries.conf.d are merged and the name resolved as containers/image:pkg/shortnames does.",
    detail: (p) => `"${p.name}": ${p.reason} (${p.file}).`,
    fixes: (p) => [
      `Use the full name: docker.io/${p.name.includes("/") ? p.name : `library/${p.name}`}`,
      `Or add to ${p.file}: unqualified-search-registries = ["docker.io"]`,
      `Or an alias: [aliases] "${p.name.replace(/[:@].*$/, "")}" = "docker.io/${p.name.includes("/") ? p.name.replace(/[:@].*$/, "") : `library/${p.name.replace(/[:@].*$/, "")}`}"`,
    ],
    genericFixes: ["Use a fully qualified name (registry/repository:tag), or set unqualified-search-registries"],
  }),

  REGISTRY_BLOCKED: entry<{ image: string; prefix: string; source: string }>({
    stage: "config",
    severity: "error",
    title: "registries.conf blocks this registry",
    explain:
      "A [[registry]] entry whose prefix matches the image has `blocked = true`: containers/image refuses to pull from it before any request.",
    seen: [
      "podman/skopeo: Error: … registry registry.example.com is blocked in /etc/containers/registries.conf or /etc/containers/registries.conf.d",
    ],
    causes: ["a policy that forbids a registry", "a leftover [registries.block] (v1) entry"],
    howKnown: "The [[registry]] with the longest matching prefix is found as containers/image:pkg/sysregistriesv2#FindRegistry does.",
    detail: (p) => `${p.image} matches prefix ${p.prefix} (${p.source}), which has blocked = true.`,
    fixes: (p) => [
      `Remove blocked = true from the [[registry]] at ${p.source} (if the block is not intended)`,
      "Or pull from an allowed mirror or registry",
    ],
    genericFixes: ["Remove blocked = true from the matching [[registry]] in registries.conf"],
  }),

  POLICY_REJECTED: entry<{ image: string; file: string; scope: string; reason: string }>({
    stage: "config",
    severity: "error",
    title: "The signature policy (policy.json) refuses this image",
    explain:
      "podman, skopeo and CRI-O check policy.json before they keep an image. A `reject` requirement refuses every image of the scope; " +
      "`signedBy`/`sigstoreSigned` refuse an image without a signature they can find.",
    seen: [
      "podman: Error: Source image rejected: Running image docker://… is rejected by policy.",
      "podman: Error: Source image rejected: A signature was required, but no signature exists",
    ],
    causes: [
      '"default": [{"type": "reject"}] with no scope for this registry',
      "signedBy without a lookaside for the registry",
      "sigstoreSigned without use-sigstore-attachments",
    ],
    howKnown:
      "The most specific scope is chosen as containers/image:signature/policy_eval.go does; signature sources come from registries.d.",
    detail: (p) => `${p.image}: scope ${p.scope} in ${p.file}: ${p.reason}.`,
    fixes: (p) => [
      `Add a scope for it in ${p.file} under transports.docker, e.g. "${p.image.split("/")[0]}": [{"type": "insecureAcceptAnything"}] (if unsigned images are acceptable)`,
      "Or configure where its signatures are: registries.d lookaside, or use-sigstore-attachments: true",
    ],
    genericFixes: ["Add a transports.docker scope for the registry in policy.json, or configure its signature source in registries.d"],
  }),

  CONTENT_TRUST_ENABLED: entry<{ source: string; image: string }>({
    stage: "config",
    severity: "warning",
    title: "Docker Content Trust is on: docker asks a Notary server for trust data first",
    explain:
      "With DOCKER_CONTENT_TRUST=1 the docker CLI resolves the tag through the registry's Notary server before it pulls. Images " +
      "without signed trust data, and registries without a Notary server, fail even though the registry itself serves them.",
    seen: [
      "docker: Error: remote trust data does not exist for docker.io/library/app: notary.docker.io does not have trust data for docker.io/library/app",
      "docker: Error: error contacting notary server: …",
    ],
    causes: ["DOCKER_CONTENT_TRUST=1 in the shell, a CI profile or /etc/environment"],
    howKnown: "The environment of this run is read.",
    detail: (p) => `DOCKER_CONTENT_TRUST=1 (${p.source}): docker pull ${p.image} needs signed trust data for the tag.`,
    fixes: (p) => [`docker pull --disable-content-trust ${p.image}`, "Or unset DOCKER_CONTENT_TRUST for this pull"],
    genericFixes: ["docker pull --disable-content-trust IMAGE, or unset DOCKER_CONTENT_TRUST"],
  }),

  CLIENT_CONFIG_INVALID: entry<{ client: string; file: string; line: number | null; message: string; consequence: string }>({
    stage: "config",
    severity: "error",
    title: "The judged client's config file cannot be used",
    explain:
      "A file the client reads before any request (containerd's config.toml, registries.conf and its drop-ins, policy.json, " +
      "podman's auth.json — REGISTRY_AUTH_FILE's or the default path) does " +
      "not decode or holds entries the client refuses: a registries.conf in the v1 format mixed with v2, one location with " +
      "conflicting insecure/blocked settings, a policy without a default. containers/image's credential lookup ends at the " +
      "first auth file that cannot be read or decoded, before the files after it, so the pull fails even when a later one holds the credentials.",
    seen: [
      "podman: Error: … mixing sysregistry v1/v2 is not supported",
      'skopeo: … getting username and password: 1 error occurred: * reading JSON file "…/auth.json": unmarshaling JSON at "…/auth.json": invalid character …',
      "podman: Error: … registry 'registry.example.com' is defined multiple times with conflicting 'insecure' setting",
      "containerd: failed to load TOML: /etc/containerd/config.toml: … (containerd does not start)",
    ],
    causes: [
      "a hand edit with a TOML/JSON error",
      "v1 tables ([registries.search]) left next to v2 [[registry]] tables",
      "the same registry listed twice with different settings",
    ],
    howKnown: "The file is decoded with the client's rules; the position is reported.",
    detail: (p) => `${at(p.file, p.line)}: ${p.message}. ${p.consequence}`,
    fixes: (p) => [
      `Fix ${at(p.file, p.line)}`,
      p.file.endsWith(".json")
        ? `python3 -m json.tool ${p.file}`
        : `Convert v1 tables to v2: unqualified-search-registries = [...] and [[registry]] entries (man containers-registries.conf)`,
    ],
    genericFixes: ["Fix the file at the line shown; registries.conf must be v2 only"],
  }),
};
