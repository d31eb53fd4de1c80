/** `pulldoctor --help`. */
export const USAGE = `Usage: pulldoctor [IMAGE]                 interactive doctor (plain check when not a terminal)
       pulldoctor check IMAGE [options]  diagnose every stage of a pull
       pulldoctor check -f FILE [IMAGE...]  many images (compose, Kubernetes, kubectl pods): a table and a batch report
       pulldoctor pull IMAGE [--output DEST]  diagnose, then pull (oci:DIR[:TAG] | docker-archive:FILE | docker)
       pulldoctor pull -f FILE [IMAGE...] | -a IMAGE  many images, or every tag, into one output
       pulldoctor ref IMAGE [--json]     show how IMAGE is normalized
       pulldoctor explain [CODE]         a finding's catalogue entry (all codes without CODE)
       pulldoctor explain --error TEXT|-  name the client, codes and image of a pasted pull error (- reads stdin)
       pulldoctor demo [--tour|--faults] [--port N]  a lab registry with broken repositories on loopback
       pulldoctor fleet manifest|summarize …  run the doctor on every node of a cluster (fleet --help)
       pulldoctor egress IMAGE... | -f FILE [--format plain|json|csv]  the hosts a firewall must allow
       pulldoctor --version | --help

Options:
  --json                      JSON report on stdout (nothing else there); non-interactive
  --report FILE               also write the JSON report to FILE
  --platform OS/ARCH[/VAR]    platform to pick from an index (default: this host's)
  --username U --password-stdin  credentials for this run only (never stored)
  --docker-config PATH        client config dir, config.json or .dockerconfigjson
  --daemon-config FILE        daemon config (default /etc/docker/daemon.json)
  --certs-dir DIR             per-registry certs (default /etc/docker/certs.d)
  --dns SERVER[:PORT]         ask this DNS server (repeatable)
  --insecure-registry HOST[:PORT]  treat as insecure, like daemon.json (repeatable)
  --mirror URL                docker.io mirror, like daemon.json registry-mirrors (repeatable)
  --timeout SECONDS           per network step (default 15)
  --client NAME               whose pull is judged: auto (default: detected), docker, containerd, kubelet, podman,
                              all (each client walks its own hosts; exit 1 when any client's pull fails)
  --docker-store classic|containerd  docker's image store (default: the Engine's /info, else containerd)
  --containerd-config FILE    containerd config.toml, read for the CRI registry config_path
                              (default /etc/containerd/config.toml)
  --hosts-dir DIR             hosts.toml tree DIR/<host[:port]>/hosts.toml (repeatable; default: config_path,
                              else /etc/containerd/certs.d; docker's containerd store: /etc/docker/certs.d)
  --plain-http                containerd: as ctr --plain-http, plain HTTP to every host but docker.io
  --pull-secret FILE          kubelet: a Secret (YAML/JSON) or a .dockerconfigjson (repeatable, in the pod's order)
  --registries-conf FILE      podman/CRI-O registries.conf (default /etc/containers/registries.conf + .d/)
  --output DEST               pull only: oci:DIR[:TAG], docker-archive:FILE or docker (default: docker when an
                              Engine answers, else oci:./NAME:TAG; -f: oci:./images; -a: oci:./NAME)
  --concurrency N             pull only: parallel blob transfers
  -a, --all-tags              pull only: every tag of the repository (tags/list), like docker pull -a
  -q, --quiet                 pull only: print only the pulled references with their digests
  --limit-rate RATE           pull only: cap the download rate, bytes/s (10M, 500k; 1k = 1024)
  --verbose                   show every HTTP exchange (secrets redacted)
  --no-color                  no colour (also NO_COLOR, or when not a terminal)
  --yes                       accept the default answer to every prompt
  -f, --file FILE             check, pull, egress, the interactive doctor: images from a compose file, Kubernetes YAML/JSON or kubectl get pods -o json (- is stdin; repeatable)
  --all                       with kubectl output: every container, not only those waiting on a failed pull
  --format plain|json|csv     egress: how the allow-list is printed (default plain)

Exit status: 0 no error finding, 1 an error finding, 2 misuse, 70 internal error, 130 interrupted, 141 output closed early (| head).
`;
