import type { AuthBase } from "./auth-base";

/** How the judged client gets credentials, first fix of AUTH_CREDENTIALS_REQUIRED (SPEC "Clients": fixes for the judged client). */
export function giveCredentials(p: AuthBase): string[] {
  const server = p.registry === "docker.io" ? "https://index.docker.io/v1/" : p.registry;
  switch (p.fixesFor) {
    case "kubernetes":
      return [
        `Create a pull secret in the pod's namespace: \`kubectl create secret docker-registry regcred --docker-server=${server} --docker-username=USER --docker-password=TOKEN\``,
        "Reference it in the pod spec (or its service account): `imagePullSecrets: [{name: regcred}]`; kubelet matches its key against the image (same host labels, port and path prefix)",
      ];
    case "hosts.toml":
      return [
        `containerd takes the caller's credentials: \`ctr images pull --user USER ${p.registry}/${p.repository}:TAG\` (nerdctl: \`nerdctl login ${p.registry}\`)`,
      ];
    case "registries.conf":
      return [
        `\`podman login ${p.registry}\` (written to \${XDG_RUNTIME_DIR}/containers/auth.json, or to the file REGISTRY_AUTH_FILE names; skopeo and CRI-O read it too)`,
      ];
    default:
      return [];
  }
}
