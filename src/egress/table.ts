/**
 * Public registries and the hosts each is documented to need, as the vendors published them
 * when the table was checked. Vendor lists go stale (Docker Hub began serving blobs from
 * production.cloudfront.docker.com in May 2026 before its page said so: docker/docs#25108), so
 * the report always lists what was observed on the wire too, and flags a blob host that
 * answers but is in no entry here.
 */

/** When the entries below were last checked against their sources. */
export const TABLE_CHECKED = "2026-08-22";

export type DocumentedRole = "registry" | "token" | "blob";

export interface DocumentedHost {
  /** A host name, or a pattern with `*` standing for one or more name characters ("*.data.mcr.microsoft.com"). */
  host: string;
  roles: DocumentedRole[];
}

export interface RegistryEntry {
  id: string;
  name: string;
  /** The vendor's pages that list these hosts. */
  sources: string[];
  /** Whether an image's registry (as Docker names it: "docker.io", "123.dkr.ecr.eu-west-1.amazonaws.com") is this one. */
  matches(registry: string): boolean;
  /** The hosts a pull from `registry` needs. */
  hosts(registry: string): DocumentedHost[];
}

const h = (host: string, ...roles: DocumentedRole[]): DocumentedHost => ({ host, roles });
const is =
  (...names: string[]) =>
  (r: string) =>
    names.includes(r.toLowerCase());

const ECR = /^(\d{12})\.dkr[.-]ecr\.([a-z0-9-]+)\.(amazonaws\.com(?:\.cn)?|on\.aws)$/i;

export const REGISTRY_TABLE: readonly RegistryEntry[] = [
  {
    id: "docker-hub",
    name: "Docker Hub",
    // docker/docs:content/manuals/desktop/setup/allow-list.md; the CloudFront host added in docker/docs#25108 and #25122.
    sources: ["https://docs.docker.com/desktop/setup/allow-list/"],
    matches: is("docker.io", "index.docker.io", "registry-1.docker.io"),
    hosts: () => [
      h("registry-1.docker.io", "registry"),
      h("auth.docker.io", "token"),
      h("production.cloudflare.docker.com", "blob"),
      h("production.cloudfront.docker.com", "blob"),
      h("docker-images-prod.6aa30f8b08e16409b46e0173d6de2f56.r2.cloudflarestorage.com", "blob"),
    ],
  },
  {
    id: "ghcr",
    name: "GitHub Container Registry",
    // GitHub documents ghcr.io and *.githubusercontent.com (backing blob storage); the redirect seen is pkg-containers.githubusercontent.com.
    sources: [
      "https://docs.github.com/en/copilot/reference/copilot-allowlist-reference",
      "https://docs.siderolabs.com/talos/v1.14/networking/egress-domains",
    ],
    matches: is("ghcr.io"),
    hosts: () => [
      h("ghcr.io", "registry", "token"),
      h("pkg-containers.githubusercontent.com", "blob"),
      h("*.githubusercontent.com", "blob"),
    ],
  },
  {
    id: "quay",
    name: "Quay.io and the Red Hat registries",
    // Red Hat's "Firewall changes for container image pulls": blobs from the Quay CDN since 2023-05-01.
    sources: ["https://access.redhat.com/node/7001746"],
    matches: is("quay.io", "registry.redhat.io", "registry.access.redhat.com"),
    hosts: (r) => [
      h(r.toLowerCase(), "registry", "token"),
      h("cdn.quay.io", "blob"),
      h("cdn01.quay.io", "blob"),
      h("cdn02.quay.io", "blob"),
      h("cdn03.quay.io", "blob"),
    ],
  },
  {
    id: "google",
    name: "Google Container Registry and Artifact Registry",
    // Google's own page was not among the sources checked; the blob host of Artifact Registry is only known as *.pkg.dev.
    sources: ["https://docs.siderolabs.com/talos/v1.14/networking/egress-domains"],
    matches: (r) => /^([a-z0-9-]+\.)?gcr\.io$/i.test(r) || /^[a-z0-9-]+-docker\.pkg\.dev$/i.test(r),
    hosts: (r) =>
      /\.pkg\.dev$/i.test(r)
        ? [h(r.toLowerCase(), "registry", "token"), h("*.pkg.dev", "blob")]
        : [h(r.toLowerCase(), "registry", "token"), h("storage.googleapis.com", "blob")],
  },
  {
    id: "ecr",
    name: "Amazon ECR (private)",
    sources: [
      "https://docs.aws.amazon.com/general/latest/gr/ecr.html",
      "https://docs.aws.amazon.com/AmazonECR/latest/userguide/vpc-endpoints.html",
    ],
    matches: (r) => ECR.test(r),
    hosts: (r) => {
      const region = ECR.exec(r)![2]!.toLowerCase();
      return [
        h(r.toLowerCase(), "registry"),
        // GetAuthorizationToken, called by the credential helper or kubelet's credential provider.
        h(`api.ecr.${region}.amazonaws.com`, "token"),
        // Layers are presigned S3 URLs of this bucket ("minimum S3 bucket permissions").
        h(`prod-${region}-starport-layer-bucket.s3.${region}.amazonaws.com`, "blob"),
      ];
    },
  },
  {
    id: "ecr-public",
    name: "Amazon ECR Public",
    // Its blob CDN host is not documented in the sources checked.
    sources: ["https://docs.github.com/en/copilot/reference/copilot-allowlist-reference"],
    matches: is("public.ecr.aws"),
    hosts: () => [h("public.ecr.aws", "registry", "token")],
  },
  {
    id: "mcr",
    name: "Microsoft Artifact Registry (MCR)",
    // The data endpoint moved from *.cdn.mscr.io to *.data.mcr.microsoft.com (aka.ms/mcr/firewallrules).
    sources: ["https://learn.microsoft.com/azure/aks/outbound-rules-control-egress"],
    matches: is("mcr.microsoft.com"),
    hosts: () => [h("mcr.microsoft.com", "registry", "token"), h("*.data.mcr.microsoft.com", "blob"), h("mcr-0001.mcr-msedge.net", "blob")],
  },
  {
    id: "registry-k8s-io",
    name: "registry.k8s.io",
    // Redirects go to a backend chosen by the client's source address (docs/debugging.md).
    sources: ["https://github.com/kubernetes/registry.k8s.io/blob/main/docs/debugging.md"],
    matches: is("registry.k8s.io"),
    hosts: () => [
      h("registry.k8s.io", "registry"),
      h("*-docker.pkg.dev", "registry", "blob"),
      h("prod-registry-k8s-io-*.s3.dualstack.*.amazonaws.com", "blob"),
    ],
  },
];

/** The table entry of a registry as Docker names it, if it is a public one listed here. */
export function tableEntryFor(registry: string): RegistryEntry | null {
  return REGISTRY_TABLE.find((e) => e.matches(registry)) ?? null;
}

/** Whether a host name matches a documented host or pattern (`*` is one or more name characters, dots included). */
export function hostMatches(pattern: string, host: string): boolean {
  const p = pattern.toLowerCase();
  const name = host.toLowerCase();
  if (!p.includes("*")) return p === name;
  const re = new RegExp(`^${p.split("*").map(escapeRe).join("[a-z0-9.-]+")}$`);
  return re.test(name);
}

function escapeRe(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/** The entry (of any registry) documenting `host` for some registry, if one does. */
export function documentingEntry(host: string, registry: string | null): { entry: RegistryEntry; pattern: string } | null {
  const order = [...REGISTRY_TABLE].sort(
    (a, b) => Number(registry !== null && b.matches(registry)) - Number(registry !== null && a.matches(registry)),
  );
  for (const entry of order) {
    const sample = registry !== null && entry.matches(registry) ? registry : sampleRegistry(entry);
    const found = entry.hosts(sample).find((d) => hostMatches(d.host, host));
    if (found) return { entry, pattern: found.host };
  }
  return null;
}

/** A registry name an entry matches, to list its fixed hosts when the image is from elsewhere. */
function sampleRegistry(entry: RegistryEntry): string {
  const samples = [
    "docker.io",
    "ghcr.io",
    "quay.io",
    "gcr.io",
    "000000000000.dkr.ecr.us-east-1.amazonaws.com",
    "public.ecr.aws",
    "mcr.microsoft.com",
    "registry.k8s.io",
  ];
  return samples.find((s) => entry.matches(s)) ?? "";
}
