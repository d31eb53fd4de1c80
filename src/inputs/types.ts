import type { Finding } from "../model/finding";

/** Where an image was named: a file, a document in it (1-based), an object, a container and a line. */
export interface ImageSource {
  file: string;
  document: number;
  /** "Deployment/web", "CronJob/batch/report", "service/db". */
  object: string;
  /** "web", "init:migrate", "sidecar:proxy", "ephemeral:debug", "volume:models"; a compose service's name. */
  container: string;
  line: number;
}

/** One image an input names, with everything the diagnosis of it needs. */
export interface InputImage {
  image: string;
  /** The first sources that name it (at most MAX_SOURCES); `sourceCount` counts them all. */
  sources: ImageSource[];
  sourceCount: number;
  /** compose `platform:`; null means the host's. */
  platform: string | null;
  /** The pod specs' imagePullSecrets names (the Secrets themselves are not in the input). */
  pullSecrets: string[];
  /** kubelet's waiting message for this image (kubectl output), decoded later as a pasted error. */
  waitingMessage: string | null;
  /** kubelet's waiting reason: ErrImagePull, ImagePullBackOff, InvalidImageName. */
  waitingReason: string | null;
}

/** A compose service that is built, not pulled. */
export interface BuiltImage {
  source: ImageSource;
  /** The name compose gives the image it builds: `image:` when set, else <project>-<service>. */
  image: string;
}

export type InputFormat = "compose" | "kubernetes" | "kubectl-pods" | "unrecognised";

export interface InputsResult {
  images: InputImage[];
  builtLocally: BuiltImage[];
  /** Findings about the input itself (the reference stage's INPUT_* codes). */
  findings: Finding[];
  /** What each file was read as. */
  files: { file: string; formats: InputFormat[]; documents: number }[];
}

/** One image as a reader finds it, before the images of all files are merged. */
export interface FoundImage {
  image: string;
  source: ImageSource;
  platform: string | null;
  pullSecrets: string[];
  waitingMessage: string | null;
  waitingReason: string | null;
}

/** What a reader of one document hands back. */
export interface DocumentFindings {
  images: FoundImage[];
  built: BuiltImage[];
  findings: Finding[];
}
