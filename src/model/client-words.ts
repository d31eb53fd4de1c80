/**
 * The judged client's words for the fixes that differ per client (SPEC "Clients": every fix is
 * written for the judged client). Absent or "docker": the entry keeps Docker's own words.
 */
export type FixesFor = "docker" | "hosts.toml" | "registries.conf" | "kubernetes";

/** Not Docker: the entry must speak another client's words. */
export const otherClient = (f: FixesFor | undefined): f is Exclude<FixesFor, "docker"> => !!f && f !== "docker";

/** The client as a sentence names it. */
export function clientName(f: FixesFor | undefined): string {
  return f === "hosts.toml" ? "containerd" : f === "kubernetes" ? "kubelet" : f === "registries.conf" ? "podman" : "Docker";
}

/** ctr takes only a full reference (no docker.io/library defaults, no implicit latest). */
export function qualified(image: string): string {
  const first = image.split("/")[0]!;
  const hasHost = image.includes("/") && (/[.:]/.test(first) || first === "localhost");
  const full = hasHost ? image : `docker.io/${image.includes("/") ? image : `library/${image}`}`;
  const last = full.split("/").pop()!;
  return last.includes(":") || last.includes("@") ? full : `${full}:latest`;
}

/** How the (non-Docker) client logs in to a registry, as a clause. */
export function loginWords(registry: string, f: Exclude<FixesFor, "docker">): string {
  const server = registry === "docker.io" ? "https://index.docker.io/v1/" : registry;
  switch (f) {
    case "hosts.toml":
      return `\`nerdctl login ${registry}\` (ctr: \`ctr images pull --user USER …\`)`;
    case "kubernetes":
      return `a pull secret: \`kubectl create secret docker-registry regcred --docker-server=${server} --docker-username=USER --docker-password=TOKEN\` and \`imagePullSecrets: [{name: regcred}]\` in the pod spec`;
    case "registries.conf":
      return `\`podman login ${registry}\``;
  }
}

/** A pull-through cache for Docker Hub, in the (non-Docker) client's file. */
export function hubMirrorWords(f: Exclude<FixesFor, "docker">): string {
  const toml =
    '/etc/containerd/certs.d/docker.io/hosts.toml: [host."https://mirror.example.com"] with capabilities = ["pull", "resolve"] (read again on every pull)';
  switch (f) {
    case "hosts.toml":
      return `Use a registry mirror / pull-through cache: ${toml}.`;
    case "kubernetes":
      return `Use a registry mirror / pull-through cache on every node: ${toml}.`;
    case "registries.conf":
      return 'Use a registry mirror / pull-through cache: [[registry]] location = "docker.io" with [[registry.mirror]] location = "mirror.example.com" in /etc/containers/registries.conf.';
  }
}

/** Pull another platform the image offers, as the (non-Docker) client does it. */
export function platformPullWords(platform: string, image: string, f: Exclude<FixesFor, "docker">): string {
  switch (f) {
    case "hosts.toml":
      return `ctr images pull --platform ${platform} ${qualified(image)} (nerdctl: nerdctl pull --platform ${platform} ${image})`;
    case "registries.conf":
      return `podman pull --platform ${platform} ${image}`;
    case "kubernetes": {
      const [os, arch] = platform.split("/");
      return `kubelet pulls only its node's platform: run the pod on nodes of a platform the image offers (nodeSelector: {kubernetes.io/os: ${os}, kubernetes.io/arch: ${arch}})`;
    }
  }
}

/** Where the (non-Docker) client takes a registry's CA, as a fix. */
export function caWords(host: string, f: Exclude<FixesFor, "docker">): string {
  switch (f) {
    case "hosts.toml":
      return `sudo mkdir -p /etc/containerd/certs.d/${host} && sudo cp ca.crt /etc/containerd/certs.d/${host}/ca.crt, and name it in /etc/containerd/certs.d/${host}/hosts.toml: ca = "/etc/containerd/certs.d/${host}/ca.crt" (read again on every pull, no restart)`;
    case "kubernetes":
      return `on every node: sudo cp ca.crt /etc/containerd/certs.d/${host}/ca.crt and name it in /etc/containerd/certs.d/${host}/hosts.toml: ca = "/etc/containerd/certs.d/${host}/ca.crt" (the CRI config_path; CRI-O nodes: /etc/containers/certs.d/${host}/ca.crt)`;
    case "registries.conf":
      return `sudo mkdir -p /etc/containers/certs.d/${host} && sudo cp ca.crt /etc/containers/certs.d/${host}/ca.crt (rootless: ~/.config/containers/certs.d/${host}/; read on every pull)`;
  }
}

/** The service to restart after the system trust store changed (podman has none: it reads the store per run). */
export function trustRestart(f: Exclude<FixesFor, "docker">): string {
  return f === "registries.conf"
    ? ""
    : f === "kubernetes"
      ? " && sudo systemctl restart containerd (on every node)"
      : " && sudo systemctl restart containerd";
}

/** Where the (non-Docker) client takes its proxy variables from, as a fix ("set HTTPS_PROXY …"). */
export function proxyEnvWords(f: Exclude<FixesFor, "docker">): string {
  const unit =
    "the containerd service's environment (systemd drop-in /etc/systemd/system/containerd.service.d/http-proxy.conf), then: sudo systemctl daemon-reload && sudo systemctl restart containerd";
  return f === "registries.conf" ? "the environment podman runs with" : f === "kubernetes" ? `${unit}, on every node` : unit;
}

/** Where the (non-Docker) client's mirror URL is written. */
export function mirrorWords(f: Exclude<FixesFor, "docker">): string {
  return f === "registries.conf"
    ? "its [[registry.mirror]] location in /etc/containers/registries.conf"
    : `its [host."…"] table in the registry's /etc/containerd/certs.d/REGISTRY/hosts.toml${f === "kubernetes" ? " on every node" : ""}`;
}

/** Where the (non-Docker) client takes a client certificate pair (mTLS). */
export function clientCertWords(host: string, f: Exclude<FixesFor, "docker">): string {
  return f === "registries.conf"
    ? `Put the client pair podman should present in /etc/containers/certs.d/${host}/: client.cert and client.key (same base name; a CA goes in *.crt)`
    : `Name the client pair in /etc/containerd/certs.d/${host}/hosts.toml${f === "kubernetes" ? " on every node" : ""}: client = [["/path/client.cert", "/path/client.key"]]`;
}
