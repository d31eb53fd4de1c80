import type { RunResult } from "../doctor/run";
import type { ClientChoice, Options } from "../model/options";
import { type Choice, type PromptLook, selectOne } from "./prompts";

type Answer = { client: Exclude<ClientChoice, "auto">; dockerStore: "classic" | "containerd" | null };

const CHOICES: Choice<Answer>[] = [
  { value: { client: "docker", dockerStore: "containerd" }, label: "docker", hint: "Docker 29+, containerd image store" },
  {
    value: { client: "docker", dockerStore: "classic" },
    label: "docker, classic image store",
    hint: "older Docker, or the containerd store turned off",
  },
  { value: { client: "containerd", dockerStore: null }, label: "containerd", hint: "ctr, nerdctl" },
  { value: { client: "kubelet", dockerStore: null }, label: "Kubernetes (kubelet)", hint: "a node's containerd or CRI-O" },
  { value: { client: "podman", dockerStore: null }, label: "podman", hint: "skopeo, CRI-O, Buildah" },
  { value: { client: "all", dockerStore: null }, label: "compare them all" },
];

/**
 * `--client auto` found no client on this host and took the SPEC's fallback (docker, containerd
 * store): the interactive doctor asks whose pull it should judge instead of guessing, and the
 * diagnosis runs again from the config stage. Asked once: the answer replaces `auto`.
 */
export async function askClient(run: RunResult, options: Options, look: PromptLook): Promise<Options | null | "cancel"> {
  const judged = run.localFacts.client;
  if (options.client !== "auto" || !judged?.unsure) return null;
  const answer = await selectOne(
    look,
    `No client found on this host (${judged.basedOn}). Which one will pull the image?`,
    CHOICES,
    CHOICES[0]!.value,
  );
  if (typeof answer === "symbol") return "cancel";
  return { ...options, client: answer.client, dockerStore: answer.dockerStore };
}
