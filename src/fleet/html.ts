import type { NodeReport } from "./reports";
import type { FleetSummary } from "./summarize";
import { inputNotes } from "./text";

/**
 * `fleet summarize --html`: one self-contained page (inline style, no script, no external
 * asset). A node × stage grid coloured by status; each cell is a <details> that opens the
 * stage's summary and the findings of that stage with their fixes. Every report string is
 * escaped: reports come from nodes and may quote anything a registry sent.
 */
export function summaryHtml(s: FleetSummary, reports: NodeReport[]): string {
  const head = `<!doctype html><html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>pulldoctor fleet: ${s.failing} of ${s.nodes} nodes cannot pull</title><style>${STYLE}</style></head><body>`;
  const notes = inputNotes(s)
    .map((n) => `<p class="note">${esc(n)}</p>`)
    .join("");
  const codes = s.perCode.length
    ? `<h2>Findings</h2><ul class="codes">${s.perCode
        // The line names the code itself: set in <code> where it stands, not said twice.
        .map((g) => `<li class="${g.severity}" data-code="${esc(g.code)}">${codeIn(esc(g.line), esc(g.code))}</li>`)
        .join("")}</ul>`
    : "";
  const egress = s.egress.length
    ? `<h2>Egress hosts only some nodes reach</h2><ul>${s.egress
        .map((e) => `<li><code>${esc(`${e.host}:${e.port}`)}</code>: not reached from ${esc(e.unreached.join(", "))}</li>`)
        .join("")}</ul>`
    : "";
  const diff = s.configDiff.length
    ? `<h2>Configuration of failing vs healthy nodes</h2><table class="diff"><tr><th>setting</th><th>failing nodes</th><th>healthy nodes</th></tr>${s.configDiff
        .map((d) => `<tr><th>${esc(d.trait)}</th><td>${valueList(d.failing)}</td><td>${valueList(d.healthy)}</td></tr>`)
        .join("")}</table>`
    : "";
  return `${head}<h1>${s.failing} of ${s.nodes} node${s.nodes === 1 ? "" : "s"} cannot pull</h1>${notes}${grid(s, reports)}${codes}${egress}${diff}</body></html>\n`;
}

function grid(s: FleetSummary, reports: NodeReport[]): string {
  const byNode = new Map(reports.map((r) => [r.node, r]));
  const header = `<tr><th>node</th><th>client</th><th>verdict</th>${s.stageOrder.map((id) => `<th>${esc(id)}</th>`).join("")}</tr>`;
  const rows = s.perNode.map((n) => {
    const r = byNode.get(n.node);
    const cells = s.stageOrder.map((id) => cell(r, id)).join("");
    const verdict = n.ok ? "ok" : esc(n.code ?? "fail");
    const client = `<td class="client" title="${esc(n.clientBasedOn ?? "")}">${esc(n.client ?? "–")}</td>`;
    return `<tr data-node="${esc(n.node)}" data-client="${esc(n.client ?? "")}"><th class="node">${esc(n.node)}</th>${client}<td class="${n.ok ? "pass" : "fail"}" title="${esc(n.summary)}">${verdict}</td>${cells}</tr>`;
  });
  // Many stages (or images) make the grid wider than the page: it scrolls inside its own box.
  return `<div class="gridbox"><table class="grid">${header}${rows.join("")}</table></div>`;
}

function codeIn(line: string, code: string): string {
  const at = line.indexOf(code);
  return at < 0 ? `<code>${code}</code> ${line}` : `${line.slice(0, at)}<code>${code}</code>${line.slice(at + code.length)}`;
}

const RANK: Record<string, number> = { fail: 3, warn: 2, pass: 1, skip: 0 };

/** One stage of one node: the worst status over its endpoints and images. */
function cell(r: NodeReport | undefined, id: string): string {
  const stages = r?.stages.filter((st) => st.id === id) ?? [];
  if (stages.length === 0) return `<td class="none">–</td>`;
  const status = stages.reduce((w, st) => ((RANK[st.status] ?? 0) > (RANK[w] ?? 0) ? st.status : w), "skip" as string);
  const findings = r!.findings.filter((f) => f.stage === id);
  const summaries = stages
    .map(
      (st) =>
        `<p>${st.image ? `<b>${esc(st.image)}</b> ` : ""}${st.endpoint ? `<i>${esc(st.endpoint)}</i> ` : ""}${esc(st.summary)}${
          st.durationMs !== null ? ` <span class="ms">${st.durationMs} ms</span>` : ""
        }</p>`,
    )
    .join("");
  const found = findings
    .map(
      (f) =>
        `<div class="finding ${esc(f.severity)}"><p><code>${esc(f.code)}</code> ${esc(f.title)}</p><p>${esc(f.detail)}</p>${
          f.fixes.length ? `<ol>${f.fixes.map((x) => `<li><code>${esc(x)}</code></li>`).join("")}</ol>` : ""
        }</div>`,
    )
    .join("");
  // An info finding (CREDS_NONE on an anonymous pull) does not name a green cell.
  const label = findings.find((f) => f.severity === "error")?.code ?? findings.find((f) => f.severity === "warning")?.code ?? status;
  return `<td class="${esc(status)}"><details><summary>${esc(label)}</summary>${summaries}${found}</details></td>`;
}

function valueList(m: Record<string, string[]>): string {
  return Object.entries(m)
    .map(([v, nodes]) => `<div><code>${esc(v)}</code> <span class="nodes">${esc(nodes.join(", "))}</span></div>`)
    .join("");
}

/** Text and attribute values: the five characters HTML gives meaning to. */
export function esc(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `body{font:14px/1.4 system-ui,sans-serif;margin:1.5em;color:#222}.gridbox{max-width:100%;overflow-x:auto}
table{border-collapse:collapse}th,td{border:1px solid #ccc;padding:3px 6px;vertical-align:top;text-align:left}
td.pass{background:#d9f2d9}td.warn{background:#fff1c2}td.fail{background:#f8c9c4}td.skip{background:#eee;color:#777}
td.none{color:#aaa}details summary{cursor:pointer;white-space:nowrap}details[open]{min-width:22em}
.finding{border-left:3px solid #c33;padding-left:6px;margin:4px 0}.finding.warning{border-color:#d90}
.codes li.error{color:#900}.note{color:#555}code{font-size:12px;word-break:break-all}.nodes{color:#555}.ms{color:#777;font-size:12px}td.client{white-space:nowrap}`;
