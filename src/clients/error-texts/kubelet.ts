import type { ClientErrorTexts } from "./types";

const IMAGE_MANAGER = "kubernetes/kubernetes:pkg/kubelet/images/image_manager.go";

/**
 * What kubelet shows for a failed pull: events (`kubectl describe pod`, `kubectl get events`),
 * and the container's waiting reason and message. The runtime's error (containerd CRI or CRI-O)
 * sits inside "rpc error: code = … desc = …". Since 1.32 the ImagePullBackOff message carries the
 * last pull error ("Back-off pulling image \"x\": ErrImagePull: …", kubernetes/kubernetes#127918);
 * before, only "Back-off pulling image \"x\"". No kubelet runs here: texts are from upstream.
 */
export const KUBELET_TEXTS: ClientErrorTexts = {
  client: "kubelet",
  label: "kubelet (events, kubectl describe pod, the waiting message)",
  markers: [
    {
      pattern: /Failed to pull image "/,
      phrase: 'Failed to pull image "…"',
      weight: 3,
      source: `${IMAGE_MANAGER} (imageManager.pullImage)`,
    },
    {
      pattern: /Back-off pulling image "[^"]+": \w+: /,
      phrase: 'Back-off pulling image "…": ErrImagePull:',
      weight: 3,
      versions: "kubelet 1.32+",
      source: `${IMAGE_MANAGER} (imageManager.EnsureImageExists)`,
    },
    {
      pattern: /Back-off pulling image "[^"]+"(?!:)/,
      phrase: 'Back-off pulling image "…"',
      weight: 3,
      versions: "kubelet before 1.32, or a BackOff event (the error is in the Failed event)",
      source: IMAGE_MANAGER,
    },
    {
      pattern: /\bErrImagePull\b/,
      phrase: "ErrImagePull",
      weight: 3,
      source: "kubernetes/kubernetes:pkg/kubelet/images/types.go (ErrImagePull)",
    },
    {
      pattern: /\bImagePullBackOff\b/,
      phrase: "ImagePullBackOff",
      weight: 3,
      source: "kubernetes/kubernetes:pkg/kubelet/images/types.go (ErrImagePullBackOff)",
    },
    {
      pattern: /Failed to apply default image tag "/,
      phrase: "Failed to apply default image tag",
      weight: 3,
      source: `${IMAGE_MANAGER} (applyDefaultImageTag)`,
    },
    {
      pattern: /\bInvalidImageName\b/,
      phrase: "InvalidImageName",
      weight: 3,
      source: "kubernetes/kubernetes:pkg/kubelet/images/types.go (ErrInvalidImageName)",
    },
    {
      pattern: /^\s*(?:Normal|Warning)\s+(?:Pulling|Failed|BackOff)\s/m,
      phrase: "kubectl describe pod events",
      weight: 2,
      source: "kubernetes/kubectl:pkg/describe/describe.go (DescribeEvents)",
    },
    {
      pattern: /rpc error: code = \w+ desc = /,
      phrase: "rpc error: code = … desc =",
      weight: 1,
      source: "grpc/grpc-go:internal/status/status.go (Error), the CRI call",
    },
    {
      pattern: /image pull failed for \S+ because the registry is unavailable|\bRegistryUnavailable\b/,
      phrase: "RegistryUnavailable",
      weight: 3,
      runtime: "cri-o",
      source: "cri-o/cri-o:server/image_pull.go (PullImage)",
    },
  ],
  texts: [
    {
      code: "MANIFEST_UNKNOWN",
      pattern:
        /rpc error: code = NotFound desc = failed to pull and unpack image "[^"]+": failed to resolve (?:reference "[^"]+"|image): \S+: not found/,
      phrase: "rpc error: code = NotFound … not found",
      weight: 3,
      example:
        'Failed to pull image "registry.example.com/team/app:nope": rpc error: code = NotFound desc = failed to pull and unpack image "registry.example.com/team/app:nope": failed to resolve reference "registry.example.com/team/app:nope": registry.example.com/team/app:nope: not found',
      versions: "containerd ≤ 2.0 says 'failed to resolve reference \"…\"'; 2.1+ 'failed to resolve image'",
      source: `${IMAGE_MANAGER}, containerd/containerd:internal/cri/server/images/image_pull.go`,
      origin: "upstream",
    },
    {
      code: "AUTH_DENIED",
      pattern:
        /rpc error: code = Unknown desc = failed to pull and unpack image "[^"]+": [^\n]*pull access denied, repository does not exist or may require authorization/,
      phrase: "rpc error: … pull access denied, repository does not exist or may require authorization",
      weight: 3,
      example:
        'Failed to pull image "team/private:1.0": rpc error: code = Unknown desc = failed to pull and unpack image "docker.io/team/private:1.0": failed to resolve reference "docker.io/team/private:1.0": pull access denied, repository does not exist or may require authorization: server message: insufficient_scope: authorization failed',
      source: `${IMAGE_MANAGER}, containerd/containerd:core/remotes/docker/authorizer.go`,
      origin: "upstream",
    },
    {
      code: "CONNECT_TIMEOUT",
      pattern:
        /rpc error: code = \w+ desc = failed to pull and unpack image "[^"]+": [^\n]*dial tcp [^\s:]+:\d+: (?:i\/o timeout|connect: connection timed out)/,
      phrase: "rpc error: … dial tcp ADDRESS: i/o timeout",
      weight: 3,
      example:
        'Failed to pull image "registry.k8s.io/pause:3.9": rpc error: code = Unknown desc = failed to pull and unpack image "registry.k8s.io/pause:3.9": failed to resolve reference "registry.k8s.io/pause:3.9": failed to do request: Head "https://registry.k8s.io/v2/pause/manifests/3.9": dial tcp 34.96.108.209:443: connect: connection timed out',
      source: "kubernetes/kubeadm#2936 (report), containerd/containerd:core/remotes/docker/resolver.go",
      origin: "upstream",
    },
    {
      code: "BLOB_SLOW",
      pattern: /rpc error: code = Canceled desc = failed to pull and unpack image "[^"]+": context canceled/,
      phrase: "rpc error: code = Canceled … context canceled",
      weight: 2,
      example:
        'Failed to pull image "big/model:1.0": rpc error: code = Canceled desc = failed to pull and unpack image "docker.io/big/model:1.0": context canceled',
      source:
        "kubernetes/kubernetes#131521 (report), containerd/containerd:internal/cri/server/images/image_pull.go (no progress in image_pull_progress_timeout)",
      origin: "upstream",
    },
    {
      code: "CONNECT_REFUSED",
      pattern: /image pull failed for \S+ because the registry is unavailable/,
      phrase: "image pull failed for … because the registry is unavailable",
      weight: 3,
      example:
        'Failed to pull image "registry.example.com/team/app:1.0": image pull failed for registry.example.com/team/app:1.0 because the registry is unavailable: pinging container registry registry.example.com: Get "https://registry.example.com/v2/": dial tcp 10.0.0.5:443: connect: connection refused',
      versions: "CRI-O",
      source: "cri-o/cri-o:server/image_pull.go (PullImage: ECONNREFUSED ⇒ RegistryUnavailable)",
      origin: "upstream",
    },
    {
      code: "REF_INVALID",
      pattern: /\bInvalidImageName\b|Failed to apply default image tag/,
      phrase: "InvalidImageName",
      weight: 3,
      example:
        'Failed to apply default image tag "Team/App:1.0": couldn\'t parse image name "Team/App:1.0": invalid reference format: repository name (Team/App) must be lowercase',
      source: "kubernetes/kubernetes:pkg/kubelet/images/image_manager.go (applyDefaultImageTag)",
      origin: "upstream",
    },
  ],
};
