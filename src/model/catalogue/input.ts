import { type CatalogueSection, entry } from "./entry";

/** Where in an `-f FILE` input a finding points: a file, a document in it (1-based) and a line. */
export interface InputPlace {
  file: string;
  document: number;
  line: number;
  /** "Deployment/web", "service/db"; null for a whole file or document. */
  object: string | null;
}

const at = (p: InputPlace) => `${p.file}, document ${p.document}, line ${p.line}${p.object ? ` (${p.object})` : ""}`;

/**
 * Findings about `-f FILE` inputs (compose, Kubernetes, kubectl output). They belong to the
 * reference stage: like a bad image name, they are decided locally before any network step,
 * and the other images of the input are still diagnosed.
 */
export const input = {
  INPUT_UNREADABLE: entry<InputPlace & { error: string }>({
    stage: "reference",
    severity: "error",
    title: "The input file cannot be read",
    explain:
      "An -f FILE could not be opened or read, so none of its images can be diagnosed. The images of the other " +
      "files (and of the command line) are still diagnosed.",
    seen: ["docker compose: open compose.yaml: no such file or directory", 'kubectl: error: the path "app.yaml" does not exist'],
    causes: ["a typo in the path, or a relative path from another directory", "the file is not readable by this user"],
    howKnown: "The file was opened and read before any network step; the error is the operating system's.",
    detail: (p) => `${p.file}: ${p.error}`,
    fixes: (p) => [
      `ls -l ${p.file}`,
      "Give the path relative to the current directory, or an absolute path; use -f - to read standard input",
    ],
    genericFixes: ["Check the path and its permissions", "Use -f - to read the file from standard input"],
  }),

  INPUT_NOT_YAML: entry<InputPlace & { message: string }>({
    stage: "reference",
    severity: "error",
    title: "The input is neither YAML nor JSON",
    explain:
      "An -f FILE must be a compose file, Kubernetes YAML or JSON, or `kubectl get pods -o json` output. This document " +
      "does not parse as YAML (JSON is YAML too), so no image can be read from it. Other documents of the file, and other " +
      "files, are still read.",
    seen: [
      "docker compose: yaml: line 3: mapping values are not allowed in this context",
      "kubectl: error: error parsing app.yaml: error converting YAML to JSON: yaml: line 3: could not find expected ':'",
    ],
    causes: [
      "a tab used for indentation, or a key indented differently from its siblings",
      "a log, a tarball or another kind of file given to -f",
      "a template (Helm, Jinja) given before it was rendered",
    ],
    howKnown: "The file was parsed with a YAML 1.2 parser (the yaml package); the line is where the parser stopped.",
    detail: (p) => `${at(p)}: ${p.message}`,
    fixes: (p) => [
      `Look at line ${p.line} of ${p.file}: indentation (spaces only), a missing ':' or an unclosed quote or bracket`,
      "For a Helm chart, render it first: helm template RELEASE CHART | pulldoctor check -f -",
    ],
    genericFixes: ["Fix the YAML at the line shown (spaces, not tabs; ':' after each key)", "Render templates before giving them to -f"],
  }),

  INPUT_UNRECOGNISED: entry<InputPlace & { found: string }>({
    stage: "reference",
    severity: "error",
    title: "The input is not a compose file, a Kubernetes object or kubectl output",
    explain:
      "The document parses, but it has neither `services` (compose) nor `apiVersion` and `kind` (Kubernetes), so the " +
      "doctor cannot tell where its images are.",
    seen: [
      "docker compose: validating compose.yaml: (root) Additional property image is not allowed",
      "kubectl: error: error validating data: [apiVersion not set, kind not set]",
    ],
    causes: ["a values.yaml or another configuration file given instead of the rendered manifests", "plain text given to -f"],
    howKnown: "The top of the document was read: no `services` mapping and no `apiVersion`/`kind` pair.",
    detail: (p) => `${at(p)}: ${p.found}`,
    fixes: (p) => [
      `Give ${p.file} only when it is a compose file or Kubernetes manifests`,
      "Render Helm charts first: helm template RELEASE CHART > manifests.yaml",
    ],
    genericFixes: ["Give a compose file, Kubernetes manifests or `kubectl get pods -o json` output"],
  }),

  INPUT_NO_SERVICES: entry<InputPlace>({
    stage: "reference",
    severity: "error",
    title: "The compose file has no services",
    explain:
      "A compose file lists its images under `services`. This one has compose keys (version, name, volumes, networks…) " +
      "but no `services` mapping, so there is nothing to pull.",
    seen: ["docker compose: no service selected", "docker compose: services must be a mapping"],
    causes: ["the services live in another file of the project (compose.override.yaml, an `include`)", "`services` is misspelled"],
    howKnown: "The document has top-level compose keys and no `services` mapping.",
    detail: (p) => `${at(p)}: no services mapping`,
    fixes: (p) => [
      `Give the file that holds the services: docker compose config > all.yaml, then pulldoctor check -f all.yaml`,
      `Check the spelling of "services" in ${p.file}`,
    ],
    genericFixes: ["Give the merged project: docker compose config > all.yaml; pulldoctor check -f all.yaml"],
  }),

  INPUT_NO_IMAGES: entry<InputPlace>({
    stage: "reference",
    severity: "error",
    title: "An object that runs containers names no image",
    explain:
      "A Kubernetes workload (Pod, Deployment, Job…) or a compose service runs containers, but this one names no " +
      "image and (compose) has no build. The API server or compose refuses it, so it cannot be pulled as written.",
    seen: [
      'kubectl: The Deployment "web" is invalid: spec.template.spec.containers[0].image: Required value',
      'docker compose: service "web" has neither an image nor a build context specified: invalid compose project',
    ],
    causes: ["the image is set by a later overlay (kustomize, a Helm value) that was not applied", "a typo in `image`"],
    howKnown: "Every container, init container, ephemeral container and image volume (or the service) was read; none has an image.",
    detail: (p) => `${at(p)}: no image`,
    fixes: (p) => [
      `Add image: to ${p.object ?? "the object"} at ${p.file}:${p.line}`,
      "Render overlays first: kubectl kustomize DIR | pulldoctor check -f -",
    ],
    genericFixes: ["Set the image field, or give the rendered manifests (helm template, kubectl kustomize)"],
  }),

  INPUT_IMAGE_INVALID: entry<InputPlace & { image: string; container: string; message: string }>({
    stage: "reference",
    severity: "error",
    title: "An image field is not a valid reference",
    explain:
      "The image named in the input does not parse as Docker parses references (distribution/reference), so every " +
      "client refuses it before contacting a registry; kubelet reports InvalidImageName. The other images are still diagnosed.",
    seen: [
      'kubelet: Failed to apply default image tag "Nginx": couldn\'t parse image reference "Nginx": invalid reference format: repository name (Nginx) must be lowercase (reason InvalidImageName)',
      "docker compose: invalid reference format",
    ],
    causes: [
      "capital letters in the repository path",
      "a URL scheme (https://) in the image",
      "an unset variable left an empty tag (app:)",
    ],
    howKnown: "The image string was parsed locally with the reference grammar; no request was made.",
    detail: (p) => `${at(p)}, container ${p.container}: ${JSON.stringify(p.image)}: ${p.message}`,
    fixes: (p) => [`pulldoctor ref '${p.image}' shows how Docker reads it`, `Fix the image at ${p.file}:${p.line}`],
    genericFixes: ["Write the image as [HOST[:PORT]/]NAMESPACE/REPOSITORY[:TAG][@sha256:DIGEST]"],
  }),
} satisfies CatalogueSection;
