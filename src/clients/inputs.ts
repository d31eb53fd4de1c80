import type { ClientPaths } from "../model/deps";
import type { ImageRef } from "../model/facts";
import type { Options } from "../model/options";
import type { DockerStore } from "./profile";

/** What every client module reads: the reference, the flags, the daemon's registry settings, the host's files. */
export interface ClientInputs {
  ref: ImageRef;
  options: Options;
  env: Readonly<Record<string, string | undefined>>;
  homeDir: string;
  paths: ClientPaths;
  /** daemon.json / the Engine's registry-mirrors and insecure-registries (docker only). */
  daemon: { mirrors: string[]; insecureRegistries: string[] };
  /** The store docker uses (flag, /info, or Docker 29's default). */
  dockerStore: DockerStore;
  /** kubelet's runtime. */
  runtime: "containerd" | "cri-o";
  /** The user id (containers/image's /run/containers/<uid>/auth.json). */
  uid: number;
  /** Whether a person could answer a prompt (podman's enforcing short-name mode). */
  tty: boolean;
}
