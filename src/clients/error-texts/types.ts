import type { FindingCode } from "../../model/catalogue/index";

/** Who printed a pasted error: the four clients of SPEC "Clients". */
export type TextClient = "docker" | "containerd" | "kubelet" | "podman";

/**
 * A phrase that says which client (and which tool or version of it) printed the text:
 * a wrapper the client puts around every error ("Error response from daemon: ").
 */
export interface ClientMarker {
  pattern: RegExp;
  /** The phrase as a reader would quote it. */
  phrase: string;
  /** 3: only this client prints it; 2: this client's usual wording; 1: shared with another client. */
  weight: 1 | 2 | 3;
  /** The command-line tool: "ctr", "crictl", "skopeo", "docker compose". */
  tool?: string;
  /** The versions whose wording this is: "containerd 2.1+", "kubelet 1.32+". */
  versions?: string;
  /** docker only: the image store whose wording this is. */
  store?: "classic" | "containerd";
  /** kubelet only: the runtime behind CRI. */
  runtime?: "containerd" | "cri-o";
  /** Where upstream prints it: owner/repo:path (function). */
  source: string;
}

/** One error text: the phrase a client prints for a finding code, with a whole line as printed. */
export interface ErrorText {
  code: FindingCode;
  pattern: RegExp;
  phrase: string;
  /** 3: only this cause prints it; 2: usually this cause; 1: one of several causes print it. */
  weight: 1 | 2 | 3;
  /** A whole message as the client prints it (example hosts), for `explain CODE` and docs/findings.md. */
  example?: string;
  versions?: string;
  /** Go's net, TLS and HTTP texts: every client prints them, so alone they do not make a pull error. */
  generic?: boolean;
  source: string;
  /** How the example was obtained: recorded from the real client here, or taken from upstream source. */
  origin: "recorded" | "upstream";
}

export interface ClientErrorTexts {
  client: TextClient;
  /** "docker (both stores, docker compose)" */
  label: string;
  markers: ClientMarker[];
  texts: ErrorText[];
}
