import type { PastedError } from "../clients/pasted-error";
import type { Severity } from "../model/catalogue/entry";
import { escapeControls } from "../registry/http-util";
import type { Glyphs } from "./glyphs";
import type { Style } from "./style";

/** `explain --error TEXT` for a reader: the client, the codes best first with why, the image, the command. */
export function pastedErrorText(p: PastedError, st: Style, g: Glyphs): string {
  const safe = (s: string) => escapeControls(s);
  if (!p.recognised)
    return `${st.bold("Not a pull error")}: ${safe(p.notPullError ?? "")}.\n${st.dim("pulldoctor explain --error reads what docker, containerd (ctr, nerdctl, crictl), kubelet and podman/skopeo/CRI-O print when a pull fails.")}\n`;
  const lines: string[] = [];
  const c = p.client;
  if (c) {
    const extra = [c.store ? `${c.store} store` : null, c.runtime ? `runtime ${c.runtime}` : null, c.tool ? `via ${c.tool}` : null].filter(
      Boolean,
    );
    lines.push(`${st.bold("Client")}   ${c.name}${extra.length ? ` (${extra.join(", ")})` : ""}`);
    lines.push(st.dim(`         from: ${c.basedOn.map((b) => `"${safe(b)}"`).join(", ")}`));
    for (const v of c.versions) lines.push(st.dim(`         wording of ${safe(v)}`));
  } else lines.push(`${st.bold("Client")}   not named by the text (the command below judges every client)`);
  if (p.image)
    lines.push(
      `${st.bold("Image")}    ${safe(p.image.canonical)}${p.image.found !== p.image.canonical ? st.dim(`  (written ${safe(p.image.found)})`) : ""}`,
    );
  else if (p.registry) lines.push(`${st.bold("Registry")} ${safe(p.registry)} ${st.dim("(the text names no image)")}`);
  if (p.platform) lines.push(`${st.bold("Platform")} ${safe(p.platform)}`);
  lines.push("", st.bold(p.codes.length ? "Findings (best match first)" : "Findings"));
  if (p.codes.length === 0) lines.push(`  ${g.bullet} no finding code matches this text; the check below will name one`);
  for (const f of p.codes) {
    lines.push(`  ${st.severity(f.severity as Severity, `${g.severity[f.severity as Severity]} ${f.code}`)}  ${f.title}`);
    lines.push(st.dim(`      why: ${f.why.map((w) => `"${safe(w)}"`).join("; ")}`));
  }
  lines.push("", st.bold("Confirm it"), `  ${safe(p.command ?? "")}`);
  if (p.codes[0]) lines.push(st.dim(`  pulldoctor explain ${p.codes[0].code} says what the first code means and how to fix it.`));
  return `${lines.join("\n")}\n`;
}
