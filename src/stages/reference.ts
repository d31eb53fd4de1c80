import { ctrReading } from "../clients/ctr-reference";
import { isShortName } from "../clients/short-names";
import { finding } from "../model/finding";
import type { Stage, StageContext, StageOutcome } from "../model/stage";
import { escapeOutcome, referenceOutcome } from "./reference-outcome";

export { classifyReferenceError, escapeOutcome, lowercaseSuggestion, referenceOutcome } from "./reference-outcome";

/**
 * The `reference` stage: the input parses and normalizes exactly as Docker normalizes
 * it (distribution/reference). Nothing is sent on the network.
 */
export const referenceStage: Stage = {
  id: "reference",
  title: "Reference",
  scope: "local",
  needs: [],
  async run(ctx: StageContext): Promise<StageOutcome> {
    // The config stage judges the client later: only a --client that names one is known here.
    const c = ctx.options.client;
    const out = referenceOutcome(ctx.options.image ?? "", c === "auto" || c === "all" ? null : c);
    if (ctx.options.client === "containerd") return ctrOutcome(ctx.options.image ?? "", out);
    // podman resolves a short name itself (config stage): Docker's reading is only what the doctor keeps for the local files.
    if (ctx.options.client === "podman" && out.provides?.ref && isShortName(out.provides.ref.input))
      return { ...out, summary: `${out.summary} for Docker; podman resolves the short name with registries.conf (config stage)` };
    return out;
  },
};

/**
 * --client containerd is judged as ctr, which does not normalise (src/clients/ctr-reference.ts): a
 * name without a tag or digest, or with a one-part name and a tag, fails before any request, in
 * ctr's words; a name whose first part is no host is sent to that part as a host. nerdctl and
 * kubelet (which hands CRI the normalised name) read it as Docker does.
 */
export function ctrOutcome(input: string, docker: StageOutcome): StageOutcome {
  const ref = docker.provides?.ref;
  if (!ref) return docker;
  const ctr = ctrReading(input);
  if (ctr.ok) {
    if (ctr.ref.registry === ref.registry && ctr.ref.repository === ref.repository) return docker;
    const summary = `${input} → ${ctr.ref.canonical} as ctr reads it (no normalisation: "${ctr.ref.registry}" is the registry host); Docker and nerdctl read ${ref.canonical}`;
    return escapeOutcome({ ...docker, summary, evidence: { ...docker.evidence, ctr: { ...ctr.ref } }, provides: { ref: ctr.ref } });
  }
  const f = finding(
    "REF_INVALID",
    { input, message: ctr.message, kind: "ctr", hint: "ctr does not normalise a name; nerdctl and kubelet do, as Docker does" },
    { input, client: "containerd (ctr)", message: ctr.message, dockerReads: ref.canonical },
  );
  return escapeOutcome({
    summary: `${input}: ctr refuses it (${ctr.message})`,
    evidence: { ...docker.evidence, ctr: { message: ctr.message, fullName: ref.canonical } },
    findings: [{ ...f, fixes: [`Give ctr the full name with its tag: ctr images pull ${ref.canonical}`, ...f.fixes] }],
  });
}
