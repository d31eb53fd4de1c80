import type { FleetSummary } from "./summarize";

/** The plain-text summary: per node its verdict, per code its nodes, partial egress, config differences. */
export function summaryText(s: FleetSummary): string {
  const out: string[] = [];
  out.push(`${s.nodes} node${s.nodes === 1 ? "" : "s"}: ${s.nodes - s.failing} can pull, ${s.failing} cannot.`);
  const notes = inputNotes(s);
  if (notes.length > 0) out.push(...notes);
  out.push("", "Nodes:");
  const width = Math.min(40, Math.max(...s.perNode.map((n) => n.node.length)));
  // The client each node judged (`--client auto` decides per node): a node judged as another
  // client than the rest is often the difference itself.
  const clientWidth = Math.min(32, Math.max(0, ...s.perNode.map((n) => (n.client ? n.client.length + 2 : 0))));
  for (const n of s.perNode) {
    const mark = n.ok ? "ok  " : "FAIL";
    const client = clientWidth > 0 ? `${(n.client ? `[${n.client}]` : "").padEnd(clientWidth)}  ` : "";
    out.push(`  ${mark}  ${n.node.padEnd(width)}  ${client}${n.code ? `${n.code}: ` : ""}${oneLine(n.summary)}`);
  }
  if (s.perCode.length > 0) {
    out.push("", "Findings:");
    for (const g of s.perCode) out.push(`  ${g.severity === "error" ? "✖" : "▲"} ${g.line}`);
  }
  if (s.egress.length > 0) {
    out.push("", "Egress hosts only some nodes reach:");
    for (const e of s.egress)
      out.push(
        `  ${e.host}:${e.port}${e.roles.length ? ` (${e.roles.join(", ")})` : ""}: ${e.reached.length} reach it, ` +
          `${e.unreached.length} do not: ${e.unreached.join(", ")}`,
      );
  }
  if (s.configDiff.length > 0) {
    out.push("", "Client configuration that differs between failing and healthy nodes:");
    for (const d of s.configDiff) {
      out.push(`  ${d.trait}:`);
      for (const [v, nodes] of Object.entries(d.failing)) out.push(`    failing: ${v}  (${nodeList(nodes)})`);
      for (const [v, nodes] of Object.entries(d.healthy)) out.push(`    healthy: ${v}  (${nodeList(nodes)})`);
    }
  }
  // Reports come from nodes: no terminal control sequence they carry reaches the terminal.
  return `${out.join("\n").replace(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/g, "")}\n`;
}

export function inputNotes(s: FleetSummary): string[] {
  const notes: string[] = [];
  const k = s.input.skipped.length;
  if (k > 0) {
    const named = s.input.skipped.slice(0, 10).join(", ");
    notes.push(`${k} line${k === 1 ? "" : "s"} skipped: not a report (${named}${k > 10 ? `, and ${k - 10} more` : ""})`);
  }
  if (s.input.replaced > 0)
    notes.push(`${s.input.replaced} older report${s.input.replaced === 1 ? "" : "s"} replaced by a newer one for the same node and image`);
  if (s.input.newerSchema > 0)
    notes.push(
      `${s.input.newerSchema} report${s.input.newerSchema === 1 ? " has" : "s have"} a newer schemaVersion: read for what it shares with version 1`,
    );
  return notes;
}

function nodeList(nodes: string[]): string {
  return nodes.length > 12 ? `${nodes.slice(0, 12).join(", ")}, and ${nodes.length - 12} more` : nodes.join(", ");
}

/** A report's text may carry newlines or terminal controls: one printable line. */
function oneLine(s: string): string {
  return s.replace(/[\u0000-\u001f\u007f-\u009f]+/g, " ");
}
