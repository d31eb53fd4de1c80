import { CONTAINERD_BEHAVIOUR, hostsEvidence, hostsFindings } from "./containerd";
import { contentTrust, dockerMirrorHosts, dockerProfile } from "./docker-classic";
import { lookupHosts } from "./hosts-toml";
import type { ClientInputs } from "./inputs";
import type { ClientJudgement } from "./profile";

/**
 * dockerd with the containerd image store (Docker 29's default): containerd's resolver run inside
 * dockerd (moby/moby:daemon/containerd/resolver.go, daemon/hosts.go#Daemon.RegistryHosts): hosts.toml
 * from /etc/docker/certs.d, daemon.json mirrors merged in for docker.io only when hosts.toml gave one
 * host (#mergeLegacyConfig), credentials only for the login host.
 */
export function dockerContainerd(inp: ClientInputs): ClientJudgement {
  const roots = inp.options.hostsDirs.length > 0 ? inp.options.hostsDirs : [inp.options.certsDir];
  const look = lookupHosts(roots, inp.ref.registry);
  const mirrors = dockerMirrorHosts(inp, "containerd").filter((h) => h.role === "mirror");
  const hosts = look.hosts.length === 1 && mirrors.length > 0 ? [...mirrors, ...look.hosts] : look.hosts;
  return {
    profile: dockerProfile({
      store: "containerd",
      sender: "dockerd (containerd's resolver library in-process)",
      hosts,
      sentTo: "login-host",
      behaviour: {
        ...CONTAINERD_BEHAVIOUR,
        plainHttp: `${CONTAINERD_BEHAVIOUR.plainHttp}; plus daemon.json insecure-registries`,
        shortNames: "docker.io/library/",
      },
    }),
    findings: [...hostsFindings(look, inp.ref.registry, "docker (containerd store)"), ...contentTrust(inp)],
    evidence: { hostsDirs: roots, hosts: hostsEvidence(look) },
  };
}
