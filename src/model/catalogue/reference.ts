import { type CatalogueSection, entry } from "./entry";

/** The client whose pull is judged, when the reference stage knows it (--client names one). */
export type PullClient = "docker" | "containerd" | "kubelet" | "podman";

/** The lower-cased name in the judged client's own words; neutral while the client is not known yet (auto, all). */
function pullWith(client: PullClient | null, lowered: string): string {
  if (client === "docker") return `docker pull ${lowered}`;
  if (client === "containerd") return `ctr images pull ${lowered}`;
  if (client === "podman") return `podman pull ${lowered}`;
  if (client === "kubelet") return `In the pod spec: image: ${lowered}`;
  return `Use the lower-case name: ${lowered}`;
}

/** Findings of the `reference` stage. */
export const reference = {
  REF_INVALID: entry<{ input: string; message: string; kind: string; hint: string | null }>({
    stage: "reference",
    severity: "error",
    title: "The image reference is not valid",
    explain:
      "Docker refuses the image name before it contacts any registry: it does not match the reference grammar " +
      "(distribution/reference). Nothing is sent on the network; the name itself has to change.",
    seen: [
      "docker: invalid reference format",
      "docker: invalid repository name (1a3f5e7d9c1b3a5f7e9d1c3b5a7f9e1d3c5b7a9f1e3d5d7c9b1a3f5e7d9c1b3a), cannot specify 64-byte hexadecimal strings",
      "docker: repository name must not be more than 255 characters",
      "docker: invalid checksum digest length / invalid checksum digest format / unsupported digest algorithm",
      'kubelet: Failed to apply default image tag "https://reg.example.com/app": couldn\'t parse image reference "https://reg.example.com/app": invalid reference format (reason InvalidImageName)',
    ],
    causes: [
      "a URL scheme in the image name (https://reg.example.com/app)",
      "a tag with characters outside [A-Za-z0-9_.-], longer than 128 characters, or starting with '.' or '-'",
      "an empty name, a trailing '/' or ':', doubled '//' or '..'",
      "a digest that is not sha256/sha384/sha512 with the exact number of lower-case hex digits",
      "an image ID (64 hex characters) used where a name is expected",
    ],
    howKnown: "The input is parsed locally with the same grammar and normalization as Docker (ParseNormalizedNamed); no request is made.",
    detail: (p) => `${JSON.stringify(p.input)}: ${p.message}${p.hint ? ` (${p.hint})` : ""}`,
    fixes: (p) => {
      const out: string[] = [];
      if (/^[a-z][a-z0-9+.-]*:\/\//i.test(p.input))
        out.push(`Drop the URL scheme: pulldoctor check ${p.input.replace(/^[a-z][a-z0-9+.-]*:\/\//i, "")}`);
      if (p.kind === "hex-name")
        out.push(`This is an image ID, not a name: find its name with "docker image ls --no-trunc | grep ${p.input.slice(0, 12)}"`);
      if (p.kind.startsWith("digest"))
        out.push(
          "Copy the digest exactly: sha256: followed by 64 lower-case hex digits (docker buildx imagetools inspect IMAGE shows it).",
        );
      out.push(
        "Write the reference as [HOST[:PORT]/]NAMESPACE/REPOSITORY[:TAG][@sha256:DIGEST], e.g. registry.example.com:5000/team/app:1.0",
      );
      out.push(
        "Tags may use only A-Z a-z 0-9 _ . - (max 128, not starting with . or -); repository paths only lower case, digits and . _ -",
      );
      return out;
    },
    genericFixes: [
      "Write the reference as [HOST[:PORT]/]NAMESPACE/REPOSITORY[:TAG][@sha256:DIGEST]",
      "Remove any https:// prefix and trailing slash",
      "Check the tag: only A-Z a-z 0-9 _ . - and at most 128 characters",
    ],
  }),

  REF_UPPERCASE: entry<{ input: string; repository: string; lowered: string; client: PullClient | null }>({
    stage: "reference",
    severity: "error",
    title: "The repository name contains upper-case letters",
    explain:
      "Repository paths must be lower case. Docker refuses the reference before contacting the registry. " +
      "Only the registry host (which contains a '.' or ':') and the tag may contain upper case.",
    seen: [
      "docker: invalid reference format: repository name (library/Nginx) must be lowercase",
      "docker: invalid reference format: repository name (Foo/app) must be lowercase",
      'kubelet: Failed to apply default image tag "Foo/app": couldn\'t parse image reference "Foo/app": invalid reference format: repository name (Foo/app) must be lowercase (reason InvalidImageName)',
    ],
    causes: [
      "the name was typed or generated with capitals (e.g. from a Git repository or project name)",
      "a CI variable (branch or project name) was used as the repository path",
    ],
    howKnown:
      "Parsed locally exactly as Docker's ParseNormalizedNamed does; the part Docker checks is everything before the first ':' after the registry host.",
    detail: (p) => `repository name (${p.repository}) must be lowercase`,
    fixes: (p) => [`Use the lower-case reference: pulldoctor check ${p.lowered}`, pullWith(p.client, p.lowered)],
    genericFixes: [
      "Lower-case the repository path (the registry host and the tag may keep their case)",
      "In CI, pass names through `tr '[:upper:]' '[:lower:]'`",
    ],
  }),

  REF_IMPLICIT_LATEST: entry<{
    input: string;
    canonical: string;
    familiar: string;
    expansion: string | null;
    registry: string;
    repository: string;
  }>({
    stage: "reference",
    severity: "info",
    title: "No tag or digest given: Docker pulls `latest`",
    explain:
      "Without a tag or digest Docker adds `:latest`. `latest` is only a name: it may be missing, or point to a different " +
      "image tomorrow. Pinning a digest (@sha256:…) pulls exactly the same bytes every time.",
    seen: [
      "docker: Using default tag: latest",
      "docker: manifest for nginx:latest not found: manifest unknown: manifest unknown (when the repository has no `latest`)",
    ],
    causes: ["the reference was written without :TAG or @DIGEST"],
    howKnown: "The reference as typed has neither ':' tag nor '@' digest after the registry host.",
    detail: (p) => `${JSON.stringify(p.input)} means ${p.canonical}${p.expansion ? `: ${p.expansion}` : ""}`,
    fixes: (p) => {
      const name = p.registry === "docker.io" ? p.familiar.replace(/:latest$/, "") : `${p.registry}/${p.repository}`;
      return [
        `Pin the tag you mean: pulldoctor check ${name}:<tag>`,
        `Better, pin a digest: docker buildx imagetools inspect ${name}:latest (then use ${name}@sha256:<digest>)`,
      ];
    },
    genericFixes: [
      "Give an explicit tag, e.g. nginx:1.27",
      "Pin a digest: IMAGE@sha256:<digest> (docker buildx imagetools inspect IMAGE shows it)",
    ],
  }),
} satisfies CatalogueSection;
